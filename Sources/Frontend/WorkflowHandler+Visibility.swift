import Foundation
import GRPCCore
import History
import Persistence
import SwiftProtobuf
import TemporalAPI

extension WorkflowHandler {
    func listWorkflowExecutions(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            let query = try parseQuery(r.query)
            let pageSize = r.pageSize > 0 ? min(Int(r.pageSize), FrontendLimits.maxListPageSize) : FrontendLimits.maxListPageSize
            let page = try await visibility.listVisibilityRecords(
                namespaceID: ns.id, query: query, pageSize: pageSize, pageToken: r.nextPageToken.isEmpty ? nil : Array(r.nextPageToken))
            var response = Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsResponse()
            response.executions = page.items.map(WorkflowDescription.info)
            if let token = page.nextPageToken { response.nextPageToken = Data(token) }
            return response
        }
    }

    func countWorkflowExecutions(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            var response = Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsResponse()
            response.count = try await visibility.countVisibilityRecords(namespaceID: ns.id, query: try parseQuery(r.query))
            return response
        }
    }

    func getSearchAttributes(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_GetSearchAttributesRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_GetSearchAttributesResponse> {
        var response = Temporal_Api_Workflowservice_V1_GetSearchAttributesResponse()
        response.keys = SearchAttributes.system
        if let ns = try? await namespaces.byName("default") {
            for (k, v) in ns.customSearchAttributes { response.keys[k] = v }
        }
        return ServerResponse(message: response)
    }

    func parseQuery(_ text: String) throws -> VisibilityQuery {
        do {
            return try VisibilityQuery.parse(text)
        } catch let error as PersistenceError {
            if case .invalidArgument(let m) = error { throw HistoryError.invalidArgument("invalid query: \(m)") }
            throw error
        }
    }
}

/// The system search attributes every namespace has without registration.
enum SearchAttributes {
    static let system: [String: Temporal_Api_Enums_V1_IndexedValueType] = [
        "WorkflowId": .keyword, "WorkflowType": .keyword, "RunId": .keyword, "ExecutionStatus": .keyword, "StartTime": .datetime,
        "CloseTime": .datetime, "ExecutionTime": .datetime, "ExecutionDuration": .int, "HistoryLength": .int, "HistorySizeBytes": .int,
        "TaskQueue": .keyword, "StateTransitionCount": .int, "TemporalChangeVersion": .keywordList, "BinaryChecksums": .keywordList,
        "BuildIds": .keywordList, "BatcherUser": .keyword, "TemporalScheduledStartTime": .datetime, "TemporalScheduledById": .keyword,
        "TemporalSchedulePaused": .bool, "TemporalNamespaceDivision": .keyword, "ParentWorkflowId": .keyword, "ParentRunId": .keyword,
        "RootWorkflowId": .keyword, "RootRunId": .keyword, "TemporalWorkerDeploymentVersion": .keyword, "TemporalWorkflowVersioningBehavior": .keyword,
        "TemporalWorkerDeployment": .keyword, "TemporalPauseInfo": .keywordList, "TemporalReportedProblems": .keywordList,
    ]
}

/// DescribeWorkflowExecution and list entries, from mutable state or visibility records.
enum WorkflowDescription {
    static func timestamp(_ nanos: Int64) -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(seconds: nanos / 1_000_000_000, nanos: Int32(nanos % 1_000_000_000))
    }

    static func info(_ record: VisibilityRecord) -> Temporal_Api_Workflow_V1_WorkflowExecutionInfo {
        var info = Temporal_Api_Workflow_V1_WorkflowExecutionInfo()
        info.execution.workflowID = record.key.workflowID
        info.execution.runID = record.key.runID
        info.type.name = record.workflowType
        info.startTime = timestamp(record.startTime)
        info.executionTime = timestamp(record.executionTime == 0 ? record.startTime : record.executionTime)
        if record.closeTime > 0 {
            info.closeTime = timestamp(record.closeTime)
            info.executionDuration = Google_Protobuf_Duration(
                seconds: (record.closeTime - record.startTime) / 1_000_000_000, nanos: Int32((record.closeTime - record.startTime) % 1_000_000_000))
        }
        info.status = Temporal_Api_Enums_V1_WorkflowExecutionStatus(rawValue: Int(record.status.rawValue)) ?? .unspecified
        info.historyLength = record.historyLength
        info.taskQueue = record.taskQueue
        if let memo = try? Temporal_Api_Common_V1_Memo(serializedBytes: record.memo), !memo.fields.isEmpty { info.memo = memo }
        if let sa = try? Temporal_Api_Common_V1_SearchAttributes(serializedBytes: record.data), !sa.indexedFields.isEmpty { info.searchAttributes = sa }
        return info
    }

    static func describe(_ ms: MutableState) -> Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionResponse {
        var response = Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionResponse()
        response.executionConfig.taskQueue.name = ms.taskQueue
        response.executionConfig.taskQueue.kind = .normal
        response.executionConfig.workflowExecutionTimeout = Google_Protobuf_Duration(seconds: ms.executionTimeoutNanos / 1_000_000_000)
        response.executionConfig.workflowRunTimeout = Google_Protobuf_Duration(seconds: ms.runTimeoutNanos / 1_000_000_000)
        response.executionConfig.defaultWorkflowTaskTimeout = Google_Protobuf_Duration(seconds: ms.workflowTaskTimeoutNanos / 1_000_000_000)
        var info = Temporal_Api_Workflow_V1_WorkflowExecutionInfo()
        info.execution.workflowID = ms.workflowID
        info.execution.runID = ms.runID
        info.type.name = ms.workflowType
        info.startTime = timestamp(ms.startTime)
        info.executionTime = timestamp(ms.startTime)
        if ms.closeTime > 0 { info.closeTime = timestamp(ms.closeTime) }
        info.status = Temporal_Api_Enums_V1_WorkflowExecutionStatus(rawValue: Int(ms.status)) ?? .unspecified
        info.historyLength = ms.nextEventID - 1
        info.historySizeBytes = ms.historySizeBytes
        info.taskQueue = ms.taskQueue
        info.firstRunID = ms.firstExecutionRunID
        if let parent = ms.parent {
            info.parentNamespaceID = parent.namespaceID
            info.parentExecution.workflowID = parent.workflowID
            info.parentExecution.runID = parent.runID
        }
        if let memo = try? Temporal_Api_Common_V1_Memo(serializedBytes: ms.memo), !memo.fields.isEmpty { info.memo = memo }
        if let sa = try? Temporal_Api_Common_V1_SearchAttributes(serializedBytes: ms.searchAttributes), !sa.indexedFields.isEmpty {
            info.searchAttributes = sa
        }
        response.workflowExecutionInfo = info
        response.pendingActivities = ms.activities.values.sorted(by: { $0.scheduledEventID < $1.scheduledEventID }).map { a in
            var p = Temporal_Api_Workflow_V1_PendingActivityInfo()
            p.activityID = a.activityID
            p.activityType.name = a.activityType
            p.state = a.cancelRequested ? .cancelRequested : (a.isStarted ? .started : .scheduled)
            p.attempt = a.attempt
            p.scheduledTime = timestamp(a.currentAttemptScheduledTime)
            if a.isStarted { p.lastStartedTime = timestamp(a.startedTime) }
            if a.lastHeartbeatTime > 0 { p.lastHeartbeatTime = timestamp(a.lastHeartbeatTime) }
            p.lastWorkerIdentity = a.startedIdentity
            if !a.lastFailure.isEmpty, let f = try? Temporal_Api_Failure_V1_Failure(serializedBytes: a.lastFailure) { p.lastFailure = f }
            if !a.heartbeatDetails.isEmpty, let d = try? Temporal_Api_Common_V1_Payloads(serializedBytes: a.heartbeatDetails) { p.heartbeatDetails = d }
            return p
        }
        if let wft = ms.workflowTask {
            var p = Temporal_Api_Workflow_V1_PendingWorkflowTaskInfo()
            p.state = wft.isStarted ? .started : .scheduled
            p.scheduledTime = timestamp(wft.scheduledTime)
            if wft.isStarted { p.startedTime = timestamp(wft.startedTime) }
            p.attempt = wft.attempt
            response.pendingWorkflowTask = p
        }
        return response
    }
}
