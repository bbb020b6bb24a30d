/// The persistence interfaces the services use, shaped like Temporal's (ShardManager,
/// ExecutionManager, HistoryBranch, TaskManager, MetadataManager, VisibilityManager). Two
/// implementations answer the same conformance suite: `InMemoryPersistence` (the reference) and
/// `StorePersistence` (tables on the store, docs/data-model.md).

public protocol ShardStore: Sendable {
    /// The shard's row, created with `rangeID` 1 if absent.
    func getOrCreateShard(_ shardID: Int32) async throws -> ShardInfo
    /// Replaces the shard row if its `rangeID` is still `previousRangeID` (acquire: bump it;
    /// update: keep it). Throws `shardOwnershipLost` otherwise.
    func updateShard(_ info: ShardInfo, previousRangeID: Int64) async throws
}

public protocol ExecutionStore: Sendable {
    /// Writes a new run (snapshot + its tasks) fenced by the shard's `rangeID`, and sets or
    /// replaces the workflow id's current-run row as `mode` says. Throws `shardOwnershipLost`,
    /// `currentWorkflowConditionFailed` (with the current run) or `workflowConditionFailed` (the
    /// run id exists).
    /// `attached` is applied with the new run, in the same atomic batch, only if it is created.
    func createWorkflowExecution(
        shardID: Int32, rangeID: Int64, mode: CreateWorkflowMode, snapshot: WorkflowSnapshot, tasks: [HistoryTask],
        attached: AttachedWrites
    ) async throws

    /// Applies a change to an existing run, fenced by `rangeID` and conditioned on the run's
    /// `dbRecordVersion` being `mutation.snapshot.dbRecordVersion - 1`; updates the current-run
    /// row's state/status when the run is current. With `newRun` (continue-as-new, retry, cron)
    /// also creates that run in the same batch and makes it current (the mutation's run must be
    /// current). Throws `shardOwnershipLost` or `workflowConditionFailed` (also for a `newRun`
    /// whose run id exists), and `currentWorkflowConditionFailed` (with the current run) when
    /// `newRun` is given but the mutation's run is not current.
    /// `attached` is applied with the change, in the same atomic batch, only if it applies.
    func updateWorkflowExecution(
        shardID: Int32, rangeID: Int64, mutation: WorkflowMutation, newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])?,
        attached: AttachedWrites
    ) async throws

    /// Overwrites a run whatever its version (reset / conflict resolution), fenced by `rangeID`,
    /// optionally making it the current run (without `makeCurrent` the current-run row is left
    /// as it is). Throws `shardOwnershipLost`.
    func setWorkflowExecution(shardID: Int32, rangeID: Int64, snapshot: WorkflowSnapshot, tasks: [HistoryTask], makeCurrent: Bool) async throws

    /// Throws `notFound`.
    func getWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws -> WorkflowSnapshot
    /// Throws `notFound`.
    func getCurrentExecution(shardID: Int32, namespaceID: String, workflowID: String) async throws -> CurrentExecution
    /// Deletes the run's row, and the current-run row if it still points at this run. Not fenced;
    /// deleting an absent run is not an error.
    func deleteWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws
    /// Every run of the shard, in key order (startup scans, tooling).
    func listWorkflowExecutions(shardID: Int32, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<WorkflowSnapshot>

    /// Tasks of one category with `min <= key < max`, in key order.
    func getHistoryTasks(
        shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> Page<HistoryTask>
    func completeHistoryTask(shardID: Int32, category: HistoryTaskCategory, key: HistoryTaskKey) async throws
    /// Deletes every task of the category with `min <= key < max`.
    func rangeCompleteHistoryTasks(shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey) async throws
}

public protocol HistoryStore: Sendable {
    /// Appends one batch to the branch (unconditional; a batch whose transaction then fails to
    /// commit its state stays invisible: reads take, per node id, the node with the highest txn id
    /// not above the reader's `lastTxnID`, whose `prevTxnID` chains to the previous node read).
    func appendHistoryNode(branch: BranchToken, node: HistoryNode) async throws
    /// Batches with `minEventID <= nodeID < maxEventID` valid as of `lastTxnID`, in order, at most
    /// `pageSize` batches per page. Throws `notFound` for a branch with no nodes in range when
    /// `minEventID` is 1.
    func readHistoryBranch(
        branch: BranchToken, minEventID: Int64, maxEventID: Int64, lastTxnID: Int64, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> HistoryPage
    /// A new branch of the same tree that shares the nodes below `forkNodeID` (for reset).
    func forkHistoryBranch(from branch: BranchToken, forkNodeID: Int64, newBranchID: String, lastTxnID: Int64) async throws -> BranchToken
    /// Deletes the branch's own nodes (nodes shared with other branches stay).
    func deleteHistoryBranch(_ branch: BranchToken) async throws
}

public protocol TaskQueueStore: Sendable {
    /// Takes the lease: creates the row with rangeID 1, or bumps an existing row's rangeID.
    func leaseTaskQueue(_ key: TaskQueueKey) async throws -> TaskQueueRecord
    /// Replaces the row if its rangeID is still `record.rangeID`; else `conditionFailed`.
    func updateTaskQueue(_ record: TaskQueueRecord) async throws
    func listTaskQueues(namespaceID: String?, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<TaskQueueRecord>
    func deleteTaskQueue(_ key: TaskQueueKey, rangeID: Int64) async throws
    /// Adds tasks if the queue's rangeID is still `rangeID`; else `conditionFailed`.
    func createTasks(_ key: TaskQueueKey, rangeID: Int64, tasks: [TaskQueueTask]) async throws
    /// Tasks with `minTaskID < taskID <= maxTaskID`, in order, at most `limit`.
    func getTasks(_ key: TaskQueueKey, minTaskID: Int64, maxTaskID: Int64, limit: Int) async throws -> [TaskQueueTask]
    /// Deletes tasks with taskID <= `maxTaskID`.
    func completeTasks(_ key: TaskQueueKey, upToTaskID maxTaskID: Int64) async throws
}

public protocol MetadataStore: Sendable {
    /// Throws `alreadyExists` if the name (or the id) is taken.
    func createNamespace(_ record: NamespaceRecord) async throws
    /// Throws `notFound`.
    func getNamespace(id: String) async throws -> NamespaceRecord
    /// Throws `notFound`.
    func getNamespace(name: String) async throws -> NamespaceRecord
    func listNamespaces(pageSize: Int, pageToken: [UInt8]?) async throws -> Page<NamespaceRecord>
    /// Replaces the record if its stored notificationVersion is `record.notificationVersion - 1`;
    /// else `conditionFailed`. The name cannot change.
    func updateNamespace(_ record: NamespaceRecord) async throws
    func deleteNamespace(id: String) async throws

    /// nil when never saved.
    func getClusterMetadata(clusterName: String) async throws -> ClusterMetadataRecord?
    /// Saves if the stored version is `record.version - 1` (or absent and `record.version` is 1);
    /// else `conditionFailed`.
    func saveClusterMetadata(_ record: ClusterMetadataRecord) async throws
}

public protocol VisibilityStore: Sendable {
    /// Inserts or replaces the run's record (start, upsert, close all write the whole record).
    func upsertVisibilityRecord(_ record: VisibilityRecord) async throws
    func deleteVisibilityRecord(_ key: WorkflowKey) async throws
    /// Records of the namespace matching `query`, newest start time first (ties by run id),
    /// at most `pageSize` per page.
    func listVisibilityRecords(namespaceID: String, query: VisibilityQuery, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<VisibilityRecord>
    func countVisibilityRecords(namespaceID: String, query: VisibilityQuery) async throws -> Int64
    /// Throws `notFound`.
    func getVisibilityRecord(_ key: WorkflowKey) async throws -> VisibilityRecord
}

extension ExecutionStore {
    /// A create with nothing attached.
    public func createWorkflowExecution(
        shardID: Int32, rangeID: Int64, mode: CreateWorkflowMode, snapshot: WorkflowSnapshot, tasks: [HistoryTask]
    ) async throws {
        try await createWorkflowExecution(shardID: shardID, rangeID: rangeID, mode: mode, snapshot: snapshot, tasks: tasks, attached: .none)
    }

    /// An update with nothing attached.
    public func updateWorkflowExecution(
        shardID: Int32, rangeID: Int64, mutation: WorkflowMutation, newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])?
    ) async throws {
        try await updateWorkflowExecution(shardID: shardID, rangeID: rangeID, mutation: mutation, newRun: newRun, attached: .none)
    }
}

/// Everything the services need, in one value.
public typealias Persistence = ShardStore & ExecutionStore & HistoryStore & TaskQueueStore & MetadataStore & VisibilityStore
