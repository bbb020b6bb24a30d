import Foundation
import Matching
public import Persistence
import SwiftProtobuf
public import TemporalAPI

public typealias PollActivityTaskResponse = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse
typealias Failure = Temporal_Api_Failure_V1_Failure

extension HistoryEngine {
    // MARK: Scheduling (from a completion)

    /// Schedules the activity; with `startedBy` (an eager start, see `completeWorkflowTask`) it is
    /// started at once for that worker instead of being dispatched to its queue.
    func scheduleActivity(
        _ a: Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes, completedEventID: Int64, startedBy eagerIdentity: String? = nil,
        tx: inout WorkflowTransaction
    ) {
        // Derive the missing timeouts the way Temporal does: schedule-to-close bounds everything,
        // start-to-close defaults to it, schedule-to-start defaults to schedule-to-close.
        let runRemaining: Int64 = tx.ms.runTimeoutNanos > 0 ? max(0, tx.ms.startTime + tx.ms.runTimeoutNanos - tx.now) : 0
        var scheduleToClose = ProtoTime.nanos(a.scheduleToCloseTimeout)
        var startToClose = ProtoTime.nanos(a.startToCloseTimeout)
        var scheduleToStart = ProtoTime.nanos(a.scheduleToStartTimeout)
        if runRemaining > 0 && (scheduleToClose == 0 || scheduleToClose > runRemaining) { scheduleToClose = runRemaining }
        if startToClose == 0 { startToClose = scheduleToClose }
        if scheduleToClose > 0 && startToClose > scheduleToClose { startToClose = scheduleToClose }
        if scheduleToStart == 0 || (scheduleToClose > 0 && scheduleToStart > scheduleToClose) { scheduleToStart = scheduleToClose }
        let heartbeat = min(ProtoTime.nanos(a.heartbeatTimeout), startToClose)
        var retry = a.retryPolicy
        if !a.hasRetryPolicy || ProtoTime.nanos(retry.initialInterval) <= 0 { retry.initialInterval = ProtoTime.duration(1_000_000_000) }
        if retry.backoffCoefficient < 1 { retry.backoffCoefficient = 2.0 }
        if ProtoTime.nanos(retry.maximumInterval) <= 0 {
            retry.maximumInterval = ProtoTime.duration(ProtoTime.nanos(retry.initialInterval).multipliedReportingOverflow(by: 100).partialValue)
        }
        let queue = a.taskQueue.name.isEmpty ? tx.ms.taskQueue : a.taskQueue.name
        var attributes = Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes()
        attributes.activityID = a.activityID
        attributes.activityType = a.activityType
        attributes.taskQueue.name = queue
        attributes.taskQueue.kind = .normal
        if a.hasHeader { attributes.header = a.header }
        if a.hasInput { attributes.input = a.input }
        attributes.scheduleToCloseTimeout = ProtoTime.duration(scheduleToClose)
        attributes.scheduleToStartTimeout = ProtoTime.duration(scheduleToStart)
        attributes.startToCloseTimeout = ProtoTime.duration(startToClose)
        attributes.heartbeatTimeout = ProtoTime.duration(heartbeat)
        attributes.workflowTaskCompletedEventID = completedEventID
        attributes.retryPolicy = retry
        if a.hasPriority { attributes.priority = a.priority }
        let scheduled = attributes
        let id = tx.addEvent(.activityTaskScheduled) { $0.activityTaskScheduledEventAttributes = scheduled }
        var info = ActivityInfo(
            scheduledEventID: id, activityID: a.activityID, activityType: a.activityType.name, taskQueue: queue,
            scheduledAttributes: (try? scheduled.serializedBytes()) ?? [], scheduledTime: tx.now, currentAttemptScheduledTime: tx.now,
            scheduleToCloseNanos: scheduleToClose, scheduleToStartNanos: scheduleToStart, startToCloseNanos: startToClose,
            heartbeatNanos: heartbeat)
        if scheduleToClose > 0 {
            info.timerTasks.append(tx.addTimerTask(.activityTimeout(scheduledEventID: id, attempt: 1, kind: .scheduleToClose), at: tx.now + scheduleToClose))
        }
        if let eagerIdentity {
            markStarted(&info, identity: eagerIdentity, tx: &tx)
            tx.eagerActivities.append(id)
        } else {
            info.transferTask = tx.addTransferTask(.activityTask(scheduledEventID: id, attempt: 1))
            if scheduleToStart > 0 && scheduleToStart < scheduleToClose {
                info.timerTasks.append(tx.addTimerTask(.activityTimeout(scheduledEventID: id, attempt: 1, kind: .scheduleToStart), at: tx.now + scheduleToStart))
            }
            tx.effects.append(.dispatchActivityTask(taskQueue: queue, scheduledEventID: id, attempt: 1))
        }
        tx.ms.activities[id] = info
    }

    /// Records the current attempt as started by `identity` (no event: ActivityTaskStarted is
    /// written with the result), with its start-to-close and heartbeat timers.
    func markStarted(_ activity: inout ActivityInfo, identity: String, tx: inout WorkflowTransaction) {
        activity.startedTime = tx.now
        activity.startedIdentity = identity
        activity.startRequestID = UUID().uuidString.lowercased()
        activity.lastHeartbeatTime = 0
        tx.complete(.transfer, activity.transferTask)
        activity.transferTask = nil
        activity.timerTasks.append(tx.addTimerTask(
            .activityTimeout(scheduledEventID: activity.scheduledEventID, attempt: activity.attempt, kind: .startToClose),
            at: tx.now + activity.startToCloseNanos))
        if activity.heartbeatNanos > 0 {
            activity.timerTasks.append(tx.addTimerTask(
                .activityTimeout(scheduledEventID: activity.scheduledEventID, attempt: activity.attempt, kind: .heartbeat),
                at: tx.now + activity.heartbeatNanos))
        }
    }

    func requestCancelActivity(_ scheduledEventID: Int64, completedEventID: Int64, tx: inout WorkflowTransaction) {
        guard var activity = tx.ms.activities[scheduledEventID] else { return }
        let requestID = tx.addEvent(.activityTaskCancelRequested) {
            $0.activityTaskCancelRequestedEventAttributes.scheduledEventID = scheduledEventID
            $0.activityTaskCancelRequestedEventAttributes.workflowTaskCompletedEventID = completedEventID
        }
        if activity.isStarted {
            activity.cancelRequested = true
            tx.ms.activities[scheduledEventID] = activity
        } else {
            // Not running anywhere: canceled at once (the real server does the same).
            tx.addEvent(.activityTaskCanceled) {
                $0.activityTaskCanceledEventAttributes.scheduledEventID = scheduledEventID
                $0.activityTaskCanceledEventAttributes.latestCancelRequestedEventID = requestID
            }
            removeActivity(scheduledEventID, tx: &tx)
        }
    }

    func removeActivity(_ scheduledEventID: Int64, tx: inout WorkflowTransaction) {
        guard let activity = tx.ms.activities.removeValue(forKey: scheduledEventID) else { return }
        tx.complete(.transfer, activity.transferTask)
        for task in activity.timerTasks { tx.complete(.timer, task) }
    }

    // MARK: Polling

    public func pollActivityTask(namespaceID: String, namespaceName: String, taskQueue: String, identity: String, timeout: Duration) async throws(HistoryError) -> PollActivityTaskResponse {
        let queue = TaskQueueMatcher<ActivityQueueItem>.QueueName(namespaceID: namespaceID, name: taskQueue, kind: .activity)
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, !Task.isCancelled else { return PollActivityTaskResponse() }
            guard let item = await activityMatcher.poll(queue, identity: identity, nowNanos: clock.nowNanos(), timeout: remaining) else {
                return PollActivityTaskResponse()
            }
            if Task.isCancelled {
                activityMatcher.offer(item, to: queue, urgent: true)
                return PollActivityTaskResponse()
            }
            if let response = try await startActivity(item, namespaceName: namespaceName, identity: identity) { return response }
        }
    }

    /// Records the attempt as started (no event: ActivityTaskStarted is written with the result)
    /// with its start-to-close and heartbeat timers; nil if the task is stale.
    func startActivity(_ item: ActivityQueueItem, namespaceName: String, identity: String) async throws(HistoryError) -> PollActivityTaskResponse? {
        let result: (MutableState, ActivityInfo)?
        do {
            result = try await update(item.key) { (tx: inout WorkflowTransaction) throws(HistoryError) -> (MutableState, ActivityInfo)? in
                guard tx.ms.isRunning, var activity = tx.ms.activities[item.scheduledEventID], activity.attempt == item.attempt, !activity.isStarted else {
                    return nil
                }
                self.markStarted(&activity, identity: identity, tx: &tx)
                tx.ms.activities[item.scheduledEventID] = activity
                return (tx.ms, activity)
            }
        } catch .notFound {
            return nil
        }
        guard let (ms, activity) = result else { return nil }
        return activityTask(activity, of: ms, namespaceName: namespaceName)
    }

    /// What a worker gets for a started activity attempt (a poll's answer, or an eager task).
    func activityTask(_ activity: ActivityInfo, of ms: MutableState, namespaceName: String) -> PollActivityTaskResponse {
        let scheduled = (try? Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes(serializedBytes: activity.scheduledAttributes)) ?? .init()
        var response = PollActivityTaskResponse()
        response.taskToken = Data(TaskToken(kind: .activityTask, key: ms.key, scheduledEventID: activity.scheduledEventID, attempt: activity.attempt).encode())
        response.workflowNamespace = namespaceName
        response.workflowType.name = ms.workflowType
        response.workflowExecution.workflowID = ms.workflowID
        response.workflowExecution.runID = ms.runID
        response.activityType = scheduled.activityType
        response.activityID = activity.activityID
        if scheduled.hasHeader { response.header = scheduled.header }
        if scheduled.hasInput { response.input = scheduled.input }
        if !activity.heartbeatDetails.isEmpty, let details = try? Temporal_Api_Common_V1_Payloads(serializedBytes: activity.heartbeatDetails) {
            response.heartbeatDetails = details
        }
        response.scheduledTime = ProtoTime.timestamp(activity.scheduledTime)
        response.currentAttemptScheduledTime = ProtoTime.timestamp(activity.currentAttemptScheduledTime)
        response.startedTime = ProtoTime.timestamp(activity.startedTime)
        response.attempt = activity.attempt
        response.scheduleToCloseTimeout = scheduled.scheduleToCloseTimeout
        response.startToCloseTimeout = scheduled.startToCloseTimeout
        response.heartbeatTimeout = scheduled.heartbeatTimeout
        response.retryPolicy = scheduled.retryPolicy
        if scheduled.hasPriority { response.priority = scheduled.priority }
        return response
    }

    // MARK: Results

    /// The token of the current attempt of the activity `activityID` (the ...ById calls).
    public func activityToken(namespaceID: String, workflowID: String, runID: String, activityID: String) async throws(HistoryError) -> TaskToken {
        let key = try await resolveKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID)
        let ms = try await load(key, shard: shard(for: key))
        guard ms.isRunning else { throw .notFound("workflow execution already completed") }
        guard let activity = ms.activities.values.first(where: { $0.activityID == activityID }) else {
            throw .notFound("activity \(activityID) is not pending")
        }
        return TaskToken(kind: .activityTask, key: key, scheduledEventID: activity.scheduledEventID, attempt: activity.attempt)
    }

    func startedActivity(_ ms: MutableState, _ token: TaskToken) throws(HistoryError) -> ActivityInfo {
        guard token.kind == .activityTask else { throw .invalidArgument("the task token is not an activity task's") }
        guard ms.isRunning else { throw .notFound("workflow execution already completed") }
        guard let activity = ms.activities[token.scheduledEventID], activity.attempt == token.attempt, activity.isStarted else {
            throw .notFound("invalid activityID or activity already timed out or invoking workflow is completed")
        }
        return activity
    }

    /// The ActivityTaskStarted event of the final attempt (written with its result).
    func addActivityStarted(_ activity: ActivityInfo, tx: inout WorkflowTransaction) {
        tx.addExternalEvent(.activityTaskStarted) {
            $0.activityTaskStartedEventAttributes.scheduledEventID = activity.scheduledEventID
            $0.activityTaskStartedEventAttributes.identity = activity.startedIdentity
            $0.activityTaskStartedEventAttributes.requestID = activity.startRequestID
            $0.activityTaskStartedEventAttributes.attempt = activity.attempt
            if !activity.lastFailure.isEmpty, let failure = try? Failure(serializedBytes: activity.lastFailure) {
                $0.activityTaskStartedEventAttributes.lastFailure = failure
            }
        }
    }

    /// The id the Started event got (or 0 while buffered: the flush fills it in).
    func lastStartedEventID(_ tx: WorkflowTransaction) -> Int64 {
        tx.events.last(where: { $0.eventType == .activityTaskStarted })?.eventID ?? 0
    }

    public func completeActivity(_ token: TaskToken, result: Temporal_Api_Common_V1_Payloads?, identity: String) async throws(HistoryError) {
        try await update(token.key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            let activity = try self.startedActivity(tx.ms, token)
            self.addActivityStarted(activity, tx: &tx)
            let startedID = self.lastStartedEventID(tx)
            tx.addExternalEvent(.activityTaskCompleted) {
                $0.activityTaskCompletedEventAttributes.scheduledEventID = activity.scheduledEventID
                $0.activityTaskCompletedEventAttributes.startedEventID = startedID
                $0.activityTaskCompletedEventAttributes.identity = identity
                if let result { $0.activityTaskCompletedEventAttributes.result = result }
            }
            self.removeActivity(activity.scheduledEventID, tx: &tx)
        }
    }

    public func failActivity(_ token: TaskToken, failure: Temporal_Api_Failure_V1_Failure, lastHeartbeatDetails: Temporal_Api_Common_V1_Payloads?, identity: String) async throws(HistoryError) {
        try await update(token.key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            var activity = try self.startedActivity(tx.ms, token)
            if let details = lastHeartbeatDetails { activity.heartbeatDetails = (try? details.serializedBytes()) ?? [] }
            tx.ms.activities[activity.scheduledEventID] = activity
            let info = failure.applicationFailureInfo
            let retryable = !(failure.isApplicationFailure && info.nonRetryable)
            self.failOrRetryActivity(activity, failure: failure, retryable: retryable, errorType: info.type, identity: identity, timeout: nil, tx: &tx)
        }
    }

    public func cancelActivity(_ token: TaskToken, details: Temporal_Api_Common_V1_Payloads?, identity: String) async throws(HistoryError) {
        try await update(token.key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            let activity = try self.startedActivity(tx.ms, token)
            self.addActivityStarted(activity, tx: &tx)
            let startedID = self.lastStartedEventID(tx)
            tx.addExternalEvent(.activityTaskCanceled) {
                $0.activityTaskCanceledEventAttributes.scheduledEventID = activity.scheduledEventID
                $0.activityTaskCanceledEventAttributes.startedEventID = startedID
                $0.activityTaskCanceledEventAttributes.identity = identity
                if let details { $0.activityTaskCanceledEventAttributes.details = details }
            }
            self.removeActivity(activity.scheduledEventID, tx: &tx)
        }
    }

    /// Records a heartbeat; returns whether cancellation was requested.
    public func heartbeatActivity(_ token: TaskToken, details: Temporal_Api_Common_V1_Payloads?) async throws(HistoryError) -> Bool {
        try await update(token.key) { (tx: inout WorkflowTransaction) throws(HistoryError) -> Bool in
            var activity = try self.startedActivity(tx.ms, token)
            activity.lastHeartbeatTime = tx.now
            if let details { activity.heartbeatDetails = (try? details.serializedBytes()) ?? [] }
            tx.ms.activities[activity.scheduledEventID] = activity
            return activity.cancelRequested
        }
    }

    /// A failed or timed-out attempt: retried per the retry policy (no event), or the final
    /// ActivityTaskStarted + ActivityTaskFailed/TimedOut.
    func failOrRetryActivity(
        _ activity: ActivityInfo, failure: Failure, retryable: Bool, errorType: String, identity: String, timeout: TimeoutKind?,
        tx: inout WorkflowTransaction
    ) {
        let scheduled = (try? Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes(serializedBytes: activity.scheduledAttributes)) ?? .init()
        let policy = scheduled.retryPolicy
        var retryState: Temporal_Api_Enums_V1_RetryState = .inProgress
        var backoff: Int64 = 0
        if !retryable || policy.nonRetryableErrorTypes.contains(errorType) {
            retryState = .nonRetryableFailure
        } else if policy.maximumAttempts > 0 && activity.attempt >= policy.maximumAttempts {
            retryState = .maximumAttemptsReached
        } else {
            let initial = Double(ProtoTime.nanos(policy.initialInterval))
            let maximum = Double(ProtoTime.nanos(policy.maximumInterval))
            let raw = initial * pow(max(1, policy.backoffCoefficient), Double(activity.attempt - 1))
            backoff = Int64(min(raw, maximum > 0 ? maximum : raw))
            if failure.isApplicationFailure && failure.applicationFailureInfo.hasNextRetryDelay {
                backoff = ProtoTime.nanos(failure.applicationFailureInfo.nextRetryDelay)
            }
            if activity.scheduleToCloseNanos > 0 && tx.now + backoff + activity.startToCloseNanos / 1000 >= activity.scheduledTime + activity.scheduleToCloseNanos {
                retryState = .timeout
            }
        }
        if retryState == .inProgress {
            var next = activity
            for task in next.timerTasks { tx.complete(.timer, task) }
            next.timerTasks = []
            next.attempt += 1
            next.startedTime = 0
            next.startedIdentity = identity
            next.lastFailure = (try? failure.serializedBytes()) ?? []
            next.currentAttemptScheduledTime = tx.now + backoff
            next.timerTasks.append(tx.addTimerTask(.activityRetry(scheduledEventID: activity.scheduledEventID, attempt: next.attempt), at: tx.now + backoff))
            if next.scheduleToCloseNanos > 0 {
                next.timerTasks.append(tx.addTimerTask(
                    .activityTimeout(scheduledEventID: activity.scheduledEventID, attempt: next.attempt, kind: .scheduleToClose),
                    at: next.scheduledTime + next.scheduleToCloseNanos))
            }
            tx.ms.activities[activity.scheduledEventID] = next
            return
        }
        if activity.isStarted { addActivityStarted(activity, tx: &tx) }
        let startedID = activity.isStarted ? lastStartedEventID(tx) : 0
        if let timeout {
            tx.addExternalEvent(.activityTaskTimedOut) {
                $0.activityTaskTimedOutEventAttributes.scheduledEventID = activity.scheduledEventID
                $0.activityTaskTimedOutEventAttributes.startedEventID = startedID
                $0.activityTaskTimedOutEventAttributes.retryState = retryState
                $0.activityTaskTimedOutEventAttributes.failure = failure
                _ = timeout
            }
        } else {
            tx.addExternalEvent(.activityTaskFailed) {
                $0.activityTaskFailedEventAttributes.scheduledEventID = activity.scheduledEventID
                $0.activityTaskFailedEventAttributes.startedEventID = startedID
                $0.activityTaskFailedEventAttributes.identity = identity
                $0.activityTaskFailedEventAttributes.retryState = retryState
                $0.activityTaskFailedEventAttributes.failure = failure
            }
        }
        removeActivity(activity.scheduledEventID, tx: &tx)
    }

    /// An activity timer fired: a timeout (retried or final) or the end of a retry backoff.
    func activityTimer(_ timer: TimerTask, tx: inout WorkflowTransaction) -> Bool {
        switch timer {
        case .activityRetry(let id, let attempt):
            guard tx.ms.isRunning, var activity = tx.ms.activities[id], activity.attempt == attempt, !activity.isStarted else { return false }
            activity.transferTask = tx.addTransferTask(.activityTask(scheduledEventID: id, attempt: attempt))
            if activity.scheduleToStartNanos > 0 && activity.scheduleToStartNanos < activity.scheduleToCloseNanos {
                activity.timerTasks.append(tx.addTimerTask(.activityTimeout(scheduledEventID: id, attempt: attempt, kind: .scheduleToStart), at: tx.now + activity.scheduleToStartNanos))
            }
            tx.ms.activities[id] = activity
            tx.effects.append(.dispatchActivityTask(taskQueue: activity.taskQueue, scheduledEventID: id, attempt: attempt))
            return true
        case .activityTimeout(let id, let attempt, let kind):
            guard tx.ms.isRunning, var activity = tx.ms.activities[id] else { return false }
            // Schedule-to-close spans attempts; the others belong to one attempt.
            if kind != .scheduleToClose && activity.attempt != attempt { return false }
            switch kind {
            case .scheduleToStart where activity.isStarted: return false
            case .startToClose where !activity.isStarted, .heartbeat where !activity.isStarted: return false
            case .heartbeat:
                let last = max(activity.lastHeartbeatTime, activity.startedTime)
                if last + activity.heartbeatNanos > tx.now {
                    // Heartbeats arrived: look again when the latest one expires.
                    activity.timerTasks.append(tx.addTimerTask(.activityTimeout(scheduledEventID: id, attempt: attempt, kind: .heartbeat), at: last + activity.heartbeatNanos))
                    tx.ms.activities[id] = activity
                    return true
                }
            default: break
            }
            var failure = Failure()
            failure.message = "activity \(timeoutName(kind)) timeout"
            failure.source = "Server"
            failure.timeoutFailureInfo.timeoutType = Temporal_Api_Enums_V1_TimeoutType(rawValue: Int(kind.rawValue)) ?? .startToClose
            if !activity.heartbeatDetails.isEmpty, let details = try? Temporal_Api_Common_V1_Payloads(serializedBytes: activity.heartbeatDetails) {
                failure.timeoutFailureInfo.lastHeartbeatDetails = details
            }
            let retryable = kind == .startToClose || kind == .heartbeat
            failOrRetryActivity(activity, failure: failure, retryable: retryable, errorType: "", identity: activity.startedIdentity, timeout: kind, tx: &tx)
            return true
        default:
            return false
        }
    }

    private func timeoutName(_ kind: TimeoutKind) -> String {
        switch kind {
        case .startToClose: return "StartToClose"
        case .scheduleToStart: return "ScheduleToStart"
        case .scheduleToClose: return "ScheduleToClose"
        case .heartbeat: return "Heartbeat"
        }
    }
}

extension Temporal_Api_Failure_V1_Failure {
    var isApplicationFailure: Bool {
        if case .applicationFailureInfo = failureInfo { return true }
        return false
    }
}
