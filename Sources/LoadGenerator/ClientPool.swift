import GRPCCore
import NIOPosix
import Synchronization

/// Plaintext HTTP/2 connections to the target, spread so that no connection carries more than
/// `BenchLimits.maxStreamsPerConnection` concurrent RPCs. A connection that stops taking calls
/// (the server sent GOAWAY, it failed, it closed) is replaced on its next use; the one it
/// replaces finishes or fails the calls it has and is closed with the pool.
final class ClientPool: Sendable {
    private struct State {
        var slots: [UnaryConnection]
        /// Replaced connections that may still be open, closed by `close()`.
        var retired: [UnaryConnection] = []
        var closed = false
    }

    private let target: Target
    private let state: Mutex<State>

    init(target: Target, connections: Int) {
        precondition(connections >= 1)
        self.target = target
        let group = MultiThreadedEventLoopGroup.singleton
        state = Mutex(State(slots: (0..<connections).map { _ in UnaryConnection(target: target, group: group) }))
    }

    /// The number of connections needed so that `streams` concurrent RPCs fit.
    static func connections(forStreams streams: Int) -> Int {
        max(1, (streams + BenchLimits.maxStreamsPerConnection - 1) / BenchLimits.maxStreamsPerConnection)
    }

    /// Runs one RPC of the `index`-th user (round robin over the connections) on its connection.
    func call<Result: Sendable>(_ index: Int, _ body: (WorkflowCalls) async throws -> Result) async throws -> Result {
        try await body(WorkflowCalls(connection: connection(index)))
    }

    private func connection(_ index: Int) throws -> UnaryConnection {
        try state.withLock { state in
            guard !state.closed else { throw RPCError(code: .unavailable, message: "the load generator is stopping") }
            let slot = index % state.slots.count
            if !state.slots[slot].state.isUsable {
                state.retired.removeAll { $0.state.isClosed }
                state.retired.append(state.slots[slot])
                state.slots[slot] = UnaryConnection(target: target, group: MultiThreadedEventLoopGroup.singleton)
            }
            return state.slots[slot]
        }
    }

    /// Closes every connection; calls still in flight fail with UNAVAILABLE.
    func close() async {
        let all = state.withLock { state in
            state.closed = true
            return state.slots + state.retired
        }
        for connection in all { await connection.close() }
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

    func call<Result: Sendable>(_ body: (WorkflowCalls) async throws -> Result) async throws -> Result {
        try await pool.call(index, body)
    }
}

extension ClientPool {
    func user(_ index: Int) -> PooledClient {
        PooledClient(pool: self, index: index)
    }
}
