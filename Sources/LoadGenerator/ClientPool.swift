import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import TemporalAPI

typealias WorkflowServiceClient = Temporal_Api_Workflowservice_V1_WorkflowService.Client<HTTP2ClientTransport.Posix>
typealias HTTP2Client = GRPCClient<HTTP2ClientTransport.Posix>

/// Plaintext HTTP/2 connections to the target, spread so that no connection carries more than
/// `BenchLimits.maxStreamsPerConnection` concurrent RPCs, and replaced after
/// `BenchLimits.maxRPCsPerConnection` RPCs.
///
/// Why replace them: grpc-go servers (the real Temporal server) send a BDP-estimation PING for
/// nearly every request they receive, and swift-nio-http2, under grpc-swift's client transport,
/// closes a connection (GOAWAY ENHANCE_YOUR_CALM) after 200 PINGs in 30 s, a limit the transport
/// does not let us raise. A connection that stops sending requests gets no more PINGs, so each
/// connection is retired before it has sent 200 requests.
///
/// A retired connection is shut down only once every call that was handed it has returned. Shutting
/// it down at once raced with the call handed out just before: its HTTP/2 stream might not be
/// open yet, the transport then saw no open streams and closed the connection straight away, and
/// that call failed with UNAVAILABLE "Stream unexpectedly closed".
final class ClientPool: Sendable {
    private struct Slot {
        var client: HTTP2Client
        var calls = 0
    }

    private struct State {
        var slots: [Slot]
        /// Calls running per connection (every connection handed out, current or retired).
        var inFlight: [ObjectIdentifier: Int] = [:]
        /// Retired connections that still have calls running; shut down when the last returns.
        var draining: [ObjectIdentifier: HTTP2Client] = [:]
    }

    private let target: Target
    private let maxCallsPerConnection: Int
    private let state: Mutex<State>
    private let newClients: AsyncStream<HTTP2Client>
    private let newClientsContinuation: AsyncStream<HTTP2Client>.Continuation

    init(target: Target, connections: Int, maxCallsPerConnection: Int = BenchLimits.maxRPCsPerConnection) throws {
        precondition(connections >= 1 && maxCallsPerConnection >= 1)
        self.target = target
        self.maxCallsPerConnection = maxCallsPerConnection
        (newClients, newClientsContinuation) = AsyncStream.makeStream(of: HTTP2Client.self)
        var slots: [Slot] = []
        for _ in 0..<connections {
            let client = try Self.makeClient(target: target)
            newClientsContinuation.yield(client)
            slots.append(Slot(client: client))
        }
        self.state = Mutex(State(slots: slots))
    }

    private static func makeClient(target: Target) throws -> HTTP2Client {
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: target.host, port: target.port),
            transportSecurity: .plaintext,
            config: .defaults { config in
                // Large windows and frames, as the SDKs' HTTP/2 stacks use: a big history page
                // is not throttled by flow control, and fewer WINDOW_UPDATEs are sent.
                config.http2.targetWindowSize = BenchLimits.http2WindowBytes
                config.http2.maxFrameSize = BenchLimits.http2MaxFrameBytes
            }
        )
        return GRPCClient(transport: transport)
    }

    /// The number of connections needed so that `streams` concurrent RPCs fit.
    static func connections(forStreams streams: Int) -> Int {
        max(1, (streams + BenchLimits.maxStreamsPerConnection - 1) / BenchLimits.maxStreamsPerConnection)
    }

    /// Runs one RPC of the `index`-th user (round robin over the connections) on its current
    /// connection, which stays open at least until `body` returns.
    func call<Result: Sendable>(
        _ index: Int, _ body: (WorkflowServiceClient) async throws -> Result
    ) async throws -> Result {
        let (client, retired) = acquire(index)
        retired?.beginGracefulShutdown()
        defer { release(client)?.beginGracefulShutdown() }
        return try await body(WorkflowServiceClient(wrapping: client))
    }

    /// The user's connection, counted as in use; and a connection to shut down now, if this
    /// call retired one that had no calls running.
    private func acquire(_ index: Int) -> (HTTP2Client, HTTP2Client?) {
        state.withLock { state -> (HTTP2Client, HTTP2Client?) in
            let slot = index % state.slots.count
            var retired: HTTP2Client?
            if state.slots[slot].calls >= maxCallsPerConnection, let fresh = try? Self.makeClient(target: target) {
                let old = state.slots[slot].client
                if state.inFlight[ObjectIdentifier(old), default: 0] > 0 {
                    state.draining[ObjectIdentifier(old)] = old
                } else {
                    retired = old
                }
                state.slots[slot] = Slot(client: fresh)
                newClientsContinuation.yield(fresh)
            }
            state.slots[slot].calls += 1
            let client = state.slots[slot].client
            state.inFlight[ObjectIdentifier(client), default: 0] += 1
            return (client, retired)
        }
    }

    /// Ends one call on `client`; returns it if it was retired and this was its last call.
    private func release(_ client: HTTP2Client) -> HTTP2Client? {
        state.withLock { state -> HTTP2Client? in
            let id = ObjectIdentifier(client)
            let left = state.inFlight[id, default: 1] - 1
            if left > 0 {
                state.inFlight[id] = left
                return nil
            }
            state.inFlight[id] = nil
            return state.draining.removeValue(forKey: id)
        }
    }

    /// Runs every connection, including replacements, until `beginGracefulShutdown()` and until
    /// their in-flight calls end. Call it in a task of its own.
    func runConnections() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for await client in newClients {
                group.addTask { try await client.runConnections() }
            }
        }
    }

    /// Shuts the current connections down (in-flight calls finish); retired ones still draining
    /// shut down when their last call returns.
    func beginGracefulShutdown() {
        let clients = state.withLock { state in
            newClientsContinuation.finish()
            return state.slots.map(\.client)
        }
        for client in clients {
            client.beginGracefulShutdown()
        }
    }
}

extension CallOptions {
    static func timeout(_ timeout: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }
}

extension Error {
    /// True for the errors a cancelled task sees from a gRPC call.
    var isCancellation: Bool {
        if self is CancellationError { return true }
        if let rpcError = self as? RPCError, rpcError.code == .cancelled { return true }
        return false
    }
}

/// One user's handle on a pool: each call runs on that user's current connection.
struct PooledClient: Sendable {
    let pool: ClientPool
    let index: Int

    func call<Result: Sendable>(_ body: (WorkflowServiceClient) async throws -> Result) async throws -> Result {
        try await pool.call(index, body)
    }
}

extension ClientPool {
    func user(_ index: Int) -> PooledClient {
        PooledClient(pool: self, index: index)
    }
}
