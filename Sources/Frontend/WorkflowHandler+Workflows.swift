import Foundation
import GRPCCore
import History
import Persistence
import SwiftProtobuf
import TemporalAPI

extension WorkflowHandler {
    func startParameters(
        _ ns: Namespace, workflowID: String, workflowType: Temporal_Api_Common_V1_WorkflowType, taskQueue: Temporal_Api_Taskqueue_V1_TaskQueue,
        requestID: String
    ) throws -> StartParameters {
        try Self.checkID(workflowID, "WorkflowId")
        try Self.checkID(workflowType.name, "WorkflowType")
        try Self.checkID(taskQueue.name, "TaskQueue")
        return StartParameters(
            namespaceID: ns.id, namespaceName: ns.name, workflowID: workflowID, workflowType: workflowType.name, taskQueue: taskQueue.name,
            requestID: requestID.isEmpty ? UUID().uuidString.lowercased() : requestID)
    }

    func startWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            var p = try startParameters(ns, workflowID: r.workflowID, workflowType: r.workflowType, taskQueue: r.taskQueue, requestID: r.requestID)
            if r.hasInput { try Self.checkPayloads(r.input, "Input"); p.input = r.input }
            if r.hasHeader { p.header = r.header }
            if r.hasWorkflowTaskTimeout { p.workflowTaskTimeoutNanos = nanos(r.workflowTaskTimeout) }
            if r.hasWorkflowRunTimeout { p.runTimeoutNanos = nanos(r.workflowRunTimeout) }
            if r.hasWorkflowExecutionTimeout { p.executionTimeoutNanos = nanos(r.workflowExecutionTimeout) }
            p.identity = r.identity
            p.reusePolicy = r.workflowIDReusePolicy
            p.conflictPolicy = r.workflowIDConflictPolicy
            if r.hasRetryPolicy { p.retryPolicy = r.retryPolicy }
            if r.hasMemo { p.memo = r.memo }
            if r.hasSearchAttributes { p.searchAttributes = r.searchAttributes }
            let (runID, started) = try await engine.startWorkflow(p)
            var response = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse()
            response.runID = runID
            response.started = started
            response.status = .running
            return response
        }
    }

    func signalWithStartWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.signalName, "SignalName")
            var p = try startParameters(ns, workflowID: r.workflowID, workflowType: r.workflowType, taskQueue: r.taskQueue, requestID: r.requestID)
            if r.hasInput { try Self.checkPayloads(r.input, "Input"); p.input = r.input }
            if r.hasSignalInput { try Self.checkPayloads(r.signalInput, "SignalInput") }
            if r.hasHeader { p.header = r.header }
            if r.hasWorkflowTaskTimeout { p.workflowTaskTimeoutNanos = nanos(r.workflowTaskTimeout) }
            if r.hasWorkflowRunTimeout { p.runTimeoutNanos = nanos(r.workflowRunTimeout) }
            if r.hasWorkflowExecutionTimeout { p.executionTimeoutNanos = nanos(r.workflowExecutionTimeout) }
            p.identity = r.identity
            p.reusePolicy = r.workflowIDReusePolicy
            p.conflictPolicy = r.workflowIDConflictPolicy
            if r.hasRetryPolicy { p.retryPolicy = r.retryPolicy }
            if r.hasMemo { p.memo = r.memo }
            if r.hasSearchAttributes { p.searchAttributes = r.searchAttributes }
            p.signal = (r.signalName, r.hasSignalInput ? r.signalInput : nil, r.hasHeader ? r.header : nil)
            let (runID, started) = try await engine.startWorkflow(p)
            var response = Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionResponse()
            response.runID = runID
            response.started = started
            return response
        }
    }

    func signalWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.signalName, "SignalName")
            if r.hasInput { try Self.checkPayloads(r.input, "Input") }
            let key = try await key(ns, r.workflowExecution)
            try await engine.signal(
                key, name: r.signalName, input: r.hasInput ? r.input : nil, header: r.hasHeader ? r.header : nil, identity: r.identity,
                requestID: r.requestID)
            return Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionResponse()
        }
    }

    func requestCancelWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let key = try await key(ns, r.workflowExecution)
            try await checkChain(key, firstExecutionRunID: r.firstExecutionRunID)
            try await engine.requestCancel(key, reason: r.reason, identity: r.identity, requestID: r.requestID)
            return Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionResponse()
        }
    }

    func terminateWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let key = try await key(ns, r.workflowExecution)
            try await checkChain(key, firstExecutionRunID: r.firstExecutionRunID)
            try await engine.terminate(key, reason: r.reason, details: r.hasDetails ? r.details : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse()
        }
    }

    /// `first_execution_run_id` must name the chain the resolved run belongs to.
    func checkChain(_ key: WorkflowKey, firstExecutionRunID: String) async throws {
        guard !firstExecutionRunID.isEmpty else { return }
        let ms = try await engine.describe(key)
        guard ms.firstExecutionRunID == firstExecutionRunID else {
            throw HistoryError.notFound("workflow execution not found: the current run does not belong to first execution run id \(firstExecutionRunID)")
        }
    }

    func getWorkflowExecutionHistory(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let key = try await key(ns, r.execution)
            return try await engine.history(
                HistoryRequest(
                    key: key, pageToken: Array(r.nextPageToken), waitNewEvent: r.waitNewEvent,
                    closeEventOnly: r.historyEventFilterType == .closeEvent, maximumPageSize: Int(r.maximumPageSize),
                    timeout: CallDeadline.longPoll(request.metadata, expiry: configuration.historyLongPollExpiry)))
        }
    }

    func describeWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let key = try await key(ns, r.execution)
            let ms = try await engine.describe(key)
            return WorkflowDescription.describe(ms)
        }
    }

    func queryWorkflow(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_QueryWorkflowRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_QueryWorkflowResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.query.queryType, "QueryType")
            let key = try await key(ns, r.execution)
            let timeout = CallDeadline.longPoll(request.metadata, expiry: .seconds(30))
            return try await engine.query(key, r.query, rejectCondition: r.queryRejectCondition, timeout: timeout)
        }
    }

    func respondQueryTaskCompleted(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedResponse> {
        try await call {
            let token = try TaskToken.decode(Array(request.message.taskToken))
            try engine.respondQueryTask(token, request.message)
            return Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedResponse()
        }
    }
}

func nanos(_ d: Google_Protobuf_Duration) -> Int64 {
    let (p, o) = d.seconds.multipliedReportingOverflow(by: 1_000_000_000)
    return o || d.seconds < 0 ? (d.seconds < 0 ? 0 : Int64.max) : p + Int64(d.nanos)
}
