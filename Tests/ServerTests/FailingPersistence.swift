import Persistence
import Synchronization

/// A persistence that forwards to another and fails chosen operations a given number of times,
/// for tests of what the history service does when the database fails (retries, backoff), and
/// counts the calls of each operation. One forwarding method per requirement of `Persistence`,
/// each checking for an injected failure.
final class FailingPersistence: Persistence {
    struct InjectedFailure: Error, CustomStringConvertible {
        let operation: String
        var description: String { "injected failure of \(operation)" }
    }

    let base: any Persistence
    private let failures = Mutex<[String: Int]>([:])
    private let counts = Mutex<[String: Int]>([:])

    init(_ base: any Persistence) {
        self.base = base
    }

    /// The next `times` calls of `operation` (a method name, e.g. "createWorkflowExecution") fail.
    func fail(_ operation: String, times: Int) {
        failures.withLock { $0[operation] = times }
    }

    /// How many injected failures of `operation` are still to come.
    func remaining(_ operation: String) -> Int { failures.withLock { $0[operation] ?? 0 } }

    /// How many times `operation` has been called (failed calls included).
    func calls(_ operation: String) -> Int { counts.withLock { $0[operation] ?? 0 } }

    private func check(_ operation: String) throws {
        counts.withLock { $0[operation, default: 0] += 1 }
        let fail = failures.withLock { f -> Bool in
            guard let n = f[operation], n > 0 else { return false }
            f[operation] = n - 1
            return true
        }
        if fail { throw InjectedFailure(operation: operation) }
    }

    func getOrCreateShard(_ shardID: Int32) async throws -> ShardInfo {
        try check("getOrCreateShard")
        return try await base.getOrCreateShard(shardID)
    }

    func updateShard(_ info: ShardInfo, previousRangeID: Int64) async throws {
        try check("updateShard")
        try await base.updateShard(info, previousRangeID: previousRangeID)
    }

    func createWorkflowExecution(shardID: Int32, rangeID: Int64, mode: CreateWorkflowMode, snapshot: WorkflowSnapshot, tasks: [HistoryTask], attached: AttachedWrites) async throws {
        try check("createWorkflowExecution")
        try await base.createWorkflowExecution(shardID: shardID, rangeID: rangeID, mode: mode, snapshot: snapshot, tasks: tasks, attached: attached)
    }

    func updateWorkflowExecution(shardID: Int32, rangeID: Int64, mutation: WorkflowMutation, newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])?, attached: AttachedWrites) async throws {
        try check("updateWorkflowExecution")
        try await base.updateWorkflowExecution(shardID: shardID, rangeID: rangeID, mutation: mutation, newRun: newRun, attached: attached)
    }

    func setWorkflowExecution(shardID: Int32, rangeID: Int64, snapshot: WorkflowSnapshot, tasks: [HistoryTask], makeCurrent: Bool) async throws {
        try check("setWorkflowExecution")
        try await base.setWorkflowExecution(shardID: shardID, rangeID: rangeID, snapshot: snapshot, tasks: tasks, makeCurrent: makeCurrent)
    }

    func getWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws -> WorkflowSnapshot {
        try check("getWorkflowExecution")
        return try await base.getWorkflowExecution(shardID: shardID, key: key)
    }

    func getCurrentExecution(shardID: Int32, namespaceID: String, workflowID: String) async throws -> CurrentExecution {
        try check("getCurrentExecution")
        return try await base.getCurrentExecution(shardID: shardID, namespaceID: namespaceID, workflowID: workflowID)
    }

    func deleteWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws {
        try check("deleteWorkflowExecution")
        try await base.deleteWorkflowExecution(shardID: shardID, key: key)
    }

    func listWorkflowExecutions(shardID: Int32, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<WorkflowSnapshot> {
        try check("listWorkflowExecutions")
        return try await base.listWorkflowExecutions(shardID: shardID, pageSize: pageSize, pageToken: pageToken)
    }

    func getHistoryTasks(shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<HistoryTask> {
        try check("getHistoryTasks")
        return try await base.getHistoryTasks(shardID: shardID, category: category, min: min, max: max, pageSize: pageSize, pageToken: pageToken)
    }

    func completeHistoryTask(shardID: Int32, category: HistoryTaskCategory, key: HistoryTaskKey) async throws {
        try check("completeHistoryTask")
        try await base.completeHistoryTask(shardID: shardID, category: category, key: key)
    }

    func rangeCompleteHistoryTasks(shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey) async throws {
        try check("rangeCompleteHistoryTasks")
        try await base.rangeCompleteHistoryTasks(shardID: shardID, category: category, min: min, max: max)
    }

    func appendHistoryNode(branch: BranchToken, node: HistoryNode) async throws {
        try check("appendHistoryNode")
        try await base.appendHistoryNode(branch: branch, node: node)
    }

    func readHistoryBranch(branch: BranchToken, minEventID: Int64, maxEventID: Int64, lastTxnID: Int64, pageSize: Int, pageToken: [UInt8]?) async throws -> HistoryPage {
        try check("readHistoryBranch")
        return try await base.readHistoryBranch(branch: branch, minEventID: minEventID, maxEventID: maxEventID, lastTxnID: lastTxnID, pageSize: pageSize, pageToken: pageToken)
    }

    func forkHistoryBranch(from branch: BranchToken, forkNodeID: Int64, newBranchID: String, lastTxnID: Int64) async throws -> BranchToken {
        try check("forkHistoryBranch")
        return try await base.forkHistoryBranch(from: branch, forkNodeID: forkNodeID, newBranchID: newBranchID, lastTxnID: lastTxnID)
    }

    func deleteHistoryBranch(_ branch: BranchToken) async throws {
        try check("deleteHistoryBranch")
        try await base.deleteHistoryBranch(branch)
    }

    func leaseTaskQueue(_ key: TaskQueueKey) async throws -> TaskQueueRecord {
        try check("leaseTaskQueue")
        return try await base.leaseTaskQueue(key)
    }

    func updateTaskQueue(_ record: TaskQueueRecord) async throws {
        try check("updateTaskQueue")
        try await base.updateTaskQueue(record)
    }

    func listTaskQueues(namespaceID: String?, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<TaskQueueRecord> {
        try check("listTaskQueues")
        return try await base.listTaskQueues(namespaceID: namespaceID, pageSize: pageSize, pageToken: pageToken)
    }

    func deleteTaskQueue(_ key: TaskQueueKey, rangeID: Int64) async throws {
        try check("deleteTaskQueue")
        try await base.deleteTaskQueue(key, rangeID: rangeID)
    }

    func createTasks(_ key: TaskQueueKey, rangeID: Int64, tasks: [TaskQueueTask]) async throws {
        try check("createTasks")
        try await base.createTasks(key, rangeID: rangeID, tasks: tasks)
    }

    func getTasks(_ key: TaskQueueKey, minTaskID: Int64, maxTaskID: Int64, limit: Int) async throws -> [TaskQueueTask] {
        try check("getTasks")
        return try await base.getTasks(key, minTaskID: minTaskID, maxTaskID: maxTaskID, limit: limit)
    }

    func completeTasks(_ key: TaskQueueKey, upToTaskID maxTaskID: Int64) async throws {
        try check("completeTasks")
        try await base.completeTasks(key, upToTaskID: maxTaskID)
    }

    func createNamespace(_ record: NamespaceRecord) async throws {
        try check("createNamespace")
        try await base.createNamespace(record)
    }

    func getNamespace(id: String) async throws -> NamespaceRecord {
        try check("getNamespace")
        return try await base.getNamespace(id: id)
    }

    func getNamespace(name: String) async throws -> NamespaceRecord {
        try check("getNamespace")
        return try await base.getNamespace(name: name)
    }

    func listNamespaces(pageSize: Int, pageToken: [UInt8]?) async throws -> Page<NamespaceRecord> {
        try check("listNamespaces")
        return try await base.listNamespaces(pageSize: pageSize, pageToken: pageToken)
    }

    func updateNamespace(_ record: NamespaceRecord) async throws {
        try check("updateNamespace")
        try await base.updateNamespace(record)
    }

    func deleteNamespace(id: String) async throws {
        try check("deleteNamespace")
        try await base.deleteNamespace(id: id)
    }

    func getClusterMetadata(clusterName: String) async throws -> ClusterMetadataRecord? {
        try check("getClusterMetadata")
        return try await base.getClusterMetadata(clusterName: clusterName)
    }

    func saveClusterMetadata(_ record: ClusterMetadataRecord) async throws {
        try check("saveClusterMetadata")
        try await base.saveClusterMetadata(record)
    }

    func upsertVisibilityRecord(_ record: VisibilityRecord) async throws {
        try check("upsertVisibilityRecord")
        try await base.upsertVisibilityRecord(record)
    }

    func deleteVisibilityRecord(_ key: WorkflowKey) async throws {
        try check("deleteVisibilityRecord")
        try await base.deleteVisibilityRecord(key)
    }

    func listVisibilityRecords(namespaceID: String, query: VisibilityQuery, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<VisibilityRecord> {
        try check("listVisibilityRecords")
        return try await base.listVisibilityRecords(namespaceID: namespaceID, query: query, pageSize: pageSize, pageToken: pageToken)
    }

    func countVisibilityRecords(namespaceID: String, query: VisibilityQuery) async throws -> Int64 {
        try check("countVisibilityRecords")
        return try await base.countVisibilityRecords(namespaceID: namespaceID, query: query)
    }

    func getVisibilityRecord(_ key: WorkflowKey) async throws -> VisibilityRecord {
        try check("getVisibilityRecord")
        return try await base.getVisibilityRecord(key)
    }
}
