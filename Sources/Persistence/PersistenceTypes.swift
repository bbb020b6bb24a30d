/// Temporal's persistence model, as values. Nothing here knows protobuf or gRPC: Temporal-typed
/// payloads (mutable state, event batches, task details) are opaque bytes owned by the services
/// above; persistence stores them and indexes only the fields listed here. Layout of every table:
/// docs/data-model.md.

/// A shard: the unit of ownership of workflow executions. `rangeID` fences writers: every
/// execution write is conditioned on it, so a stale owner's writes fail with `shardOwnershipLost`.
public struct ShardInfo: Sendable, Equatable {
    public var shardID: Int32
    public var rangeID: Int64
    /// Opaque to persistence (the history service's ack levels and the like).
    public var data: [UInt8]

    public init(shardID: Int32, rangeID: Int64, data: [UInt8] = []) {
        self.shardID = shardID
        self.rangeID = rangeID
        self.data = data
    }
}

/// Identifies one run of a workflow.
public struct WorkflowKey: Hashable, Sendable, CustomStringConvertible {
    public var namespaceID: String
    public var workflowID: String
    public var runID: String

    public init(namespaceID: String, workflowID: String, runID: String) {
        self.namespaceID = namespaceID
        self.workflowID = workflowID
        self.runID = runID
    }

    public var description: String { "\(namespaceID)/\(workflowID)/\(runID)" }
}

/// Temporal's `WorkflowExecutionStatus` numbering (temporal.api.enums.v1), so values carry over.
public enum WorkflowStatus: Int32, Sendable, Equatable, CaseIterable {
    case running = 1
    case completed = 2
    case failed = 3
    case canceled = 4
    case terminated = 5
    case continuedAsNew = 6
    case timedOut = 7

    public var isClosed: Bool { self != .running }
}

/// The run's lifecycle state (Temporal's `WorkflowExecutionState`).
public enum WorkflowState: Int32, Sendable, Equatable {
    case created = 0
    case running = 1
    case completed = 2
    /// Not the current run and never will be (a lost race, or a reset's old run).
    case zombie = 3
}

/// The fields of a run that persistence indexes, conditions on or returns with a conflict.
public struct ExecutionState: Sendable, Equatable {
    public var createRequestID: String
    public var state: WorkflowState
    public var status: WorkflowStatus
    /// Unix nanoseconds.
    public var startTime: Int64

    public init(createRequestID: String, state: WorkflowState, status: WorkflowStatus, startTime: Int64) {
        self.createRequestID = createRequestID
        self.state = state
        self.status = status
        self.startTime = startTime
    }
}

/// A run's mutable state as persistence stores it: the indexed fields plus the opaque blob the
/// history service encodes.
public struct WorkflowSnapshot: Sendable, Equatable {
    public var key: WorkflowKey
    public var executionState: ExecutionState
    /// The id the next event will get; history reads stop below it.
    public var nextEventID: Int64
    /// The txn id of the last history node appended for this run (0 before any): history reads
    /// ignore nodes written by transactions after it (a failed state write leaves no visible events).
    public var lastEventTxnID: Int64
    /// Bumped by every write; each update is conditioned on the previous value.
    public var dbRecordVersion: Int64
    /// Opaque to persistence.
    public var mutableState: [UInt8]

    public init(
        key: WorkflowKey, executionState: ExecutionState, nextEventID: Int64, lastEventTxnID: Int64,
        dbRecordVersion: Int64, mutableState: [UInt8]
    ) {
        self.key = key
        self.executionState = executionState
        self.nextEventID = nextEventID
        self.lastEventTxnID = lastEventTxnID
        self.dbRecordVersion = dbRecordVersion
        self.mutableState = mutableState
    }
}

/// The current-run row of a workflow id.
public struct CurrentExecution: Sendable, Equatable {
    public var runID: String
    public var executionState: ExecutionState

    public init(runID: String, executionState: ExecutionState) {
        self.runID = runID
        self.executionState = executionState
    }
}

/// The kinds of shard-local task queues the history service keeps (Temporal's task categories).
public enum HistoryTaskCategory: Int32, Sendable, Equatable, CaseIterable {
    /// Immediate tasks, ordered by task id (dispatch workflow/activity tasks, close work...).
    case transfer = 1
    /// Scheduled tasks, ordered by fire time then task id (timers, timeouts, retries).
    case timer = 2
    /// Immediate tasks that update visibility records, ordered by task id.
    case visibility = 3
}

/// A task in a shard's queue. `fireTime` (Unix nanoseconds) orders timer tasks and is 0 for the
/// immediate categories. `data` is opaque to persistence.
public struct HistoryTask: Sendable, Equatable {
    public var category: HistoryTaskCategory
    public var taskID: Int64
    public var fireTime: Int64
    public var key: WorkflowKey
    public var data: [UInt8]

    public init(category: HistoryTaskCategory, taskID: Int64, fireTime: Int64 = 0, key: WorkflowKey, data: [UInt8]) {
        self.category = category
        self.taskID = taskID
        self.fireTime = fireTime
        self.key = key
        self.data = data
    }

    /// Identifies the task within its shard and category.
    public var taskKey: HistoryTaskKey { HistoryTaskKey(fireTime: fireTime, taskID: taskID) }
}

/// The order of tasks in a category: (fire time, task id); fire time is 0 for immediate tasks.
public struct HistoryTaskKey: Hashable, Sendable, Comparable {
    public var fireTime: Int64
    public var taskID: Int64

    public init(fireTime: Int64 = 0, taskID: Int64) {
        self.fireTime = fireTime
        self.taskID = taskID
    }

    public static func < (a: HistoryTaskKey, b: HistoryTaskKey) -> Bool {
        (a.fireTime, a.taskID) < (b.fireTime, b.taskID)
    }
}

/// How a new run relates to the workflow id's current-run row.
public enum CreateWorkflowMode: Sendable, Equatable {
    /// No current-run row may exist for the workflow id.
    case brandNew
    /// The current run must be `previousRunID` and closed; the new run replaces it (id reuse, or
    /// continue-as-new/retry/cron from within `updateWorkflowExecution`).
    case updateCurrent(previousRunID: String)
    /// Write the run without touching the current-run row (a zombie).
    case bypassCurrent
}

/// One change to a run: its new snapshot (with `dbRecordVersion` already bumped: the write is
/// conditioned on `snapshot.dbRecordVersion - 1`), the tasks it creates and the tasks it completes.
public struct WorkflowMutation: Sendable, Equatable {
    public var snapshot: WorkflowSnapshot
    public var newTasks: [HistoryTask]
    /// Tasks of this shard deleted in the same batch (e.g. the transfer task of a workflow task
    /// that has now started, the timer task that fired).
    public var completedTasks: [(HistoryTaskCategory, HistoryTaskKey)]

    public init(
        snapshot: WorkflowSnapshot, newTasks: [HistoryTask] = [], completedTasks: [(HistoryTaskCategory, HistoryTaskKey)] = []
    ) {
        self.snapshot = snapshot
        self.newTasks = newTasks
        self.completedTasks = completedTasks
    }

    public static func == (a: WorkflowMutation, b: WorkflowMutation) -> Bool {
        a.snapshot == b.snapshot && a.newTasks == b.newTasks
            && a.completedTasks.map { "\($0.0)\($0.1)" } == b.completedTasks.map { "\($0.0)\($0.1)" }
    }
}

/// Writes outside the shard's partition that travel with a workflow change: applied in the same
/// atomic batch as the change if, and only if, the change applies (its conditions hold). The
/// change's events then never exist without the state that references them, nor the state
/// without its events, and the visibility record never lags the run — with one durable write.
/// (Temporal on Cassandra appends history first and tolerates orphan nodes, and keeps visibility
/// behind a task; one store lets the batch carry both.)
public struct AttachedWrites: Sendable, Equatable {
    /// History batches to append (the change's, and a new run's), each to its branch.
    public var historyNodes: [BranchNode]
    /// Visibility records to upsert (the run's, and a new run's).
    public var visibility: [VisibilityRecord]

    public init(historyNodes: [BranchNode] = [], visibility: [VisibilityRecord] = []) {
        self.historyNodes = historyNodes
        self.visibility = visibility
    }

    public static let none = AttachedWrites()
}

/// A history batch and the branch it belongs to.
public struct BranchNode: Sendable, Equatable {
    public var branch: BranchToken
    public var node: HistoryNode

    public init(branch: BranchToken, node: HistoryNode) {
        self.branch = branch
        self.node = node
    }
}

/// A history branch: `treeID` (the first run's id) names the tree, `branchID` one branch of it.
public struct BranchToken: Hashable, Sendable {
    public var treeID: String
    public var branchID: String

    public init(treeID: String, branchID: String) {
        self.treeID = treeID
        self.branchID = branchID
    }
}

/// One appended batch of events. `nodeID` is the batch's first event id, `lastEventID` its last;
/// `events` is opaque (the history service's encoding of the batch).
public struct HistoryNode: Sendable, Equatable {
    public var nodeID: Int64
    public var lastEventID: Int64
    public var txnID: Int64
    public var prevTxnID: Int64
    public var events: [UInt8]

    public init(nodeID: Int64, lastEventID: Int64, txnID: Int64, prevTxnID: Int64, events: [UInt8]) {
        self.nodeID = nodeID
        self.lastEventID = lastEventID
        self.txnID = txnID
        self.prevTxnID = prevTxnID
        self.events = events
    }
}

/// A page of history batches and the token for the next page (nil at the end).
public struct HistoryPage: Sendable, Equatable {
    public var nodes: [HistoryNode]
    public var nextPageToken: [UInt8]?

    public init(nodes: [HistoryNode], nextPageToken: [UInt8]?) {
        self.nodes = nodes
        self.nextPageToken = nextPageToken
    }
}

/// A page of any listing and the token for the next page (nil at the end).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextPageToken: [UInt8]?

    public init(items: [Item], nextPageToken: [UInt8]?) {
        self.items = items
        self.nextPageToken = nextPageToken
    }
}
