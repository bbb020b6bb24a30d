import GRPCCore
import History
import Persistence
import TemporalAPI

extension WorkflowHandler {
    func updateWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionResponse> {
        try await longPoll {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            if r.request.input.hasArgs { try Self.checkPayloads(r.request.input.args, "Update input") }
            let key = try await key(ns, r.workflowExecution)
            try await checkChain(key, firstExecutionRunID: r.firstExecutionRunID)
            // The soft timeout of the real server: answer with the stage reached so far before
            // the client's deadline; clients re-issue the call (deduplicated by update id).
            let timeout = CallDeadline.longPoll(request.metadata, expiry: configuration.historyLongPollExpiry)
            let (stage, outcome) = try await engine.updateWorkflow(key, r.request, waitStage: r.waitPolicy.lifecycleStage, timeout: timeout)
            var response = Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionResponse()
            response.updateRef.workflowExecution.workflowID = key.workflowID
            response.updateRef.workflowExecution.runID = key.runID
            response.updateRef.updateID = r.request.meta.updateID
            response.stage = stage
            if let outcome { response.outcome = outcome }
            return response
        }
    }

    func pollWorkflowExecutionUpdate(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateResponse> {
        try await longPoll {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let key = try await key(ns, r.updateRef.workflowExecution)
            let timeout = CallDeadline.longPoll(request.metadata, expiry: configuration.historyLongPollExpiry)
            let (stage, outcome) = try await engine.pollUpdate(key, id: r.updateRef.updateID, waitStage: r.waitPolicy.lifecycleStage, timeout: timeout)
            var response = Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateResponse()
            response.updateRef.workflowExecution.workflowID = key.workflowID
            response.updateRef.workflowExecution.runID = key.runID
            response.updateRef.updateID = r.updateRef.updateID
            response.stage = stage
            if let outcome { response.outcome = outcome }
            return response
        }
    }
}
