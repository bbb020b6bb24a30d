import GRPCCore
import SwiftProtobuf
import TemporalAPI

typealias WorkflowMethods = Temporal_Api_Workflowservice_V1_WorkflowService.Method

/// The WorkflowService RPCs the load generator makes, over one `UnaryConnection`. Paths and types
/// come from the generated method descriptors.
struct WorkflowCalls: Sendable {
    let connection: UnaryConnection

    private func call<Request: Message, Response: Message>(
        _ method: MethodDescriptor, _ request: Request, options: CallOptions
    ) async throws -> Response {
        let bytes: [UInt8] = try request.serializedBytes()
        let response = try await connection.call(path: "/" + method.fullyQualifiedMethod, request: bytes, timeout: options.timeout)
        do {
            return try Response(serializedBytes: response)
        } catch {
            throw RPCError(code: .internalError, message: "the \(method.method) response does not decode: \(error)")
        }
    }

    func startWorkflowExecution(_ request: WorkflowMethods.StartWorkflowExecution.Input, options: CallOptions) async throws -> WorkflowMethods.StartWorkflowExecution.Output {
        try await call(WorkflowMethods.StartWorkflowExecution.descriptor, request, options: options)
    }

    func pollWorkflowTaskQueue(_ request: WorkflowMethods.PollWorkflowTaskQueue.Input, options: CallOptions) async throws -> WorkflowMethods.PollWorkflowTaskQueue.Output {
        try await call(WorkflowMethods.PollWorkflowTaskQueue.descriptor, request, options: options)
    }

    func respondWorkflowTaskCompleted(_ request: WorkflowMethods.RespondWorkflowTaskCompleted.Input, options: CallOptions) async throws -> WorkflowMethods.RespondWorkflowTaskCompleted.Output {
        try await call(WorkflowMethods.RespondWorkflowTaskCompleted.descriptor, request, options: options)
    }

    func pollActivityTaskQueue(_ request: WorkflowMethods.PollActivityTaskQueue.Input, options: CallOptions) async throws -> WorkflowMethods.PollActivityTaskQueue.Output {
        try await call(WorkflowMethods.PollActivityTaskQueue.descriptor, request, options: options)
    }

    func respondActivityTaskCompleted(_ request: WorkflowMethods.RespondActivityTaskCompleted.Input, options: CallOptions) async throws -> WorkflowMethods.RespondActivityTaskCompleted.Output {
        try await call(WorkflowMethods.RespondActivityTaskCompleted.descriptor, request, options: options)
    }

    func respondActivityTaskFailed(_ request: WorkflowMethods.RespondActivityTaskFailed.Input, options: CallOptions) async throws -> WorkflowMethods.RespondActivityTaskFailed.Output {
        try await call(WorkflowMethods.RespondActivityTaskFailed.descriptor, request, options: options)
    }

    func getWorkflowExecutionHistory(_ request: WorkflowMethods.GetWorkflowExecutionHistory.Input, options: CallOptions) async throws -> WorkflowMethods.GetWorkflowExecutionHistory.Output {
        try await call(WorkflowMethods.GetWorkflowExecutionHistory.descriptor, request, options: options)
    }

    func signalWorkflowExecution(_ request: WorkflowMethods.SignalWorkflowExecution.Input, options: CallOptions) async throws -> WorkflowMethods.SignalWorkflowExecution.Output {
        try await call(WorkflowMethods.SignalWorkflowExecution.descriptor, request, options: options)
    }

    func terminateWorkflowExecution(_ request: WorkflowMethods.TerminateWorkflowExecution.Input, options: CallOptions) async throws -> WorkflowMethods.TerminateWorkflowExecution.Output {
        try await call(WorkflowMethods.TerminateWorkflowExecution.descriptor, request, options: options)
    }
}
