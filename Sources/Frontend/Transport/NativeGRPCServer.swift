import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// The frontend's gRPC server: plaintext HTTP/2 (prior knowledge, as every Temporal SDK and the
/// CLI connect), unary calls only, served by `UnaryServerHandler` straight from the HTTP/2
/// frames. grpc-swift's server runs every call through a per-stream channel and pipeline, async
/// sequences and several tasks; this spends a fraction of the CPU per call.
final class NativeGRPCServer: Sendable {
    struct Limits: Sendable {
        /// Largest request message accepted, after decompression (RESOURCE_EXHAUSTED beyond).
        var maxRequestBytes = 64 << 20
        /// Request bytes one connection may hold for calls whose request has not ended, all its
        /// streams together (flow-control credit is returned as data arrives, so this, not the
        /// window, bounds the buffering). The call that would cross it gets RESOURCE_EXHAUSTED.
        var maxBufferedRequestBytesPerConnection = 128 << 20
        /// HTTP/2 flow-control window per connection and per stream, and the largest frame.
        var windowBytes = 8 << 20
        var maxFrameBytes = 1 << 20
        /// Concurrent streams one connection may open (SETTINGS_MAX_CONCURRENT_STREAMS); an SDK
        /// worker holds one long poll per poller.
        var maxConcurrentStreams = 1_000
        /// PING and SETTINGS frames accepted per connection in 30 s (swift-nio-http2's guard;
        /// its default of 200 is below what a Go client's BDP pings reach under load): 1,000 a
        /// second. The guard allocates one 8-byte timestamp per allowed frame up front, so this
        /// costs 240 KB per connection.
        var maxControlFramesPer30Seconds = 30_000
    }

    private struct State {
        var connections: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }

    private let routes: [String: UnaryRoute]
    private let limits: Limits
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let listener = Mutex<(any Channel)?>(nil)

    init(routes: [UnaryRoute], limits: Limits = Limits(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.routes = Dictionary(routes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        self.group = group
    }

    /// Binds `host:port` (port 0 picks one); returns the bound address as `host:port`.
    func bind(host: String, port: Int) async throws -> String {
        let routes = self.routes
        let limits = self.limits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    var configuration = NIOHTTP2Handler.ConnectionConfiguration()
                    configuration.initialSettings = [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maxConcurrentStreams),
                        HTTP2Setting(parameter: .initialWindowSize, value: limits.windowBytes),
                        HTTP2Setting(parameter: .maxFrameSize, value: limits.maxFrameBytes),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: 64 << 10),
                    ]
                    configuration.controlFrameRateLimit.maximumCount = limits.maxControlFramesPer30Seconds
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server, connectionConfiguration: configuration))
                    try channel.pipeline.syncOperations.addHandler(
                        UnaryServerHandler(
                            routes: routes,
                            limits: .init(
                                maxRequestBytes: limits.maxRequestBytes, windowBytes: limits.windowBytes,
                                maxBufferedRequestBytes: limits.maxBufferedRequestBytesPerConnection)))
                    self?.track(channel)
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        listener.withLock { $0 = channel }
        let address = channel.localAddress
        return "\(address?.ipAddress ?? host):\(address?.port ?? port)"
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let drainNow = state.withLock { state in
            state.connections[id] = channel
            return state.draining
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
        if drainNow { channel.triggerUserOutboundEvent(DrainConnection(), promise: nil) }
    }

    /// Returns once the listener has closed and every connection has closed.
    func serve() async throws {
        guard let channel = listener.withLock({ $0 }) else { return }
        try await channel.closeFuture.get()
        // Connections accepted before the listener closed are tracked (and told to drain) by
        // then; each closes once its calls have answered.
        while let open = state.withLock({ $0.connections.values.first }) {
            try? await open.closeFuture.get()
            _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(open)) }
        }
    }

    /// Stops accepting connections; each connection sends GOAWAY, finishes its calls and closes.
    func beginGracefulShutdown() {
        let connections = state.withLock { state in
            state.draining = true
            return Array(state.connections.values)
        }
        listener.withLock { $0 }?.close(promise: nil)
        for connection in connections {
            connection.triggerUserOutboundEvent(DrainConnection(), promise: nil)
        }
    }
}
