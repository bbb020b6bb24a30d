import Persistence
import StorageTesting
import Synchronization
import Testing

/// Workflow transactions (a history batch, appended first or attached to the state's write, and the
/// state with its task) racing a simulated power loss (a crash clone of the in-memory file system),
/// then a reopen: every acknowledged transaction survives, no transaction is half applied, and no
/// orphan events (from transactions whose state write failed or never landed) are visible.
@Suite("Persistence crashes")
struct CrashTests {
    static let workflows = 6
    static let stepsPerRound = 12

    final class Progress: Sendable {
        /// workflow index → highest acknowledged db record version.
        let acknowledged = Mutex<[Int: Int64]>([:])
        let finishedLanes = Atomic<Int>(0)
        var total: Int { acknowledged.withLock { $0.values.reduce(0) { $0 + Int($1) } } }
    }

    static func key(_ index: Int) -> WorkflowKey { wfKey("crash-\(index)", "run") }
    static func branch(_ index: Int) -> BranchToken { BranchToken(treeID: "run-\(index)", branchID: "main") }
    static func taskID(_ index: Int, version: Int64) -> Int64 { Int64(index) * 1_000_000 + version }

    @Test(arguments: [false, true])
    func transactionsAreAllOrNothingAcrossCrashes(torn: Bool) async throws {
        let seed = SeededRandom.seedFromEnvironment(default: torn ? 0xC0A5 : 0xC0A6)
        print("CrashTests torn=\(torn) seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        var fs = MemFileSystem()
        var acknowledged: [Int: Int64] = [:]
        for round in 0..<6 {
            let p = try StorePersistence.open(directory: memStoreDirectory, fileSystem: fs, options: testStoreOptions)
            let versions = try await Self.verify(p, acknowledged: acknowledged, seed: seed, round: round)

            // A new owner after the restart: acquire the shard.
            let shard = try await p.getOrCreateShard(1)
            try await p.updateShard(ShardInfo(shardID: 1, rangeID: shard.rangeID + 1), previousRangeID: shard.rangeID)
            let rangeID = shard.rangeID + 1

            let progress = Progress()
            progress.acknowledged.withLock { $0 = versions.mapValues(\.dbRecordVersion) }
            let base = progress.total
            let crashAfter = base + Int(rng.next() % UInt64(Self.workflows * Self.stepsPerRound))
            let laneSeeds = (0..<Self.workflows).map { _ in rng.next() }
            let cloneSeed = rng.next()
            let live = fs
            let (clone, ackedAtCrash) = await withTaskGroup(of: (MemFileSystem, [Int: Int64])?.self) { group in
                for index in 0..<Self.workflows {
                    let start = versions[index]
                    group.addTask {
                        var laneRNG = SeededRandom(seed: laneSeeds[index])
                        await Self.runLane(p, index: index, start: start, round: round, rangeID: rangeID, rng: &laneRNG, progress: progress)
                        progress.finishedLanes.add(1, ordering: .relaxed)
                        return nil
                    }
                }
                group.addTask {
                    while progress.total < crashAfter, progress.finishedLanes.load(ordering: .relaxed) < Self.workflows { await Task.yield() }
                    let acked = progress.acknowledged.withLock { $0 }
                    return (live.crashClone(torn ? .tornUnsynced(seed: cloneSeed) : .syncedOnly), acked)
                }
                var result: (MemFileSystem, [Int: Int64])? = nil
                for await r in group { if let r { result = r } }
                return result!
            }
            for (index, version) in ackedAtCrash { acknowledged[index] = max(acknowledged[index] ?? 0, version) }
            await p.close()
            fs = clone
        }
        let p = try StorePersistence.open(directory: memStoreDirectory, fileSystem: fs, options: testStoreOptions)
        _ = try await Self.verify(p, acknowledged: acknowledged, seed: seed, round: 6)
        await p.close()
    }

    /// One workflow's transactions: sometimes a failed one first (its batch appended, its state
    /// write stale), then the real one.
    static func runLane(
        _ p: StorePersistence, index: Int, start: WorkflowSnapshot?, round: Int, rangeID: Int64, rng: inout SeededRandom, progress: Progress
    ) async {
        let key = Self.key(index)
        var current: WorkflowSnapshot
        if let start {
            current = start
        } else {
            current = snapshot(key, version: 1, nextEventID: 1, lastEventTxnID: 0)
            do {
                try await p.createWorkflowExecution(
                    shardID: 1, rangeID: rangeID, mode: .brandNew, snapshot: current, tasks: [transferTask(key, Self.taskID(index, version: 1))])
            } catch {
                Issue.record("create \(key): \(error)")
                return
            }
            progress.acknowledged.withLock { $0[index] = 1 }
        }
        let txnBase = Int64(round + 1) * 1_000_000
        for step in 0..<Self.stepsPerRound {
            do {
                if rng.next() % 4 == 0 {
                    let orphan = node(current.nextEventID, current.nextEventID + 2, txn: txnBase + Int64(2 * step + 1), prev: current.lastEventTxnID)
                    try await p.appendHistoryNode(branch: Self.branch(index), node: orphan)
                    var stale = current
                    stale.nextEventID += 3
                    stale.lastEventTxnID = orphan.txnID
                    let error = await persistenceError {
                        try await p.updateWorkflowExecution(shardID: 1, rangeID: rangeID, mutation: WorkflowMutation(snapshot: stale), newRun: nil)
                    }
                    #expect(error == .workflowConditionFailed(key: key, currentDBRecordVersion: current.dbRecordVersion))
                }
                let size = 1 + Int64(rng.next() % 3)
                let batch = node(current.nextEventID, current.nextEventID + size - 1, txn: txnBase + Int64(2 * step + 2), prev: current.lastEventTxnID)
                // Half the transactions attach the batch to the state's write (one record, as the
                // history service writes), half append it first (two records, Temporal's pattern).
                let attach = rng.next() % 2 == 0
                if !attach { try await p.appendHistoryNode(branch: Self.branch(index), node: batch) }
                var next = current
                next.dbRecordVersion += 1
                next.nextEventID += size
                next.lastEventTxnID = batch.txnID
                next.mutableState = [UInt8(truncatingIfNeeded: next.dbRecordVersion)]
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: rangeID,
                    mutation: WorkflowMutation(snapshot: next, newTasks: [transferTask(key, Self.taskID(index, version: next.dbRecordVersion))]),
                    newRun: nil, attached: AttachedWrites(historyNodes: attach ? [BranchNode(branch: Self.branch(index), node: batch)] : []))
                current = next
                progress.acknowledged.withLock { $0[index] = next.dbRecordVersion }
            } catch {
                Issue.record("lane \(index) step \(step): \(error)")
                return
            }
        }
    }

    /// Checks every run against what was acknowledged and against its own history and tasks.
    static func verify(_ p: StorePersistence, acknowledged: [Int: Int64], seed: UInt64, round: Int) async throws -> [Int: WorkflowSnapshot] {
        let runs = try await collect(pageSize: 4) { try await p.listWorkflowExecutions(shardID: 1, pageSize: $0, pageToken: $1) }
        var byIndex: [Int: WorkflowSnapshot] = [:]
        for run in runs {
            guard let index = Int(run.key.workflowID.dropFirst("crash-".count)) else { continue }
            byIndex[index] = run
        }
        let tasks = try await collect(pageSize: 50) {
            try await p.getHistoryTasks(shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: .max), pageSize: $0, pageToken: $1)
        }
        for index in 0..<Self.workflows {
            let context = "seed \(seed) round \(round) workflow \(index)"
            guard let run = byIndex[index] else {
                #expect(acknowledged[index] == nil, "\(context): an acknowledged create was lost")
                continue
            }
            #expect(run.dbRecordVersion >= acknowledged[index] ?? 0, "\(context): acknowledged version \(acknowledged[index] ?? 0) lost")
            // The state and its task are one batch: exactly one task per version that landed.
            let mine = tasks.filter { $0.key == run.key }.map(\.taskID).sorted()
            #expect(mine == (1...run.dbRecordVersion).map { Self.taskID(index, version: $0) }, "\(context): tasks do not match version \(run.dbRecordVersion)")
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: run.key.workflowID).executionState == run.executionState)
            // The visible history is exactly the committed batches: contiguous, ending below nextEventID.
            if run.nextEventID > 1 {
                let nodes = try await readAll(p, Self.branch(index), max: run.nextEventID, lastTxnID: run.lastEventTxnID, pageSize: 3)
                #expect(nodes.count == Int(run.dbRecordVersion - 1), "\(context): \(nodes.count) visible batches for version \(run.dbRecordVersion)")
                var expectedNext: Int64 = 1
                for n in nodes {
                    #expect(n.nodeID == expectedNext, "\(context): gap or overlap at node \(n.nodeID)")
                    expectedNext = n.lastEventID + 1
                }
                #expect(expectedNext == run.nextEventID, "\(context): history ends at \(expectedNext - 1), state expects \(run.nextEventID - 1)")
                #expect(nodes.last?.txnID == run.lastEventTxnID)
            }
        }
        return byIndex
    }
}
