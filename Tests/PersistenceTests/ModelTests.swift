import Persistence
import StorageEngine
import StorageTesting
import Testing

/// Seeded random operations against `StorePersistence` (on the in-memory file system, with clean
/// reopens and crash clones in between) and `InMemoryPersistence`: every result and every error
/// must be the same. The seed is printed; `ANNALS_TEST_SEED` replays it.
struct ModelMismatch: Error, CustomStringConvertible {
    var description: String
}

/// Runs the operation on both and compares the outcomes (value or error).
func same<T: Equatable>(_ what: String, _ a: () async throws -> T, _ b: () async throws -> T) async throws {
    let x: Result<T, PersistenceError>
    let y: Result<T, PersistenceError>
    do { x = .success(try await a()) } catch let e as PersistenceError { x = .failure(e) }
    do { y = .success(try await b()) } catch let e as PersistenceError { y = .failure(e) }
    #expect(x == y, "\(what)")
    if x != y { throw ModelMismatch(description: "\(what): store \(x) vs reference \(y)") }
}

func same(_ what: String, _ a: () async throws -> Void, _ b: () async throws -> Void) async throws {
    try await same(what, { try await a(); return true }, { try await b(); return true })
}

@Suite("Persistence model")
struct ModelTests {
    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    @Test func storeMatchesTheReference() async throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x9E75)
        print("Persistence ModelTests seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        var fs = MemFileSystem()
        // Tiny memtables: the test goes through flushes, index files and compactions.
        let options = StoreOptions(memtableBytes: 4 << 10, compactionTrigger: 3)
        var store = try StorePersistence.open(directory: memStoreDirectory, fileSystem: fs, options: options)
        var flushes = 0
        let model = InMemoryPersistence()
        var ranges: [Int32: Int64] = [:]
        var txn: Int64 = 0
        func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        let statuses = WorkflowStatus.allCases
        let queries = [
            "", "ExecutionStatus = 'Running'", "WorkflowType = 'A' OR HistoryLength > 3", "NOT (WorkflowId IN ('w0', 'w1'))",
            "StartTime >= '1970-01-01T00:00:00.000000050Z' AND CloseTime IS NULL", "Tag = 'x' AND WorkflowId STARTS_WITH 'w'",
        ].map { try! VisibilityQuery.parse($0) }

        for step in 0..<700 {
            let s = store
            let shard = Int32(rng.next() % 2)
            let key = wfKey("w\(rng.next() % 3)", "r\(rng.next() % 3)")
            let range = rng.next() % 8 == 0 ? Int64(rng.next() % 3) : (ranges[shard] ?? 1)
            let what = "seed \(seed) step \(step)"
            switch rng.next() % 16 {
            case 0:
                try await same("\(what) getOrCreateShard", { try await s.getOrCreateShard(shard) }, { try await model.getOrCreateShard(shard) })
                ranges[shard] = try await model.getOrCreateShard(shard).rangeID
            case 1:
                let previous = ranges[shard] ?? 1
                let info = ShardInfo(shardID: shard, rangeID: previous + 1, data: rng.bytes(count: 3))
                let stalePrevious = rng.next() % 5 == 0 ? previous - 1 : previous
                try await same("\(what) updateShard", { try await s.updateShard(info, previousRangeID: stalePrevious) }, { try await model.updateShard(info, previousRangeID: stalePrevious) })
                if ranges[shard] != nil { ranges[shard] = try await model.getOrCreateShard(shard).rangeID }
            case 2, 3:
                let mode: CreateWorkflowMode = pick([.brandNew, .brandNew, .updateCurrent(previousRunID: "r\(rng.next() % 3)"), .bypassCurrent])
                let snap = snapshot(key, version: 1, status: pick(statuses), startTime: Int64(rng.next() % 100), blob: rng.bytes(count: 4))
                let tasks = [transferTask(key, Int64(rng.next() % 50)), timerTask(key, Int64(rng.next() % 50), fireTime: Int64(rng.next() % 20))]
                try await same("\(what) create \(key) \(mode)", {
                    try await s.createWorkflowExecution(shardID: shard, rangeID: range, mode: mode, snapshot: snap, tasks: tasks)
                }, { try await model.createWorkflowExecution(shardID: shard, rangeID: range, mode: mode, snapshot: snap, tasks: tasks) })
            case 4, 5:
                let stored = try? await model.getWorkflowExecution(shardID: shard, key: key)
                let version = rng.next() % 6 == 0 ? Int64(rng.next() % 4) : (stored?.dbRecordVersion ?? 0) + 1
                let state: WorkflowState = pick([.running, .completed])
                let snap = snapshot(key, version: version, state: state, status: state == .running ? .running : pick(statuses), blob: rng.bytes(count: 2))
                let completed: [(HistoryTaskCategory, HistoryTaskKey)] = [(.transfer, HistoryTaskKey(taskID: Int64(rng.next() % 50)))]
                let mutation = WorkflowMutation(snapshot: snap, newTasks: [transferTask(key, Int64(rng.next() % 50))], completedTasks: completed)
                let newRun = rng.next() % 4 == 0 ? (snapshot(wfKey(key.workflowID, "r\(rng.next() % 3)")), [transferTask(key, 99)]) : nil
                try await same("\(what) update \(key)", {
                    try await s.updateWorkflowExecution(shardID: shard, rangeID: range, mutation: mutation, newRun: newRun)
                }, { try await model.updateWorkflowExecution(shardID: shard, rangeID: range, mutation: mutation, newRun: newRun) })
            case 6:
                let snap = snapshot(key, version: Int64(rng.next() % 9), state: .zombie)
                let makeCurrent = rng.next() % 2 == 0
                try await same("\(what) set \(key)", {
                    try await s.setWorkflowExecution(shardID: shard, rangeID: range, snapshot: snap, tasks: [], makeCurrent: makeCurrent)
                }, { try await model.setWorkflowExecution(shardID: shard, rangeID: range, snapshot: snap, tasks: [], makeCurrent: makeCurrent) })
            case 7:
                if rng.next() % 3 == 0 {
                    try await same("\(what) delete \(key)", { try await s.deleteWorkflowExecution(shardID: shard, key: key) }, { try await model.deleteWorkflowExecution(shardID: shard, key: key) })
                } else {
                    let low = HistoryTaskKey(fireTime: Int64(rng.next() % 20), taskID: Int64(rng.next() % 50))
                    let high = HistoryTaskKey(fireTime: low.fireTime + Int64(rng.next() % 5), taskID: Int64(rng.next() % 50))
                    let category = pick(HistoryTaskCategory.allCases)
                    try await same("\(what) range complete", {
                        try await s.rangeCompleteHistoryTasks(shardID: shard, category: category, min: low, max: high)
                    }, { try await model.rangeCompleteHistoryTasks(shardID: shard, category: category, min: low, max: high) })
                }
            case 8:
                try await same("\(what) get \(key)", { try await s.getWorkflowExecution(shardID: shard, key: key) }, { try await model.getWorkflowExecution(shardID: shard, key: key) })
                try await same("\(what) current \(key)", {
                    try await s.getCurrentExecution(shardID: shard, namespaceID: ns, workflowID: key.workflowID)
                }, { try await model.getCurrentExecution(shardID: shard, namespaceID: ns, workflowID: key.workflowID) })
                let size = 1 + Int(rng.next() % 4)
                try await same("\(what) list runs", {
                    try await collect(pageSize: size) { try await s.listWorkflowExecutions(shardID: shard, pageSize: $0, pageToken: $1) }
                }, { try await collect(pageSize: size) { try await model.listWorkflowExecutions(shardID: shard, pageSize: $0, pageToken: $1) } })
                for category in HistoryTaskCategory.allCases {
                    try await same("\(what) tasks \(category)", {
                        try await collect(pageSize: size) {
                            try await s.getHistoryTasks(shardID: shard, category: category, min: HistoryTaskKey(fireTime: .min, taskID: .min), max: HistoryTaskKey(fireTime: .max, taskID: .max), pageSize: $0, pageToken: $1)
                        }
                    }, {
                        try await collect(pageSize: size) {
                            try await model.getHistoryTasks(shardID: shard, category: category, min: HistoryTaskKey(fireTime: .min, taskID: .min), max: HistoryTaskKey(fireTime: .max, taskID: .max), pageSize: $0, pageToken: $1)
                        }
                    })
                }
            case 9, 10:
                let branch = BranchToken(treeID: "t\(rng.next() % 2)", branchID: pick(["b0", "b1", "b2"]))
                if rng.next() % 3 != 0 {
                    txn += 1
                    let first = 1 + Int64(rng.next() % 12)
                    let n = node(first, first + Int64(rng.next() % 3), txn: rng.next() % 5 == 0 ? txn - Int64(rng.next() % 3) : txn, prev: Int64(rng.next() % UInt64(txn)))
                    try await same("\(what) append", { try await s.appendHistoryNode(branch: branch, node: n) }, { try await model.appendHistoryNode(branch: branch, node: n) })
                } else if rng.next() % 2 == 0 {
                    let fork = Int64(1 + rng.next() % 10)
                    let newBranch = pick(["b0", "b1", "b2", "b3"])
                    try await same("\(what) fork", {
                        try await s.forkHistoryBranch(from: branch, forkNodeID: fork, newBranchID: newBranch, lastTxnID: txn)
                    }, { try await model.forkHistoryBranch(from: branch, forkNodeID: fork, newBranchID: newBranch, lastTxnID: txn) })
                } else {
                    try await same("\(what) delete branch", { try await s.deleteHistoryBranch(branch) }, { try await model.deleteHistoryBranch(branch) })
                }
                let low = 1 + Int64(rng.next() % 3)
                let high = low + Int64(rng.next() % 14)
                let last = Int64(rng.next() % UInt64(txn + 2))
                let size = 1 + Int(rng.next() % 4)
                try await same("\(what) read branch", {
                    try await readAll(s, branch, min: low, max: high, lastTxnID: last, pageSize: size)
                }, { try await readAll(model, branch, min: low, max: high, lastTxnID: last, pageSize: size) })
            case 11:
                let q = TaskQueueKey(namespaceID: pick([ns, "ns-2"]), name: pick(["a", "b"]), type: pick(TaskQueueType.allCases))
                let current = (try? await collect(pageSize: 10) { try await model.listTaskQueues(namespaceID: nil, pageSize: $0, pageToken: $1) })?
                    .first { $0.key == q }?.rangeID ?? 0
                let guess = rng.next() % 4 == 0 ? current - 1 : current
                switch rng.next() % 5 {
                case 0: try await same("\(what) lease", { try await s.leaseTaskQueue(q) }, { try await model.leaseTaskQueue(q) })
                case 1:
                    let record = TaskQueueRecord(key: q, rangeID: guess, data: rng.bytes(count: 2))
                    try await same("\(what) update queue", { try await s.updateTaskQueue(record) }, { try await model.updateTaskQueue(record) })
                case 2:
                    let tasks = (0..<Int(rng.next() % 3)).map { _ in TaskQueueTask(taskID: Int64(rng.next() % 30), data: rng.bytes(count: 2)) }
                    try await same("\(what) create tasks", { try await s.createTasks(q, rangeID: guess, tasks: tasks) }, { try await model.createTasks(q, rangeID: guess, tasks: tasks) })
                case 3:
                    let upTo = Int64(rng.next() % 30)
                    try await same("\(what) complete tasks", { try await s.completeTasks(q, upToTaskID: upTo) }, { try await model.completeTasks(q, upToTaskID: upTo) })
                default:
                    try await same("\(what) delete queue", { try await s.deleteTaskQueue(q, rangeID: guess) }, { try await model.deleteTaskQueue(q, rangeID: guess) })
                }
                let low = Int64(rng.next() % 30) - 1
                let high = low + Int64(rng.next() % 30)
                let limit = 1 + Int(rng.next() % 10)
                try await same("\(what) get tasks", { try await s.getTasks(q, minTaskID: low, maxTaskID: high, limit: limit) }, { try await model.getTasks(q, minTaskID: low, maxTaskID: high, limit: limit) })
                let filter: String? = rng.next() % 2 == 0 ? nil : ns
                try await same("\(what) list queues", {
                    try await collect(pageSize: limit) { try await s.listTaskQueues(namespaceID: filter, pageSize: $0, pageToken: $1) }
                }, { try await collect(pageSize: limit) { try await model.listTaskQueues(namespaceID: filter, pageSize: $0, pageToken: $1) } })
            case 12:
                let id = "id\(rng.next() % 3)"
                let name = "name\(rng.next() % 3)"
                let stored = try? await model.getNamespace(id: id)
                switch rng.next() % 3 {
                case 0:
                    let record = NamespaceRecord(id: id, name: name, data: rng.bytes(count: 2))
                    try await same("\(what) create namespace", { try await s.createNamespace(record) }, { try await model.createNamespace(record) })
                case 1:
                    let record = NamespaceRecord(
                        id: id, name: rng.next() % 4 == 0 ? name : (stored?.name ?? name),
                        notificationVersion: (stored?.notificationVersion ?? 0) + Int64(rng.next() % 3), data: rng.bytes(count: 2))
                    try await same("\(what) update namespace", { try await s.updateNamespace(record) }, { try await model.updateNamespace(record) })
                default:
                    try await same("\(what) delete namespace", { try await s.deleteNamespace(id: id) }, { try await model.deleteNamespace(id: id) })
                }
                try await same("\(what) namespace by id", { try await s.getNamespace(id: id) }, { try await model.getNamespace(id: id) })
                try await same("\(what) namespace by name", { try await s.getNamespace(name: name) }, { try await model.getNamespace(name: name) })
                try await same("\(what) list namespaces", {
                    try await collect(pageSize: 2) { try await s.listNamespaces(pageSize: $0, pageToken: $1) }
                }, { try await collect(pageSize: 2) { try await model.listNamespaces(pageSize: $0, pageToken: $1) } })
            case 13:
                let stored = try await model.getClusterMetadata(clusterName: "c")
                let record = ClusterMetadataRecord(clusterName: "c", version: (stored?.version ?? 0) + Int64(rng.next() % 3), data: rng.bytes(count: 2))
                try await same("\(what) save cluster", { try await s.saveClusterMetadata(record) }, { try await model.saveClusterMetadata(record) })
                try await same("\(what) get cluster", { try await s.getClusterMetadata(clusterName: "c") }, { try await model.getClusterMetadata(clusterName: "c") })
            default:
                if rng.next() % 4 == 0 {
                    try await same("\(what) delete visibility", { try await s.deleteVisibilityRecord(key) }, { try await model.deleteVisibilityRecord(key) })
                } else {
                    let status = pick(statuses)
                    let record = VisibilityRecord(
                        key: key, workflowType: pick(["A", "B"]), taskQueue: "q", status: status, startTime: Int64(rng.next() % 100),
                        closeTime: status == .running ? 0 : 200, historyLength: Int64(rng.next() % 6),
                        searchAttributes: rng.next() % 2 == 0 ? ["Tag": .keyword(pick(["x", "y"]))] : [:], memo: rng.bytes(count: 2))
                    try await same("\(what) upsert visibility", { try await s.upsertVisibilityRecord(record) }, { try await model.upsertVisibilityRecord(record) })
                }
                let query = pick(queries)
                let size = 1 + Int(rng.next() % 4)
                try await same("\(what) list visibility \(query)", {
                    try await collect(pageSize: size) { try await s.listVisibilityRecords(namespaceID: ns, query: query, pageSize: $0, pageToken: $1) }
                }, { try await collect(pageSize: size) { try await model.listVisibilityRecords(namespaceID: ns, query: query, pageSize: $0, pageToken: $1) } })
                try await same("\(what) count visibility", { try await s.countVisibilityRecords(namespaceID: ns, query: query) }, { try await model.countVisibilityRecords(namespaceID: ns, query: query) })
                try await same("\(what) get visibility", { try await s.getVisibilityRecord(key) }, { try await model.getVisibilityRecord(key) })
            }

            let ending = rng.next() % 60
            if ending < 2 { flushes += store.store.statistics.flushes }
            switch ending {
            case 0:
                await store.close()
                store = try StorePersistence.open(directory: memStoreDirectory, fileSystem: fs, options: options)
            case 1:
                // Power loss after acknowledged writes: all of them survive.
                let clone = fs.crashClone(.tornUnsynced(seed: rng.next()))
                await store.close()
                fs = clone
                store = try StorePersistence.open(directory: memStoreDirectory, fileSystem: fs, options: options)
            default:
                break
            }
        }
        flushes += store.store.statistics.flushes
        print("Persistence ModelTests: \(flushes) memtable flushes")
        #expect(flushes > 3, "the model test must exercise index files")
        await store.close()
    }
}
