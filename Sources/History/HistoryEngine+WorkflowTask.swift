import Foundation
import Matching
import Persistence
import SwiftProtobuf
public import TemporalAPI

public typealias PollWorkflowTaskResponse = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse

/// A completion that was rejected but still changed state (the workflow task was failed): the
/// change commits, then the caller gets `error`.
enum Outcome<R: Sendable>: Sendable {
    case ok(R)
    case rejected(HistoryError)

    func get() throws(HistoryError) -> R {
        switch self {
        case .ok(let r): return r
        case .rejected(let e): throw e
        }
    }
}

extension HistoryEngine {
    /// Commands accepted in one completion.
    static let maxCommandsPerCompletion = 1_000
    /// Activities one completion may start eagerly (returned in its response); further ones that
    /// ask are dispatched through their task queue. The SDKs ask only for slots they reserved.
    static let maxEagerActivitiesPerCompletion = 8

    /// Long-polls a workflow task queue: returns a started workflow task (or a query task), or
    /// the empty response when `timeout` passes.
    public func pollWorkflowTask(namespaceID: String, taskQueue: String, identity: String, timeout: Duration) async throws(HistoryError) -> PollWorkflowTaskResponse {
        let queue = TaskQueueMatcher<WorkflowQueueItem>.QueueName(namespaceID: namespaceID, name: taskQueue, kind: .workflow)
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, !Task.isCancelled else { return PollWorkflowTaskResponse() }
            guard let item = await workflowMatcher.poll(queue, identity: identity, nowNanos: clock.nowNanos(), timeout: remaining) else {
                return PollWorkflowTaskResponse()
            }
            if Task.isCancelled {
                // The poller left as the task reached it: keep the task for the next one.
                workflowMatcher.offer(item, to: queue, urgent: true)
                return PollWorkflowTaskResponse()
            }
            switch item {
            case .workflowTask(let key, let scheduledEventID):
                if let response = try await startWorkflowTask(key, scheduledEventID: scheduledEventID, identity: identity) {
                    return response
                }
            case .query(let query):
                if let response = try await queryTaskResponse(query) { return response }
            }
        }
    }

    /// Records the workflow task as started (WorkflowTaskStarted, its timeout timer, deletes its
    /// transfer task) and builds the poll response; nil if the task is stale.
    func startWorkflowTask(_ key: WorkflowKey, scheduledEventID: Int64, identity: String) async throws(HistoryError) -> PollWorkflowTaskResponse? {
        let started: MutableState?
        do {
            started = try await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) -> MutableState? in
                guard tx.ms.isRunning, let wft = tx.ms.workflowTask, wft.scheduledEventID == scheduledEventID, !wft.isStarted else {
                    return nil
                }
                tx.startWorkflowTask(identity: identity)
                return tx.ms
            }
        } catch .notFound {
            return nil
        }
        guard let startedState = started, let wft = startedState.workflowTask else { return nil }
        return try await workflowTaskResponse(key, wft)
    }

    /// What a poller gets for a workflow task that has just been started: the run's committed
    /// state and the history it needs (all of it, or for a sticky worker what is new).
    func workflowTaskResponse(_ key: WorkflowKey, _ wft: WorkflowTaskInfo) async throws(HistoryError) -> PollWorkflowTaskResponse {
        // The committed state (its last txn id covers the node holding WorkflowTaskStarted).
        let ms = try await load(key, shard: shard(for: key))
        var response = PollWorkflowTaskResponse()
        response.taskToken = Data(TaskToken(kind: .workflowTask, key: key, scheduledEventID: wft.scheduledEventID, attempt: wft.attempt).encode())
        response.workflowExecution.workflowID = key.workflowID
        response.workflowExecution.runID = key.runID
        response.workflowType.name = ms.workflowType
        response.previousStartedEventID = ms.lastCompletedWorkflowTaskStartedEventID
        response.startedEventID = wft.startedEventID
        response.attempt = wft.attempt
        response.workflowExecutionTaskQueue.name = ms.taskQueue
        response.workflowExecutionTaskQueue.kind = .normal
        response.scheduledTime = ProtoTime.timestamp(wft.scheduledTime)
        response.startedTime = ProtoTime.timestamp(wft.startedTime)
        // A sticky worker has the run cached: it gets only what happened since its last task.
        let from = wft.sticky == true && ms.lastCompletedWorkflowTaskStartedEventID > 0 ? ms.lastCompletedWorkflowTaskStartedEventID + 1 : 1
        let (events, token) = try await readHistory(ms, from: from, through: wft.startedEventID, pageEvents: configuration.historyPageEvents)
        response.history = Temporal_Api_History_V1_History()
        response.history.events = events
        if let token { response.nextPageToken = Data(token.encode()) }
        response.messages = updateMessages(key, sequencingEventID: wft.scheduledEventID)
        return response
    }

    /// RespondWorkflowTaskCompleted: WorkflowTaskCompleted, one event per command in order, the
    /// buffered events, and a new workflow task when there is something new to process.
    public func completeWorkflowTask(
        _ token: TaskToken, _ request: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest
    ) async throws(HistoryError) -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse {
        guard request.commands.count <= HistoryEngine.maxCommandsPerCompletion else {
            throw .invalidArgument("a completion carries \(request.commands.count) commands; at most \(HistoryEngine.maxCommandsPerCompletion) are accepted")
        }
        let outcome = try await update(token.key) {
            (tx: inout WorkflowTransaction) throws(HistoryError) -> Outcome<(next: WorkflowTaskInfo?, eager: [PollActivityTaskResponse])> in
            let wft = try self.startedWorkflowTask(tx.ms, token)
            let messages = Dictionary(request.messages.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            if let rejection = self.validate(request.commands, tx.ms, messageIDs: Set(messages.keys)) {
                self.failWorkflowTask(&tx, wft, cause: rejection.cause, message: rejection.message, identity: request.identity)
                return .rejected(.invalidArgument(rejection.message))
            }
            let completedID = tx.addEvent(.workflowTaskCompleted) {
                $0.workflowTaskCompletedEventAttributes.scheduledEventID = wft.scheduledEventID
                $0.workflowTaskCompletedEventAttributes.startedEventID = wft.startedEventID
                $0.workflowTaskCompletedEventAttributes.identity = request.identity
                $0.workflowTaskCompletedEventAttributes.binaryChecksum = request.binaryChecksum
                if request.hasSdkMetadata { $0.workflowTaskCompletedEventAttributes.sdkMetadata = request.sdkMetadata }
                if request.hasMeteringMetadata { $0.workflowTaskCompletedEventAttributes.meteringMetadata = request.meteringMetadata }
            }
            tx.complete(.timer, wft.timeoutTask)
            tx.ms.workflowTask = nil
            tx.ms.workflowTaskFailures = 0
            if request.hasStickyAttributes && !request.stickyAttributes.workerTaskQueue.name.isEmpty {
                tx.ms.stickyQueue = request.stickyAttributes.workerTaskQueue.name
                let timeout = ProtoTime.nanos(request.stickyAttributes.scheduleToStartTimeout)
                tx.ms.stickyScheduleToStartNanos = timeout > 0 ? timeout : nil
            } else {
                tx.ms.stickyQueue = nil
            }
            tx.ms.lastCompletedWorkflowTaskStartedEventID = wft.startedEventID
            tx.eagerIdentity = request.identity
            var referenced: Set<String> = []
            for command in request.commands {
                if command.commandType == .protocolMessage { referenced.insert(command.protocolMessageCommandAttributes.messageID) }
                try self.apply(command, completedEventID: completedID, messages: messages, tx: &tx)
                if !tx.ms.isRunning { break }
            }
            // Messages no command placed (rejections, always) are applied after the commands.
            for message in request.messages where !referenced.contains(message.id) && tx.ms.isRunning {
                try self.applyProtocolMessage(message, tx: &tx)
            }
            let hadBuffered = !tx.ms.bufferedEvents.isEmpty
            if tx.ms.isRunning {
                tx.flushBufferedEvents()
                let updatesWaiting = !self.updates.admitted(tx.key).isEmpty
                if hadBuffered || request.forceCreateNewWorkflowTask || updatesWaiting {
                    tx.scheduleWorkflowTask()
                    // Asked for inline: started in this same transaction, as Temporal does, and
                    // returned in the response (no offer to matching, no second commit).
                    if request.returnNewWorkflowTask { tx.startWorkflowTask(identity: request.identity) }
                }
            } else {
                tx.ms.bufferedEvents = []
            }
            // Activities started eagerly go back in the response (a closing command may have
            // removed them again).
            let eager = tx.eagerActivities.compactMap { id in
                tx.ms.activities[id].map { self.activityTask($0, of: tx.ms, namespaceName: tx.ms.namespaceName) }
            }
            return .ok((tx.ms.workflowTask.flatMap { $0.isStarted ? $0 : nil }, eager))
        }
        var response = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse()
        let (next, eager) = try outcome.get()
        response.activityTasks = eager
        // The next workflow task, started by the completion's own commit (only when the worker
        // asked for it), saves the worker a poll.
        if let next {
            response.workflowTask = try await workflowTaskResponse(token.key, next)
        }
        return response
    }

    /// RespondWorkflowTaskFailed: WorkflowTaskFailed, then a new attempt.
    public func failWorkflowTask(_ token: TaskToken, _ request: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest) async throws(HistoryError) {
        try await update(token.key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            let wft = try self.startedWorkflowTask(tx.ms, token)
            self.failWorkflowTask(&tx, wft, cause: request.cause, failure: request.hasFailure ? request.failure : nil, message: nil, identity: request.identity)
        }
    }

    /// The started workflow task the token names, or NOT_FOUND.
    func startedWorkflowTask(_ ms: MutableState, _ token: TaskToken) throws(HistoryError) -> WorkflowTaskInfo {
        guard ms.isRunning else { throw .notFound("workflow execution already completed") }
        guard let wft = ms.workflowTask, wft.scheduledEventID == token.scheduledEventID, wft.attempt == token.attempt, wft.isStarted else {
            throw .notFound("Workflow task not found.")
        }
        return wft
    }

    func failWorkflowTask(
        _ tx: inout WorkflowTransaction, _ wft: WorkflowTaskInfo, cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause,
        failure: Temporal_Api_Failure_V1_Failure? = nil, message: String?, identity: String
    ) {
        tx.addEvent(.workflowTaskFailed) {
            $0.workflowTaskFailedEventAttributes.scheduledEventID = wft.scheduledEventID
            $0.workflowTaskFailedEventAttributes.startedEventID = wft.startedEventID
            $0.workflowTaskFailedEventAttributes.cause = cause
            $0.workflowTaskFailedEventAttributes.identity = identity
            if let failure {
                $0.workflowTaskFailedEventAttributes.failure = failure
            } else if let message {
                $0.workflowTaskFailedEventAttributes.failure.message = message
            }
        }
        endWorkflowTaskAttempt(&tx, wft)
    }

    /// After a failed or timed-out attempt: deliver what was buffered and schedule the next attempt.
    func endWorkflowTaskAttempt(_ tx: inout WorkflowTransaction, _ wft: WorkflowTaskInfo) {
        tx.complete(.timer, wft.timeoutTask)
        tx.complete(.transfer, wft.transferTask)
        tx.ms.workflowTask = nil
        tx.ms.workflowTaskFailures += 1
        tx.flushBufferedEvents()
        tx.scheduleWorkflowTask()
    }

    /// No sticky poller took the task in time: WorkflowTaskTimedOut (schedule-to-start), and the
    /// task goes to the normal queue with full history (not counted as a failed attempt).
    func stickyTaskTimedOut(_ tx: inout WorkflowTransaction, scheduledEventID: Int64) -> Bool {
        guard tx.ms.isRunning, let wft = tx.ms.workflowTask, wft.scheduledEventID == scheduledEventID, !wft.isStarted, wft.sticky == true else {
            return false
        }
        tx.addEvent(.workflowTaskTimedOut) {
            $0.workflowTaskTimedOutEventAttributes.scheduledEventID = wft.scheduledEventID
            $0.workflowTaskTimedOutEventAttributes.timeoutType = .scheduleToStart
        }
        tx.complete(.transfer, wft.transferTask)
        tx.ms.workflowTask = nil
        tx.ms.stickyQueue = nil
        tx.scheduleWorkflowTask()
        return true
    }

    /// ShutdownWorker: the worker's sticky queue takes no more tasks; what waits there moves to
    /// the runs' normal queues now rather than after the schedule-to-start timeout.
    public func stickyQueueShutDown(namespaceID: String, name: String) async {
        guard !name.isEmpty else { return }
        shards.first?.stickyQueues.markDead(name)
        let queue = TaskQueueMatcher<WorkflowQueueItem>.QueueName(namespaceID: namespaceID, name: name, kind: .workflow)
        for item in workflowMatcher.drain(queue) {
            guard case .workflowTask(let key, let id) = item else { continue }
            _ = try? await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) -> Bool in
                self.stickyTaskTimedOut(&tx, scheduledEventID: id)
            }
        }
    }

    /// The workflow task start-to-close timeout.
    func workflowTaskTimedOut(_ tx: inout WorkflowTransaction, scheduledEventID: Int64, attempt: Int32) -> Bool {
        guard tx.ms.isRunning, let wft = tx.ms.workflowTask, wft.scheduledEventID == scheduledEventID, wft.attempt == attempt, wft.isStarted else {
            return false
        }
        tx.addEvent(.workflowTaskTimedOut) {
            $0.workflowTaskTimedOutEventAttributes.scheduledEventID = wft.scheduledEventID
            $0.workflowTaskTimedOutEventAttributes.startedEventID = wft.startedEventID
            $0.workflowTaskTimedOutEventAttributes.timeoutType = .startToClose
        }
        var ended = wft
        ended.timeoutTask = nil  // this very task; the caller completes it
        endWorkflowTaskAttempt(&tx, ended)
        return true
    }
}
