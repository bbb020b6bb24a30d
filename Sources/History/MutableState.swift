public import Persistence

/// A run's mutable state: everything the history service needs to apply the next change without
/// reading history. Persisted whole, as the opaque blob of `WorkflowSnapshot`
/// (`MutableStateCodec`); the indexed fields (status, next event id, versions) are copied into
/// the snapshot on every write.
public struct MutableState: Codable, Sendable, Equatable {
    public var namespaceID: String
    public var workflowID: String
    public var runID: String
    public var firstExecutionRunID: String
    public var workflowType: String
    public var taskQueue: String
    public var workflowTaskTimeoutNanos: Int64
    public var runTimeoutNanos: Int64
    public var executionTimeoutNanos: Int64
    public var startTime: Int64
    public var closeTime: Int64 = 0
    public var status: Int32 = WorkflowStatus.running.rawValue
    public var createRequestID: String
    public var nextEventID: Int64 = 1
    public var lastEventTxnID: Int64 = 0
    public var dbRecordVersion: Int64 = 0
    /// `WorkflowTaskStarted` id of the last completed workflow task (the poll response's
    /// `previous_started_event_id`).
    public var lastCompletedWorkflowTaskStartedEventID: Int64 = 0
    public var workflowTask: WorkflowTaskInfo?
    /// Consecutive failed or timed-out workflow-task attempts (attempt of the next one = this + 1).
    public var workflowTaskFailures: Int32 = 0
    public var activities: [Int64: ActivityInfo] = [:]
    public var timers: [String: TimerInfo] = [:]
    /// Events that arrived while a workflow task was started: serialized `HistoryEvent`s without
    /// ids, written after that task's completion.
    public var bufferedEvents: [[UInt8]] = []
    /// Request ids of applied signals (dedupe of retried SignalWorkflowExecution), oldest first.
    public var signalRequestIDs: [String] = []
    public var cancelRequested = false
    public var cancelRequestID = ""
    /// Serialized `temporal.api.common.v1.SearchAttributes` and `Memo`.
    public var searchAttributes: [UInt8] = []
    public var memo: [UInt8] = []
    /// Id of the event that closed the run (0 while running).
    public var closeEventID: Int64 = 0
    /// The run-timeout timer task, if any.
    public var runTimeoutTask: TaskRef?
    /// Event count and history bytes so far.
    public var historySizeBytes: Int64 = 0
    public var signalCount: Int64 = 0
    /// The run that continued into this one, and the one this continued into.
    public var continuedFromRunID = ""
    public var newRunID = ""
    public var namespaceName = ""
    /// The parent, for a child workflow (its close is reported to the parent).
    public var parent: ParentInfo?
    /// Started (or starting) child workflows, by initiated event id.
    public var children: [Int64: ChildInfo] = [:]
    /// Signals and cancel requests to other workflows in flight, by initiated event id.
    public var externalRequests: [Int64: ExternalRequestInfo] = [:]
    /// The worker's sticky queue (its cache of this run): the next workflow tasks go there with
    /// only the new events, falling back to the normal queue after the schedule-to-start timeout.
    public var stickyQueue: String?
    public var stickyScheduleToStartNanos: Int64?
    /// Accepted (and completed) updates, by update id.
    public var updates: [String: UpdateRecord] = [:]

    public var workflowStatus: WorkflowStatus { WorkflowStatus(rawValue: status) ?? .running }
    public var isRunning: Bool { workflowStatus == .running }
    public var key: WorkflowKey { WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID) }
    public var branch: BranchToken { BranchToken(treeID: firstExecutionRunID.isEmpty ? runID : firstExecutionRunID, branchID: runID) }

    public init(
        namespaceID: String, workflowID: String, runID: String, firstExecutionRunID: String, workflowType: String,
        taskQueue: String, workflowTaskTimeoutNanos: Int64, runTimeoutNanos: Int64, executionTimeoutNanos: Int64,
        startTime: Int64, createRequestID: String
    ) {
        self.namespaceID = namespaceID
        self.workflowID = workflowID
        self.runID = runID
        self.firstExecutionRunID = firstExecutionRunID
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.workflowTaskTimeoutNanos = workflowTaskTimeoutNanos
        self.runTimeoutNanos = runTimeoutNanos
        self.executionTimeoutNanos = executionTimeoutNanos
        self.startTime = startTime
        self.createRequestID = createRequestID
    }

    /// The snapshot persistence stores for this state.
    func snapshot() throws -> WorkflowSnapshot {
        WorkflowSnapshot(
            key: key,
            executionState: ExecutionState(
                createRequestID: createRequestID, state: isRunning ? .running : .completed, status: workflowStatus,
                startTime: startTime),
            nextEventID: nextEventID, lastEventTxnID: lastEventTxnID, dbRecordVersion: dbRecordVersion,
            mutableState: try MutableStateCodec.encode(self))
    }
}

/// A reference to a persisted history task (category implied by the field holding it).
public struct TaskRef: Codable, Sendable, Equatable, Hashable {
    public var fireTime: Int64
    public var taskID: Int64

    var key: HistoryTaskKey { HistoryTaskKey(fireTime: fireTime, taskID: taskID) }
}

/// The pending workflow task (at most one per run).
public struct WorkflowTaskInfo: Codable, Sendable, Equatable {
    public var scheduledEventID: Int64
    /// 0 until a poller starts it.
    public var startedEventID: Int64 = 0
    public var attempt: Int32
    public var taskQueue: String
    public var scheduledTime: Int64
    public var startedTime: Int64 = 0
    public var startToCloseNanos: Int64
    /// The poll request that started it (a retried poll with the same id gets the same task).
    public var startRequestID = ""
    public var identity = ""
    /// The transfer task that dispatches it; deleted when it starts.
    public var transferTask: TaskRef?
    /// The start-to-close timeout timer task, once started.
    public var timeoutTask: TaskRef?
    /// Dispatched to the sticky queue; `scheduleToStartTask` moves it to the normal queue if no
    /// sticky poller takes it in time.
    public var sticky: Bool?
    public var scheduleToStartTask: TaskRef?

    public var isStarted: Bool { startedEventID != 0 }
}

/// A scheduled activity.
public struct ActivityInfo: Codable, Sendable, Equatable {
    public var scheduledEventID: Int64
    public var activityID: String
    public var activityType: String
    public var taskQueue: String
    /// Serialized `ActivityTaskScheduledEventAttributes` (input, header, timeouts, retry policy
    /// with the server's defaults filled in).
    public var scheduledAttributes: [UInt8]
    public var attempt: Int32 = 1
    public var scheduledTime: Int64
    public var currentAttemptScheduledTime: Int64
    /// 0 until a poller starts the current attempt.
    public var startedTime: Int64 = 0
    public var startedIdentity = ""
    public var startRequestID = ""
    public var scheduleToCloseNanos: Int64
    public var scheduleToStartNanos: Int64
    public var startToCloseNanos: Int64
    public var heartbeatNanos: Int64
    /// Serialized `Payloads` of the last heartbeat, and when it arrived.
    public var heartbeatDetails: [UInt8] = []
    public var lastHeartbeatTime: Int64 = 0
    public var cancelRequested = false
    /// Serialized `Failure` of the last failed attempt.
    public var lastFailure: [UInt8] = []
    /// The transfer task that dispatches the current attempt (deleted when it starts).
    public var transferTask: TaskRef?
    /// Timer tasks guarding this activity (timeouts, retry backoff); removed with it.
    public var timerTasks: [TaskRef] = []

    public var isStarted: Bool { startedTime != 0 }
}

/// A started user timer.
public struct TimerInfo: Codable, Sendable, Equatable {
    public var timerID: String
    public var startedEventID: Int64
    public var fireTime: Int64
    public var task: TaskRef
}

public struct ParentInfo: Codable, Sendable, Equatable {
    public var namespaceID: String
    public var namespaceName: String
    public var workflowID: String
    public var runID: String
    public var initiatedEventID: Int64

    public var key: WorkflowKey { WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID) }
}

/// A child workflow of this run.
public struct ChildInfo: Codable, Sendable, Equatable {
    public var initiatedEventID: Int64
    public var workflowID: String
    public var workflowType: String
    /// "" until the child has started.
    public var runID = ""
    /// 0 until ChildWorkflowExecutionStarted has an id.
    public var startedEventID: Int64 = 0
    /// Temporal's ParentClosePolicy number (1 terminate, 2 abandon, 3 request cancel).
    public var parentClosePolicy: Int
    /// Serialized `StartChildWorkflowExecutionInitiatedEventAttributes`.
    public var initiatedAttributes: [UInt8]
}

/// A signal or cancel request this run sends to another workflow.
public struct ExternalRequestInfo: Codable, Sendable, Equatable {
    public var initiatedEventID: Int64
    public var isCancel: Bool
    public var workflowID: String
    public var runID: String
    /// Serialized initiated-event attributes (signal name, input, header; or the cancel reason).
    public var initiatedAttributes: [UInt8]
}

/// An update the workflow accepted; `outcome` (serialized `temporal.api.update.v1.Outcome`) is set
/// once it completed.
public struct UpdateRecord: Codable, Sendable, Equatable {
    public var acceptedEventID: Int64
    public var completed = false
    public var outcome: [UInt8] = []
}
