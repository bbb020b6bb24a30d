import Foundation
import GRPCCore
import History
import Persistence
import SwiftProtobuf
import TemporalAPI

extension WorkflowHandler {
    /// The start half of StartWorkflowExecution and SignalWithStartWorkflowExecution, validated.
    func startParameters(_ ns: Namespace, _ r: some StartRequestFields) throws -> StartParameters {
        try Self.checkID(r.workflowID, "WorkflowId")
        try Self.checkID(r.workflowType.name, "WorkflowType")
        try Self.checkID(r.taskQueue.name, "TaskQueue")
        var p = StartParameters(
            namespaceID: ns.id, namespaceName: ns.name, workflowID: r.workflowID, workflowType: r.workflowType.name, taskQueue: r.taskQueue.name,
            requestID: r.requestID.isEmpty ? UUID().uuidString.lowercased() : r.requestID)
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
        return p
    }

    func startWorkflowExecution(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let (runID, started) = try await engine.startWorkflow(try startParameters(ns, r))
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
            if r.hasSignalInput { try Self.checkPayloads(r.signalInput, "SignalInput") }
            var p = try startParameters(ns, r)
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
        try await longPoll {
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
        try await longPoll {
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

/// The fields StartWorkflowExecution and SignalWithStartWorkflowExecution requests share.
protocol StartRequestFields {
    var workflowID: String { get }
    var workflowType: Temporal_Api_Common_V1_WorkflowType { get }
    var taskQueue: Temporal_Api_Taskqueue_V1_TaskQueue { get }
    var requestID: String { get }
    var identity: String { get }
    var input: Temporal_Api_Common_V1_Payloads { get }
    var hasInput: Bool { get }
    var header: Temporal_Api_Common_V1_Header { get }
    var hasHeader: Bool { get }
    var workflowTaskTimeout: Google_Protobuf_Duration { get }
    var hasWorkflowTaskTimeout: Bool { get }
    var workflowRunTimeout: Google_Protobuf_Duration { get }
    var hasWorkflowRunTimeout: Bool { get }
    var workflowExecutionTimeout: Google_Protobuf_Duration { get }
    var hasWorkflowExecutionTimeout: Bool { get }
    var workflowIDReusePolicy: Temporal_Api_Enums_V1_WorkflowIdReusePolicy { get }
    var workflowIDConflictPolicy: Temporal_Api_Enums_V1_WorkflowIdConflictPolicy { get }
    var retryPolicy: Temporal_Api_Common_V1_RetryPolicy { get }
    var hasRetryPolicy: Bool { get }
    var memo: Temporal_Api_Common_V1_Memo { get }
    var hasMemo: Bool { get }
    var searchAttributes: Temporal_Api_Common_V1_SearchAttributes { get }
    var hasSearchAttributes: Bool { get }
}

extension Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest: StartRequestFields {}
extension Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest: StartRequestFields {}
