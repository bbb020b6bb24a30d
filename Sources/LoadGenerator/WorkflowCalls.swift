import GRPCCore
import SwiftProtobuf
import TemporalAPI

/// The WorkflowService RPCs the load generator makes, over one `UnaryConnection`.
struct WorkflowCalls: Sendable {
    let connection: UnaryConnection

    private static let service = "/temporal.api.workflowservice.v1.WorkflowService/"

    private func call<Request: Message, Response: Message>(
        _ method: String, _ request: Request, options: CallOptions, as: Response.Type = Response.self
    ) async throws -> Response {
        let bytes: [UInt8] = try request.serializedBytes()
        let response = try await connection.call(path: Self.service + method, request: bytes, timeout: options.timeout)
        do {
            return try Response(serializedBytes: response)
        } catch {
            throw RPCError(code: .internalError, message: "the \(method) response does not decode: \(error)")
        }
    }

    func startWorkflowExecution(
        _ request: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse {
        try await call("StartWorkflowExecution", request, options: options)
    }

    func pollWorkflowTaskQueue(
        _ request: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse {
        try await call("PollWorkflowTaskQueue", request, options: options)
    }

    func respondWorkflowTaskCompleted(
        _ request: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse {
        try await call("RespondWorkflowTaskCompleted", request, options: options)
    }

    func pollActivityTaskQueue(
        _ request: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse {
        try await call("PollActivityTaskQueue", request, options: options)
    }

    func respondActivityTaskCompleted(
        _ request: Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse {
        try await call("RespondActivityTaskCompleted", request, options: options)
    }

    func respondActivityTaskFailed(
        _ request: Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedResponse {
        try await call("RespondActivityTaskFailed", request, options: options)
    }

    func getWorkflowExecutionHistory(
        _ request: Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse {
        try await call("GetWorkflowExecutionHistory", request, options: options)
    }

    func signalWorkflowExecution(
        _ request: Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionResponse {
        try await call("SignalWorkflowExecution", request, options: options)
    }

    func terminateWorkflowExecution(
        _ request: Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest, options: CallOptions
    ) async throws -> Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse {
        try await call("TerminateWorkflowExecution", request, options: options)
    }
}
