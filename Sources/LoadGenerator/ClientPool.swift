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
/// connection is retired (gracefully: in-flight calls finish) before it has sent 200 requests.
final class ClientPool: Sendable {
    private struct Slot {
        var client: HTTP2Client
        var calls = 0
    }

    private let target: Target
    private let maxCallsPerConnection: Int
    private let slots: Mutex<[Slot]>
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
        self.slots = Mutex(slots)
    }

    private static func makeClient(target: Target) throws -> HTTP2Client {
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: target.host, port: target.port),
            transportSecurity: .plaintext
        )
        return GRPCClient(transport: transport)
    }

    /// The number of connections needed so that `streams` concurrent RPCs fit.
    static func connections(forStreams streams: Int) -> Int {
        max(1, (streams + BenchLimits.maxStreamsPerConnection - 1) / BenchLimits.maxStreamsPerConnection)
    }

    /// A client for one RPC by the `index`-th user (round robin over the connections).
    func client(_ index: Int) -> WorkflowServiceClient {
        let (client, retired) = slots.withLock { slots -> (HTTP2Client, HTTP2Client?) in
            let slot = index % slots.count
            var retired: HTTP2Client?
            if slots[slot].calls >= maxCallsPerConnection, let fresh = try? Self.makeClient(target: target) {
                retired = slots[slot].client
                slots[slot] = Slot(client: fresh)
                newClientsContinuation.yield(fresh)
            }
            slots[slot].calls += 1
            return (slots[slot].client, retired)
        }
        retired?.beginGracefulShutdown()
        return WorkflowServiceClient(wrapping: client)
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

    func beginGracefulShutdown() {
        let clients = slots.withLock { slots in
            newClientsContinuation.finish()
            return slots.map(\.client)
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

/// One user's handle on a pool: each `rpc` access picks that user's current connection.
struct PooledClient: Sendable {
    let pool: ClientPool
    let index: Int

    var rpc: WorkflowServiceClient { pool.client(index) }
}

extension ClientPool {
    func user(_ index: Int) -> PooledClient {
        PooledClient(pool: self, index: index)
    }
}
