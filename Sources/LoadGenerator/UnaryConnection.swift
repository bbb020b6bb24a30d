import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// Whether a connection still takes new calls (false after GOAWAY, an error, or the close).
final class ConnectionState: Sendable {
    private let usable = Atomic(true)
    private let closed = Atomic(false)
    var isUsable: Bool { usable.load(ordering: .relaxed) }
    /// The channel has closed (or never opened).
    var isClosed: Bool { closed.load(ordering: .relaxed) }
    func markUnusable() { usable.store(false, ordering: .relaxed) }
    func markClosed() {
        usable.store(false, ordering: .relaxed)
        closed.store(true, ordering: .relaxed)
    }
}

/// One plaintext HTTP/2 connection making unary gRPC calls through `UnaryCallHandler`.
///
/// The load generator's own client, not grpc-swift's: every RPC the generator makes is unary, and
/// a frame-level client spends a fraction of the CPU per call (no stream channel, pipeline, async
/// sequences or per-RPC tasks), which matters because the generator shares the machine with the
/// server it measures. It also sets no limit on the PINGs it answers, so connections to a grpc-go
/// server (which sends a BDP PING for nearly every request) need not be retired.
final class UnaryConnection: Sendable {
    let state = ConnectionState()
    private let channel: EventLoopFuture<any Channel>
    private let nextCallID = Atomic<UInt64>(0)

    init(target: Target, group: any EventLoopGroup) {
        let authority = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        let state = self.state
        channel = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var configuration = NIOHTTP2Handler.ConnectionConfiguration()
                    configuration.initialSettings = [
                        HTTP2Setting(parameter: .enablePush, value: 0),
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
                        HTTP2Setting(parameter: .initialWindowSize, value: BenchLimits.http2WindowBytes),
                        HTTP2Setting(parameter: .maxFrameSize, value: BenchLimits.http2MaxFrameBytes),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: BenchLimits.maxResponseHeaderBytes),
                    ]
                    // A grpc-go server PINGs for bandwidth estimation on almost every request.
                    configuration.controlFrameRateLimit.maximumCount = BenchLimits.maxControlFramesPer30Seconds
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: configuration))
                    try channel.pipeline.syncOperations.addHandler(
                        UnaryCallHandler(
                            authority: authority, windowBytes: BenchLimits.http2WindowBytes,
                            maxResponseBytes: BenchLimits.maxResponseBytes, state: state))
                }
            }
            .connect(host: target.host, port: target.port)
        channel.whenFailure { _ in state.markClosed() }
    }

    /// Calls `path` (`/package.Service/Method`) with one serialized request; returns the
    /// serialized response or throws the call's `RPCError`. Cancelling the task resets the stream.
    func call(path: String, request: [UInt8], timeout: Duration?) async throws -> [UInt8] {
        let channel: any Channel
        do {
            channel = try await self.channel.get()
        } catch {
            throw RPCError(code: .unavailable, message: "could not connect: \(error)")
        }
        let callID = nextCallID.add(1, ordering: .relaxed).newValue
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        return try await withTaskCancellationHandler {
            // A closed channel fails the write without reaching the handler: fail the call too.
            channel.writeAndFlush(
                UnaryCallCommand.start(UnaryCallRequest(callID: callID, path: path, message: request, timeout: timeout, promise: promise))
            ).whenFailure { error in
                promise.fail(RPCError(code: .unavailable, message: "the connection is closed: \(error)"))
            }
            return try await promise.futureResult.get()
        } onCancel: {
            // Completing a promise twice is a no-op, so this fails the call even if the cancel
            // reaches the event loop before the start does (the stream then runs unobserved
            // until it ends or the connection closes).
            promise.fail(RPCError(code: .cancelled, message: "the call was cancelled"))
            channel.writeAndFlush(UnaryCallCommand.cancel(callID: callID), promise: nil)
        }
    }

    /// Closes the connection; calls still in flight fail with UNAVAILABLE.
    func close() async {
        guard let channel = try? await channel.get() else { return }
        state.markUnusable()
        try? await channel.close()
    }
}
