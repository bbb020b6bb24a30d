import GRPCCore
import TemporalAPI

/// grpc.health.v1.Health: SERVING for the server as a whole and for the two Temporal services.
struct HealthHandler: Grpc_Health_V1_Health.SimpleServiceProtocol {
    static let services: Set<String> = [
        "", "temporal.api.workflowservice.v1.WorkflowService", "temporal.api.operatorservice.v1.OperatorService",
    ]

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard HealthHandler.services.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = .serving
        return response
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        try await response.write(try await check(request: request, context: context))
        // The status never changes while the server runs: hold the stream until the client leaves.
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}

extension HealthHandler {
    /// Check, for `NativeGRPCServer` (which serves unary calls only: Watch, a server stream, is
    /// answered UNIMPLEMENTED there; the grpc-swift transport serves it).
    func unaryRoutes() -> [UnaryRoute] {
        [UnaryRoute(Grpc_Health_V1_Health.Method.Check.descriptor) { request, context in
            ServerResponse(message: try await self.check(request: request.message, context: context))
        }]
    }
}
