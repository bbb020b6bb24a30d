import Synchronization

/// The reference implementation of every persistence protocol: plain dictionaries behind one
/// lock, so each operation is trivially atomic and linearizable. Its order of checks (fence,
/// run version, current-run row, run existence) and its orders of listing are the ones
/// `StorePersistence` must match; the conformance suite and the model test hold both to it.
/// Listing page tokens are offsets into the sorted listing (`u8 1 | u64 offset`): pages of a
/// listing that changes between calls may skip or repeat items (the store's tokens are keys).
public final class InMemoryPersistence: Persistence {
    struct CurrentKey: Hashable {
        var namespaceID: String
        var workflowID: String
    }

    struct Shard {
        var info: ShardInfo
        var runs: [WorkflowKey: WorkflowSnapshot] = [:]
        var current: [CurrentKey: CurrentExecution] = [:]
        var tasks: [HistoryTaskCategory: [HistoryTaskKey: HistoryTask]] = [:]
    }

    struct State {
        var shards: [Int32: Shard] = [:]
        /// tree → branch → node id → txn id → node.
        var nodes: [String: [String: [Int64: [Int64: HistoryNode]]]] = [:]
        /// tree → forked branch → its ancestors.
        var trees: [String: [String: [BranchAncestor]]] = [:]
        var queues: [TaskQueueKey: TaskQueueRecord] = [:]
        var queueTasks: [TaskQueueKey: [Int64: TaskQueueTask]] = [:]
        var namespaces: [String: NamespaceRecord] = [:]
        var clusters: [String: ClusterMetadataRecord] = [:]
        var visibility: [String: [WorkflowKey: VisibilityRecord]] = [:]
    }

    let state = Mutex(State())

    public init() {}

    // MARK: ShardStore

    public func getOrCreateShard(_ shardID: Int32) async throws -> ShardInfo {
        state.withLock { state in
            if let shard = state.shards[shardID] { return shard.info }
            let info = ShardInfo(shardID: shardID, rangeID: 1)
            state.shards[shardID] = Shard(info: info)
            return info
        }
    }

    public func updateShard(_ info: ShardInfo, previousRangeID: Int64) async throws {
        try state.withLock { state in
            guard let current = state.shards[info.shardID]?.info.rangeID, current == previousRangeID else {
                throw PersistenceError.shardOwnershipLost(shardID: info.shardID, currentRangeID: state.shards[info.shardID]?.info.rangeID)
            }
            state.shards[info.shardID]!.info = info
        }
    }

    // MARK: ExecutionStore

    static func fence(_ state: State, _ shardID: Int32, _ rangeID: Int64) throws {
        let current = state.shards[shardID]?.info.rangeID
        guard current == rangeID else { throw PersistenceError.shardOwnershipLost(shardID: shardID, currentRangeID: current) }
    }

    static func currentKey(_ key: WorkflowKey) -> CurrentKey {
        CurrentKey(namespaceID: key.namespaceID, workflowID: key.workflowID)
    }

    public func createWorkflowExecution(
        shardID: Int32, rangeID: Int64, mode: CreateWorkflowMode, snapshot: WorkflowSnapshot, tasks: [HistoryTask],
        attached: AttachedWrites
    ) async throws {
        try checkTaskCount(tasks.count)
        try checkAttached(attached)
        try state.withLock { state in
            try Self.fence(state, shardID, rangeID)
            let key = snapshot.key
            let current = state.shards[shardID]!.current[Self.currentKey(key)]
            try checkCreateMode(mode, key: key, current: current)
            if let existing = state.shards[shardID]!.runs[key] {
                throw PersistenceError.workflowConditionFailed(key: key, currentDBRecordVersion: existing.dbRecordVersion)
            }
            state.shards[shardID]!.runs[key] = snapshot
            if mode != .bypassCurrent {
                state.shards[shardID]!.current[Self.currentKey(key)] = CurrentExecution(runID: key.runID, executionState: snapshot.executionState)
            }
            Self.add(tasks, to: &state.shards[shardID]!)
            Self.apply(attached, to: &state)
        }
    }

    public func updateWorkflowExecution(
        shardID: Int32, rangeID: Int64, mutation: WorkflowMutation, newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])?,
        attached: AttachedWrites
    ) async throws {
        let key = mutation.snapshot.key
        try checkNewRun(newRun?.snapshot.key, of: key)
        try checkTaskCount(mutation.newTasks.count + (newRun?.tasks.count ?? 0))
        try checkAttached(attached)
        try state.withLock { state in
            try Self.fence(state, shardID, rangeID)
            let stored = state.shards[shardID]!.runs[key]
            guard let stored, stored.dbRecordVersion == mutation.snapshot.dbRecordVersion - 1 else {
                throw PersistenceError.workflowConditionFailed(key: key, currentDBRecordVersion: stored?.dbRecordVersion)
            }
            let current = state.shards[shardID]!.current[Self.currentKey(key)]
            if let newRun {
                guard current?.runID == key.runID else {
                    throw PersistenceError.currentWorkflowConditionFailed(namespaceID: key.namespaceID, workflowID: key.workflowID, current: current)
                }
                if let existing = state.shards[shardID]!.runs[newRun.snapshot.key] {
                    throw PersistenceError.workflowConditionFailed(key: newRun.snapshot.key, currentDBRecordVersion: existing.dbRecordVersion)
                }
            }
            state.shards[shardID]!.runs[key] = mutation.snapshot
            if current?.runID == key.runID {
                state.shards[shardID]!.current[Self.currentKey(key)] = CurrentExecution(runID: key.runID, executionState: mutation.snapshot.executionState)
            }
            for (category, taskKey) in mutation.completedTasks { state.shards[shardID]!.tasks[category]?[taskKey] = nil }
            Self.add(mutation.newTasks, to: &state.shards[shardID]!)
            if let newRun {
                state.shards[shardID]!.runs[newRun.snapshot.key] = newRun.snapshot
                state.shards[shardID]!.current[Self.currentKey(key)] = CurrentExecution(
                    runID: newRun.snapshot.key.runID, executionState: newRun.snapshot.executionState)
                Self.add(newRun.tasks, to: &state.shards[shardID]!)
            }
            Self.apply(attached, to: &state)
        }
    }

    static func apply(_ attached: AttachedWrites, to state: inout State) {
        for item in attached.historyNodes { addNode(item.branch, item.node, to: &state) }
        for record in attached.visibility { state.visibility[record.key.namespaceID, default: [:]][record.key] = record }
    }

    static func addNode(_ branch: BranchToken, _ node: HistoryNode, to state: inout State) {
        state.nodes[branch.treeID, default: [:]][branch.branchID, default: [:]][node.nodeID, default: [:]][node.txnID] = node
    }

    public func setWorkflowExecution(shardID: Int32, rangeID: Int64, snapshot: WorkflowSnapshot, tasks: [HistoryTask], makeCurrent: Bool) async throws {
        try checkTaskCount(tasks.count)
        try state.withLock { state in
            try Self.fence(state, shardID, rangeID)
            state.shards[shardID]!.runs[snapshot.key] = snapshot
            if makeCurrent {
                state.shards[shardID]!.current[Self.currentKey(snapshot.key)] = CurrentExecution(
                    runID: snapshot.key.runID, executionState: snapshot.executionState)
            }
            Self.add(tasks, to: &state.shards[shardID]!)
        }
    }

    static func add(_ tasks: [HistoryTask], to shard: inout Shard) {
        for task in tasks { shard.tasks[task.category, default: [:]][task.taskKey] = task }
    }

    public func getWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws -> WorkflowSnapshot {
        guard let run = state.withLock({ $0.shards[shardID]?.runs[key] }) else {
            throw PersistenceError.notFound("workflow execution \(key) in shard \(shardID)")
        }
        return run
    }

    public func getCurrentExecution(shardID: Int32, namespaceID: String, workflowID: String) async throws -> CurrentExecution {
        let key = CurrentKey(namespaceID: namespaceID, workflowID: workflowID)
        guard let current = state.withLock({ $0.shards[shardID]?.current[key] }) else {
            throw PersistenceError.notFound("current execution of \(namespaceID)/\(workflowID) in shard \(shardID)")
        }
        return current
    }

    public func deleteWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws {
        state.withLock { state in
            guard state.shards[shardID] != nil else { return }
            state.shards[shardID]!.runs[key] = nil
            if state.shards[shardID]!.current[Self.currentKey(key)]?.runID == key.runID {
                state.shards[shardID]!.current[Self.currentKey(key)] = nil
            }
        }
    }

    public func listWorkflowExecutions(shardID: Int32, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<WorkflowSnapshot> {
        try checkPageSize(pageSize)
        let runs = state.withLock { Array(($0.shards[shardID]?.runs ?? [:]).values) }
        let sorted = runs.sorted { utf8Less([$0.key.namespaceID, $0.key.workflowID, $0.key.runID], [$1.key.namespaceID, $1.key.workflowID, $1.key.runID]) }
        return try OffsetPageToken.page(sorted, pageSize: pageSize, token: pageToken)
    }

    public func getHistoryTasks(
        shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> Page<HistoryTask> {
        try checkPageSize(pageSize)
        let tasks = state.withLock { state in
            (state.shards[shardID]?.tasks[category] ?? [:]).filter { $0.key >= min && $0.key < max }
        }
        return try OffsetPageToken.page(tasks.sorted { $0.key < $1.key }.map(\.value), pageSize: pageSize, token: pageToken)
    }

    public func completeHistoryTask(shardID: Int32, category: HistoryTaskCategory, key: HistoryTaskKey) async throws {
        state.withLock { state in
            if state.shards[shardID] != nil { state.shards[shardID]!.tasks[category]?[key] = nil }
        }
    }

    public func rangeCompleteHistoryTasks(shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey) async throws {
        state.withLock { state in
            guard state.shards[shardID] != nil else { return }
            let kept = state.shards[shardID]!.tasks[category]?.filter { !($0.key >= min && $0.key < max) }
            state.shards[shardID]!.tasks[category] = kept
        }
    }

    // MARK: HistoryStore

    public func appendHistoryNode(branch: BranchToken, node: HistoryNode) async throws {
        try checkNode(node)
        state.withLock { state in Self.addNode(branch, node, to: &state) }
    }

    public func readHistoryBranch(
        branch: BranchToken, minEventID: Int64, maxEventID: Int64, lastTxnID: Int64, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> HistoryPage {
        try checkPageSize(pageSize, max: PersistenceLimits.maxHistoryPageNodes)
        let token = try pageToken.map { try HistoryPageToken(decoding: $0) }
        let (tree, ancestors) = state.withLock { ($0.nodes[branch.treeID] ?? [:], $0.trees[branch.treeID]?[branch.branchID] ?? []) }
        var chain = HistoryChain(lastTxnID: lastTxnID, previous: token?.previous)
        var out: [HistoryNode] = []
        let start = Swift.max(minEventID, token?.nextNodeID ?? minEventID)
        segments: for segment in branchSegments(branchID: branch.branchID, ancestors: ancestors) {
            let low = Swift.max(start, segment.begin)
            let high = Swift.min(maxEventID, segment.end)
            guard low < high, let nodes = tree[segment.branchID] else { continue }
            for nodeID in nodes.keys.filter({ $0 >= low && $0 < high }).sorted() {
                for (_, node) in nodes[nodeID]!.sorted(by: { $0.key > $1.key }) where chain.offer(node) {
                    out.append(node)
                }
                if out.count == pageSize { break segments }
            }
        }
        return try historyPage(out, pageSize: pageSize, chain: chain, firstPage: pageToken == nil, minEventID: minEventID, branch: branch)
    }

    public func forkHistoryBranch(from branch: BranchToken, forkNodeID: Int64, newBranchID: String, lastTxnID: Int64) async throws -> BranchToken {
        try checkFork(branch, forkNodeID: forkNodeID, newBranchID: newBranchID)
        return try state.withLock { state in
            if state.trees[branch.treeID]?[newBranchID] != nil {
                throw PersistenceError.alreadyExists("history branch \(branch.treeID)/\(newBranchID)")
            }
            let ancestors = state.trees[branch.treeID]?[branch.branchID] ?? []
            state.trees[branch.treeID, default: [:]][newBranchID] = forkedAncestors(from: branch.branchID, ancestors: ancestors, forkNodeID: forkNodeID)
            return BranchToken(treeID: branch.treeID, branchID: newBranchID)
        }
    }

    public func deleteHistoryBranch(_ branch: BranchToken) async throws {
        state.withLock { state in
            let others = (state.trees[branch.treeID] ?? [:]).filter { $0.key != branch.branchID }.map(\.value)
            let keepBelow = sharedEnd(of: branch.branchID, amongAncestorsOf: others)
            let kept = state.nodes[branch.treeID]?[branch.branchID]?.filter { $0.key < keepBelow }
            state.nodes[branch.treeID]?[branch.branchID] = kept
            state.trees[branch.treeID]?[branch.branchID] = nil
        }
    }

    // MARK: TaskQueueStore

    public func leaseTaskQueue(_ key: TaskQueueKey) async throws -> TaskQueueRecord {
        state.withLock { state in
            var record = state.queues[key] ?? TaskQueueRecord(key: key, rangeID: 0)
            record.rangeID += 1
            state.queues[key] = record
            return record
        }
    }

    public func updateTaskQueue(_ record: TaskQueueRecord) async throws {
        try state.withLock { state in
            guard let stored = state.queues[record.key], stored.rangeID == record.rangeID else {
                throw taskQueueConditionFailed(record.key, expected: record.rangeID, current: state.queues[record.key]?.rangeID)
            }
            state.queues[record.key] = record
        }
    }

    public func listTaskQueues(namespaceID: String?, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<TaskQueueRecord> {
        try checkPageSize(pageSize)
        let queues = state.withLock { Array($0.queues.values) }.filter { namespaceID == nil || $0.key.namespaceID == namespaceID }
        return try OffsetPageToken.page(queues.sorted { taskQueueLess($0.key, $1.key) }, pageSize: pageSize, token: pageToken)
    }

    public func deleteTaskQueue(_ key: TaskQueueKey, rangeID: Int64) async throws {
        try state.withLock { state in
            guard let stored = state.queues[key], stored.rangeID == rangeID else {
                throw taskQueueConditionFailed(key, expected: rangeID, current: state.queues[key]?.rangeID)
            }
            state.queues[key] = nil
            state.queueTasks[key] = nil
        }
    }

    public func createTasks(_ key: TaskQueueKey, rangeID: Int64, tasks: [TaskQueueTask]) async throws {
        try checkTaskCount(tasks.count)
        try state.withLock { state in
            guard let stored = state.queues[key], stored.rangeID == rangeID else {
                throw taskQueueConditionFailed(key, expected: rangeID, current: state.queues[key]?.rangeID)
            }
            for task in tasks { state.queueTasks[key, default: [:]][task.taskID] = task }
        }
    }

    public func getTasks(_ key: TaskQueueKey, minTaskID: Int64, maxTaskID: Int64, limit: Int) async throws -> [TaskQueueTask] {
        try checkPageSize(limit, max: PersistenceLimits.maxTaskQueueReadTasks)
        let tasks = state.withLock { $0.queueTasks[key] ?? [:] }
        return Array(tasks.filter { $0.key > minTaskID && $0.key <= maxTaskID }.sorted { $0.key < $1.key }.prefix(limit).map(\.value))
    }

    public func completeTasks(_ key: TaskQueueKey, upToTaskID maxTaskID: Int64) async throws {
        state.withLock { state in
            let kept = state.queueTasks[key]?.filter { $0.key > maxTaskID }
            state.queueTasks[key] = kept
        }
    }

    // MARK: MetadataStore

    public func createNamespace(_ record: NamespaceRecord) async throws {
        try state.withLock { state in
            if state.namespaces.values.contains(where: { $0.name == record.name }) {
                throw PersistenceError.alreadyExists("namespace name \(record.name)")
            }
            if state.namespaces[record.id] != nil { throw PersistenceError.alreadyExists("namespace id \(record.id)") }
            state.namespaces[record.id] = record
        }
    }

    public func getNamespace(id: String) async throws -> NamespaceRecord {
        guard let record = state.withLock({ $0.namespaces[id] }) else { throw PersistenceError.notFound("namespace id \(id)") }
        return record
    }

    public func getNamespace(name: String) async throws -> NamespaceRecord {
        guard let record = state.withLock({ $0.namespaces.values.first { $0.name == name } }) else {
            throw PersistenceError.notFound("namespace name \(name)")
        }
        return record
    }

    public func listNamespaces(pageSize: Int, pageToken: [UInt8]?) async throws -> Page<NamespaceRecord> {
        try checkPageSize(pageSize)
        let all = state.withLock { Array($0.namespaces.values) }
        return try OffsetPageToken.page(all.sorted { utf8Less($0.name, $1.name) }, pageSize: pageSize, token: pageToken)
    }

    public func updateNamespace(_ record: NamespaceRecord) async throws {
        try state.withLock { state in
            guard let stored = state.namespaces[record.id] else { throw PersistenceError.notFound("namespace id \(record.id)") }
            try checkNamespaceUpdate(record, stored: stored)
            state.namespaces[record.id] = record
        }
    }

    public func deleteNamespace(id: String) async throws {
        state.withLock { _ = $0.namespaces.removeValue(forKey: id) }
    }

    public func getClusterMetadata(clusterName: String) async throws -> ClusterMetadataRecord? {
        state.withLock { $0.clusters[clusterName] }
    }

    public func saveClusterMetadata(_ record: ClusterMetadataRecord) async throws {
        try state.withLock { state in
            try checkClusterMetadataSave(record, storedVersion: state.clusters[record.clusterName]?.version)
            state.clusters[record.clusterName] = record
        }
    }

    // MARK: VisibilityStore

    public func upsertVisibilityRecord(_ record: VisibilityRecord) async throws {
        state.withLock { $0.visibility[record.key.namespaceID, default: [:]][record.key] = record }
    }

    public func deleteVisibilityRecord(_ key: WorkflowKey) async throws {
        state.withLock { _ = $0.visibility[key.namespaceID]?.removeValue(forKey: key) }
    }

    public func listVisibilityRecords(namespaceID: String, query: VisibilityQuery, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<VisibilityRecord> {
        try checkPageSize(pageSize)
        let all = state.withLock { Array(($0.visibility[namespaceID] ?? [:]).values) }
        return try OffsetPageToken.page(all.filter { query.matches($0) }.sorted(by: visibilityLess), pageSize: pageSize, token: pageToken)
    }

    public func countVisibilityRecords(namespaceID: String, query: VisibilityQuery) async throws -> Int64 {
        let all = state.withLock { Array(($0.visibility[namespaceID] ?? [:]).values) }
        return Int64(all.filter { query.matches($0) }.count)
    }

    public func getVisibilityRecord(_ key: WorkflowKey) async throws -> VisibilityRecord {
        guard let record = state.withLock({ $0.visibility[key.namespaceID]?[key] }) else {
            throw PersistenceError.notFound("visibility record \(key)")
        }
        return record
    }
}
