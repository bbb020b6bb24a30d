import GRPCCore
import GRPCNIOTransportHTTP2
import TemporalAPI

typealias WorkflowServiceClient = Temporal_Api_Workflowservice_V1_WorkflowService.Client<HTTP2ClientTransport.Posix>

/// A few plaintext HTTP/2 connections to the target. Callers spread their streams over them so no
/// connection carries more than `BenchLimits.maxStreamsPerConnection` concurrent RPCs (servers
/// commonly cap concurrent streams per connection at 100 or a little more).
struct ClientPool: Sendable {
    let grpcClients: [GRPCClient<HTTP2ClientTransport.Posix>]

    init(target: Target, connections: Int) throws {
        precondition(connections >= 1)
        grpcClients = try (0..<connections).map { _ in
            let transport = try HTTP2ClientTransport.Posix(
                target: .dns(host: target.host, port: target.port),
                transportSecurity: .plaintext
            )
            return GRPCClient(transport: transport)
        }
    }

    /// The number of connections needed so that `streams` concurrent RPCs fit.
    static func connections(forStreams streams: Int) -> Int {
        max(1, (streams + BenchLimits.maxStreamsPerConnection - 1) / BenchLimits.maxStreamsPerConnection)
    }

    /// The client for the `index`-th user (round robin over the connections).
    func client(_ index: Int) -> WorkflowServiceClient {
        WorkflowServiceClient(wrapping: grpcClients[index % grpcClients.count])
    }

    /// Runs every connection until `beginGracefulShutdown()`; call inside a task group.
    func runConnections() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for client in grpcClients {
                group.addTask { try await client.runConnections() }
            }
        }
    }

    func beginGracefulShutdown() {
        for client in grpcClients {
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
