import Foundation
import GRPCCore
import History
import Matching
import Persistence
import SwiftProtobuf
import TemporalAPI

extension WorkflowHandler {
    func pollWorkflowTaskQueue(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse> {
        try await longPoll {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.taskQueue.name, "TaskQueue")
            return try await engine.pollWorkflowTask(
                namespaceID: ns.id, taskQueue: r.taskQueue.name, identity: r.identity,
                timeout: CallDeadline.longPoll(request.metadata, expiry: configuration.longPollExpiry))
        }
    }

    func respondWorkflowTaskCompleted(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse> {
        try await call {
            let token = try workflowToken(request.message.taskToken)
            return try await engine.completeWorkflowTask(token, request.message)
        }
    }

    func respondWorkflowTaskFailed(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedResponse> {
        try await call {
            let token = try workflowToken(request.message.taskToken)
            try await engine.failWorkflowTask(token, request.message)
            return Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedResponse()
        }
    }

    func workflowToken(_ data: Data) throws -> TaskToken {
        let token = try TaskToken.decode(Array(data))
        guard token.kind == .workflowTask else { throw HistoryError.invalidArgument("the task token is not a workflow task's") }
        return token
    }

    func pollActivityTaskQueue(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse> {
        try await longPoll {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.taskQueue.name, "TaskQueue")
            return try await engine.pollActivityTask(
                namespaceID: ns.id, namespaceName: ns.name, taskQueue: r.taskQueue.name, identity: r.identity,
                timeout: CallDeadline.longPoll(request.metadata, expiry: configuration.longPollExpiry))
        }
    }

    func activityToken(_ data: Data) throws -> TaskToken {
        let token = try TaskToken.decode(Array(data))
        guard token.kind == .activityTask else { throw HistoryError.invalidArgument("the task token is not an activity task's") }
        return token
    }

    func activityToken(namespace: String, workflowID: String, runID: String, activityID: String) async throws -> TaskToken {
        let ns = try await namespaces.byName(namespace)
        try Self.checkID(workflowID, "WorkflowId")
        try Self.checkID(activityID, "ActivityId")
        return try await engine.activityToken(namespaceID: ns.id, workflowID: workflowID, runID: runID, activityID: activityID)
    }

    func respondActivityTaskCompleted(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse> {
        try await call {
            let r = request.message
            if r.hasResult { try Self.checkPayloads(r.result, "Result") }
            try await engine.completeActivity(try activityToken(r.taskToken), result: r.hasResult ? r.result : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse()
        }
    }

    func respondActivityTaskCompletedById(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedByIdRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedByIdResponse> {
        try await call {
            let r = request.message
            if r.hasResult { try Self.checkPayloads(r.result, "Result") }
            let token = try await activityToken(namespace: r.namespace, workflowID: r.workflowID, runID: r.runID, activityID: r.activityID)
            try await engine.completeActivity(token, result: r.hasResult ? r.result : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedByIdResponse()
        }
    }

    func respondActivityTaskFailed(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedResponse> {
        try await call {
            let r = request.message
            try await engine.failActivity(
                try activityToken(r.taskToken), failure: r.failure, lastHeartbeatDetails: r.hasLastHeartbeatDetails ? r.lastHeartbeatDetails : nil,
                identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedResponse()
        }
    }

    func respondActivityTaskFailedById(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedByIdRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedByIdResponse> {
        try await call {
            let r = request.message
            let token = try await activityToken(namespace: r.namespace, workflowID: r.workflowID, runID: r.runID, activityID: r.activityID)
            try await engine.failActivity(
                token, failure: r.failure, lastHeartbeatDetails: r.hasLastHeartbeatDetails ? r.lastHeartbeatDetails : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedByIdResponse()
        }
    }

    func respondActivityTaskCanceled(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledResponse> {
        try await call {
            let r = request.message
            try await engine.cancelActivity(try activityToken(r.taskToken), details: r.hasDetails ? r.details : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledResponse()
        }
    }

    func respondActivityTaskCanceledById(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledByIdRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledByIdResponse> {
        try await call {
            let r = request.message
            let token = try await activityToken(namespace: r.namespace, workflowID: r.workflowID, runID: r.runID, activityID: r.activityID)
            try await engine.cancelActivity(token, details: r.hasDetails ? r.details : nil, identity: r.identity)
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledByIdResponse()
        }
    }

    func recordActivityTaskHeartbeat(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse> {
        try await call {
            let r = request.message
            if r.hasDetails { try Self.checkPayloads(r.details, "Details") }
            var response = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse()
            response.cancelRequested = try await engine.heartbeatActivity(try activityToken(r.taskToken), details: r.hasDetails ? r.details : nil)
            return response
        }
    }

    func recordActivityTaskHeartbeatById(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatByIdRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatByIdResponse> {
        try await call {
            let r = request.message
            if r.hasDetails { try Self.checkPayloads(r.details, "Details") }
            let token = try await activityToken(namespace: r.namespace, workflowID: r.workflowID, runID: r.runID, activityID: r.activityID)
            var response = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatByIdResponse()
            response.cancelRequested = try await engine.heartbeatActivity(token, details: r.hasDetails ? r.details : nil)
            return response
        }
    }

    func shutdownWorker(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_ShutdownWorkerRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_ShutdownWorkerResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            await engine.stickyQueueShutDown(namespaceID: ns.id, name: r.stickyTaskQueue)
            return Temporal_Api_Workflowservice_V1_ShutdownWorkerResponse()
        }
    }

    func describeTaskQueue(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_DescribeTaskQueueRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_DescribeTaskQueueResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.byName(r.namespace)
            try Self.checkID(r.taskQueue.name, "TaskQueue")
            let snapshot: (backlog: Int, pollers: [String: Int64])
            if r.taskQueueType == .activity {
                snapshot = engine.activityMatcher.snapshot(.init(namespaceID: ns.id, name: r.taskQueue.name, kind: .activity))
            } else {
                snapshot = engine.workflowMatcher.snapshot(.init(namespaceID: ns.id, name: r.taskQueue.name, kind: .workflow))
            }
            var response = Temporal_Api_Workflowservice_V1_DescribeTaskQueueResponse()
            response.pollers = snapshot.pollers.sorted(by: { $0.key < $1.key }).map { identity, time in
                var p = Temporal_Api_Taskqueue_V1_PollerInfo()
                p.identity = identity
                p.lastAccessTime = Google_Protobuf_Timestamp(seconds: time / 1_000_000_000, nanos: Int32(time % 1_000_000_000))
                return p
            }
            response.stats.approximateBacklogCount = Int64(snapshot.backlog)
            return response
        }
    }
}
