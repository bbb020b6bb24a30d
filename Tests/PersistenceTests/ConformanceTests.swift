import Persistence
import Testing

/// One suite, every implementation: the semantics of each protocol's doc comments.
@Suite("Persistence conformance")
struct ConformanceTests {
    @Test(arguments: Backend.allCases)
    func shardsAreCreatedOnceAndFencedByRangeID(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let shard = try await p.getOrCreateShard(7)
            #expect(shard == ShardInfo(shardID: 7, rangeID: 1))
            #expect(try await p.getOrCreateShard(7) == shard)
            try await p.updateShard(ShardInfo(shardID: 7, rangeID: 2, data: [9]), previousRangeID: 1)
            #expect(try await p.getOrCreateShard(7) == ShardInfo(shardID: 7, rangeID: 2, data: [9]))
            let stale = await persistenceError { try await p.updateShard(ShardInfo(shardID: 7, rangeID: 2), previousRangeID: 1) }
            #expect(stale == .shardOwnershipLost(shardID: 7, currentRangeID: 2))
            // Update keeping the range.
            try await p.updateShard(ShardInfo(shardID: 7, rangeID: 2, data: [10]), previousRangeID: 2)
            #expect(try await p.getOrCreateShard(7).data == [10])
            let missing = await persistenceError { try await p.updateShard(ShardInfo(shardID: 8, rangeID: 2), previousRangeID: 1) }
            #expect(missing == .shardOwnershipLost(shardID: 8, currentRangeID: nil))
        }
    }

    @Test(arguments: Backend.allCases)
    func createBrandNewSetsTheCurrentRun(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let run1 = snapshot(wfKey("wf", "r1"))
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run1, tasks: [transferTask(run1.key, 5)])
            #expect(try await p.getWorkflowExecution(shardID: 1, key: run1.key) == run1)
            let current = try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf")
            #expect(current == CurrentExecution(runID: "r1", executionState: run1.executionState))
            let tasks = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 10, pageToken: nil)
            #expect(tasks.items == [transferTask(run1.key, 5)])

            // A second brand-new run of the same workflow id fails, naming the current run.
            let run2 = snapshot(wfKey("wf", "r2"))
            let error = await persistenceError {
                try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run2, tasks: [transferTask(run2.key, 6)])
            }
            #expect(error == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: "wf", current: current))
            #expect(await persistenceError { _ = try await p.getWorkflowExecution(shardID: 1, key: run2.key) } == .notFound("workflow execution \(run2.key) in shard 1"))
            let after = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 10, pageToken: nil)
            #expect(after.items.count == 1, "the failed create wrote none of its tasks")

            // The same run id again (bypassing the current row): the run exists.
            let again = await persistenceError { try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .bypassCurrent, snapshot: run1, tasks: []) }
            #expect(again == .workflowConditionFailed(key: run1.key, currentDBRecordVersion: 1))

            // A stale range id is fenced before anything else.
            try await p.updateShard(ShardInfo(shardID: 1, rangeID: 2), previousRangeID: 1)
            let fenced = await persistenceError { try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run2, tasks: []) }
            #expect(fenced == .shardOwnershipLost(shardID: 1, currentRangeID: 2))
            let noShard = await persistenceError { try await p.createWorkflowExecution(shardID: 9, rangeID: 1, mode: .brandNew, snapshot: run2, tasks: []) }
            #expect(noShard == .shardOwnershipLost(shardID: 9, currentRangeID: nil))
        }
    }

    @Test(arguments: Backend.allCases)
    func updateCurrentNeedsAClosedPreviousRun(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let run1 = snapshot(wfKey("wf", "r1"))
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run1, tasks: [])
            let run2 = snapshot(wfKey("wf", "r2"))
            let running = await persistenceError {
                try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .updateCurrent(previousRunID: "r1"), snapshot: run2, tasks: [])
            }
            #expect(running == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: "wf", current: CurrentExecution(runID: "r1", executionState: run1.executionState)))

            // Close r1, then r2 may replace it; naming another previous run fails.
            let closed = snapshot(run1.key, version: 2, state: .completed, status: .completed)
            try await p.updateWorkflowExecution(shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: closed), newRun: nil)
            let closedCurrent = CurrentExecution(runID: "r1", executionState: closed.executionState)
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf") == closedCurrent)
            let wrong = await persistenceError {
                try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .updateCurrent(previousRunID: "r0"), snapshot: run2, tasks: [])
            }
            #expect(wrong == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: "wf", current: closedCurrent))
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .updateCurrent(previousRunID: "r1"), snapshot: run2, tasks: [])
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
            // No current row at all.
            let none = await persistenceError {
                try await p.createWorkflowExecution(
                    shardID: 1, rangeID: 1, mode: .updateCurrent(previousRunID: "x"), snapshot: snapshot(wfKey("other", "r9")), tasks: [])
            }
            #expect(none == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: "other", current: nil))
            // Bypass: a zombie that leaves the current row alone.
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .bypassCurrent, snapshot: snapshot(wfKey("wf", "z"), state: .zombie), tasks: [])
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
        }
    }

    @Test(arguments: Backend.allCases)
    func updateIsConditionedOnTheRecordVersionAndCarriesTasks(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let key = wfKey("wf", "r1")
            try await p.createWorkflowExecution(
                shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: [transferTask(key, 10), timerTask(key, 11, fireTime: 500)])
            var v2 = snapshot(key, version: 2, nextEventID: 6, lastEventTxnID: 3)
            v2.mutableState = [7, 7]
            try await p.updateWorkflowExecution(
                shardID: 1, rangeID: 1,
                mutation: WorkflowMutation(snapshot: v2, newTasks: [transferTask(key, 12)], completedTasks: [(.transfer, HistoryTaskKey(taskID: 10))]),
                newRun: nil)
            #expect(try await p.getWorkflowExecution(shardID: 1, key: key) == v2)
            let transfers = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 10, pageToken: nil)
            #expect(transfers.items.map(\.taskID) == [12])

            // The same version again is stale: the error carries the current version.
            let stale = await persistenceError {
                try await p.updateWorkflowExecution(shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: v2, newTasks: [transferTask(key, 13)]), newRun: nil)
            }
            #expect(stale == .workflowConditionFailed(key: key, currentDBRecordVersion: 2))
            let missing = await persistenceError {
                try await p.updateWorkflowExecution(shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(wfKey("wf", "nope"), version: 2)), newRun: nil)
            }
            #expect(missing == .workflowConditionFailed(key: wfKey("wf", "nope"), currentDBRecordVersion: nil))
            try await p.updateShard(ShardInfo(shardID: 1, rangeID: 5), previousRangeID: 1)
            let fenced = await persistenceError {
                try await p.updateWorkflowExecution(shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(key, version: 3)), newRun: nil)
            }
            #expect(fenced == .shardOwnershipLost(shardID: 1, currentRangeID: 5))
            let transfersAfter = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 10, pageToken: nil)
            #expect(transfersAfter.items.map(\.taskID) == [12], "failed updates wrote no tasks")
            #expect(try await p.getWorkflowExecution(shardID: 1, key: key) == v2)
        }
    }

    @Test(arguments: Backend.allCases)
    func continueAsNewCreatesTheNewRunAndMakesItCurrent(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let first = wfKey("wf", "r1")
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(first), tasks: [])
            let closed = snapshot(first, version: 2, state: .completed, status: .continuedAsNew)
            let next = snapshot(wfKey("wf", "r2"), startTime: 2_000)
            try await p.updateWorkflowExecution(
                shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: closed), newRun: (next, [transferTask(next.key, 20)]))
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf") == CurrentExecution(runID: "r2", executionState: next.executionState))
            #expect(try await p.getWorkflowExecution(shardID: 1, key: first) == closed)
            #expect(try await p.getWorkflowExecution(shardID: 1, key: next.key) == next)

            // The closed run is no longer current: continuing it again fails on the current row.
            let again = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(first, version: 3, state: .completed, status: .continuedAsNew)),
                    newRun: (snapshot(wfKey("wf", "r3")), []))
            }
            #expect(again == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: "wf", current: CurrentExecution(runID: "r2", executionState: next.executionState)))
            // Updating a non-current run leaves the current row alone.
            try await p.updateWorkflowExecution(shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(first, version: 3, state: .completed, status: .completed)), newRun: nil)
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
            // A new run id that exists already.
            let exists = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(next.key, version: 2, state: .completed, status: .completed)),
                    newRun: (snapshot(first), []))
            }
            #expect(exists == .workflowConditionFailed(key: first, currentDBRecordVersion: 3))
            let otherWorkflow = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(next.key, version: 2)), newRun: (snapshot(wfKey("other", "x")), []))
            }
            guard case .invalidArgument = otherWorkflow else { Issue.record("expected invalidArgument, got \(String(describing: otherWorkflow))"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func setOverwritesAndDeleteRemovesRunAndCurrentRow(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let key = wfKey("wf", "r1")
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: [])
            let reset = snapshot(wfKey("wf", "r2"), version: 40)
            try await p.setWorkflowExecution(shardID: 1, rangeID: 1, snapshot: reset, tasks: [transferTask(reset.key, 3)], makeCurrent: true)
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
            let overwritten = snapshot(key, version: 17, state: .zombie)
            try await p.setWorkflowExecution(shardID: 1, rangeID: 1, snapshot: overwritten, tasks: [], makeCurrent: false)
            #expect(try await p.getWorkflowExecution(shardID: 1, key: key) == overwritten)
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
            let fenced = await persistenceError { try await p.setWorkflowExecution(shardID: 1, rangeID: 9, snapshot: reset, tasks: [], makeCurrent: true) }
            #expect(fenced == .shardOwnershipLost(shardID: 1, currentRangeID: 1))

            try await p.deleteWorkflowExecution(shardID: 1, key: key)  // not current: the current row stays
            #expect(await persistenceError { _ = try await p.getWorkflowExecution(shardID: 1, key: key) } == .notFound("workflow execution \(key) in shard 1"))
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").runID == "r2")
            try await p.deleteWorkflowExecution(shardID: 1, key: reset.key)
            #expect(await persistenceError { _ = try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf") } == .notFound("current execution of \(ns)/wf in shard 1"))
            try await p.deleteWorkflowExecution(shardID: 1, key: reset.key)  // idempotent
        }
    }

    @Test(arguments: Backend.allCases)
    func listingsPageInKeyOrder(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(2)
            var keys: [WorkflowKey] = []
            for i in (0..<23).reversed() {
                let key = wfKey("wf-\(i < 10 ? "0" : "")\(i)", "run")
                keys.append(key)
                try await p.createWorkflowExecution(shardID: 2, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: [])
            }
            let listed = try await collect(pageSize: 5) { try await p.listWorkflowExecutions(shardID: 2, pageSize: $0, pageToken: $1) }
            #expect(listed.map(\.key) == keys.sorted { $0.workflowID < $1.workflowID })
            let empty = try await p.listWorkflowExecutions(shardID: 3, pageSize: 5, pageToken: nil)
            #expect(empty.items.isEmpty && empty.nextPageToken == nil)
            let malformed = await persistenceError { _ = try await p.listWorkflowExecutions(shardID: 2, pageSize: 5, pageToken: [0xEE, 1, 2]) }
            guard case .invalidArgument = malformed else { Issue.record("malformed token: \(String(describing: malformed))"); return }
            let badSize = await persistenceError { _ = try await p.listWorkflowExecutions(shardID: 2, pageSize: 0, pageToken: nil) }
            guard case .invalidArgument = badSize else { Issue.record("page size 0: \(String(describing: badSize))"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func historyTasksOrderPageAndComplete(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let key = wfKey("wf", "r1")
            let timers = [timerTask(key, 5, fireTime: 300), timerTask(key, 1, fireTime: 300), timerTask(key, 9, fireTime: 100), timerTask(key, 2, fireTime: 900)]
            let transfers = (1...12).map { transferTask(key, Int64($0)) }
            let visibility = [HistoryTask(category: .visibility, taskID: 4, key: key, data: [4])]
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: timers + transfers + visibility)

            let fired = try await p.getHistoryTasks(
                shardID: 1, category: .timer, min: HistoryTaskKey(fireTime: 0, taskID: 0), max: HistoryTaskKey(fireTime: 301, taskID: 0), pageSize: 10, pageToken: nil)
            #expect(fired.items.map(\.taskID) == [9, 1, 5], "by fire time, then task id")
            let all = try await collect(pageSize: 5) {
                try await p.getHistoryTasks(shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 3), max: HistoryTaskKey(taskID: 11), pageSize: $0, pageToken: $1)
            }
            #expect(all.map(\.taskID) == Array(3...10))
            #expect(try await p.getHistoryTasks(
                shardID: 1, category: .visibility, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: .max), pageSize: 10, pageToken: nil).items == visibility)

            try await p.completeHistoryTask(shardID: 1, category: .timer, key: HistoryTaskKey(fireTime: 300, taskID: 1))
            try await p.rangeCompleteHistoryTasks(shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 8))
            let timersLeft = try await p.getHistoryTasks(
                shardID: 1, category: .timer, min: HistoryTaskKey(fireTime: .min, taskID: .min), max: HistoryTaskKey(fireTime: .max, taskID: .max), pageSize: 10, pageToken: nil)
            #expect(timersLeft.items.map(\.taskID) == [9, 5, 2])
            let transfersLeft = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 100, pageToken: nil)
            #expect(transfersLeft.items.map(\.taskID) == Array(8...12))
            let malformed = await persistenceError {
                _ = try await p.getHistoryTasks(shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 2, pageToken: [])
            }
            guard case .invalidArgument = malformed else { Issue.record("malformed token: \(String(describing: malformed))"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func historyReadsFollowTheTxnChain(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let branch = BranchToken(treeID: "tree", branchID: "b1")
            #expect(await persistenceError { _ = try await readAll(p, branch, max: 100, lastTxnID: 100) } == .notFound("history branch tree/b1 has no events"))
            try await p.appendHistoryNode(branch: branch, node: node(1, 3, txn: 1, prev: 0))
            try await p.appendHistoryNode(branch: branch, node: node(4, 5, txn: 2, prev: 1))
            // A transaction (txn 3) whose state write failed: invisible at lastTxnID 2.
            try await p.appendHistoryNode(branch: branch, node: node(6, 8, txn: 3, prev: 2))
            #expect(try await readAll(p, branch, max: 100, lastTxnID: 2).map(\.nodeID) == [1, 4])
            // The retry rewrites node 6 with a higher txn (4): it wins.
            try await p.appendHistoryNode(branch: branch, node: node(6, 7, txn: 4, prev: 2))
            #expect(try await readAll(p, branch, max: 100, lastTxnID: 4).map(\.txnID) == [1, 2, 4])
            // A stray batch that does not chain (prev 3 is the failed txn) stays invisible.
            try await p.appendHistoryNode(branch: branch, node: node(8, 9, txn: 5, prev: 3))
            try await p.appendHistoryNode(branch: branch, node: node(8, 10, txn: 6, prev: 4))
            let nodes = try await readAll(p, branch, max: 100, lastTxnID: 6)
            #expect(nodes.map(\.txnID) == [1, 2, 4, 6])
            #expect(nodes.last == node(8, 10, txn: 6, prev: 4))
            // maxEventID hides nodes at or above it; minEventID starts later.
            #expect(try await readAll(p, branch, max: 6, lastTxnID: 6).map(\.nodeID) == [1, 4])
            #expect(try await readAll(p, branch, min: 4, max: 100, lastTxnID: 6).map(\.nodeID) == [4, 6, 8])
            // Paging one node at a time gives the same chain.
            #expect(try await readAll(p, branch, max: 100, lastTxnID: 6, pageSize: 1) == nodes)
            let malformed = await persistenceError {
                _ = try await p.readHistoryBranch(branch: branch, minEventID: 1, maxEventID: 100, lastTxnID: 6, pageSize: 1, pageToken: [1, 2, 3])
            }
            guard case .invalidArgument = malformed else { Issue.record("malformed token: \(String(describing: malformed))"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func forkedBranchesShareTheirAncestorsNodes(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let base = BranchToken(treeID: "tree", branchID: "base")
            try await p.appendHistoryNode(branch: base, node: node(1, 3, txn: 1, prev: 0))
            try await p.appendHistoryNode(branch: base, node: node(4, 6, txn: 2, prev: 1))
            try await p.appendHistoryNode(branch: base, node: node(7, 9, txn: 3, prev: 2))
            let fork = try await p.forkHistoryBranch(from: base, forkNodeID: 7, newBranchID: "fork", lastTxnID: 3)
            #expect(fork == BranchToken(treeID: "tree", branchID: "fork"))
            try await p.appendHistoryNode(branch: fork, node: node(7, 8, txn: 10, prev: 2))
            #expect(try await readAll(p, fork, max: 100, lastTxnID: 10).map(\.txnID) == [1, 2, 10])
            #expect(try await readAll(p, fork, max: 100, lastTxnID: 10, pageSize: 1).map(\.txnID) == [1, 2, 10])
            #expect(try await readAll(p, base, max: 100, lastTxnID: 10).map(\.txnID) == [1, 2, 3])
            // A fork of the fork, below the first fork point.
            let second = try await p.forkHistoryBranch(from: fork, forkNodeID: 4, newBranchID: "second", lastTxnID: 10)
            try await p.appendHistoryNode(branch: second, node: node(4, 4, txn: 11, prev: 1))
            #expect(try await readAll(p, second, max: 100, lastTxnID: 11).map(\.txnID) == [1, 11])
            #expect(await persistenceError { _ = try await p.forkHistoryBranch(from: base, forkNodeID: 4, newBranchID: "fork", lastTxnID: 3) }
                == .alreadyExists("history branch tree/fork"))

            // Deleting the base keeps the nodes the forks still read.
            try await p.deleteHistoryBranch(base)
            #expect(try await readAll(p, fork, max: 100, lastTxnID: 10).map(\.txnID) == [1, 2, 10])
            #expect(try await readAll(p, second, max: 100, lastTxnID: 11).map(\.txnID) == [1, 11])
            #expect(try await readAll(p, base, max: 100, lastTxnID: 10).map(\.txnID) == [1, 2], "node 7 of base was not shared")
            try await p.deleteHistoryBranch(second)
            #expect(await persistenceError { _ = try await readAll(p, second, min: 4, max: 100, lastTxnID: 11) } == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func taskQueuesLeaseAndFenceTheirTasks(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let q = TaskQueueKey(namespaceID: ns, name: "orders", type: .activity)
            #expect(try await p.leaseTaskQueue(q) == TaskQueueRecord(key: q, rangeID: 1))
            try await p.updateTaskQueue(TaskQueueRecord(key: q, rangeID: 1, data: [42]))
            let leased = try await p.leaseTaskQueue(q)
            #expect(leased == TaskQueueRecord(key: q, rangeID: 2, data: [42]))
            #expect(await persistenceError { try await p.updateTaskQueue(TaskQueueRecord(key: q, rangeID: 1)) }
                == .conditionFailed("task queue \(ns)/orders/activity range id is 2, not 1"))
            #expect(await persistenceError { try await p.createTasks(q, rangeID: 1, tasks: [TaskQueueTask(taskID: 1, data: [])]) }
                == .conditionFailed("task queue \(ns)/orders/activity range id is 2, not 1"))
            let tasks = (1...10).map { TaskQueueTask(taskID: Int64($0) * 10, expiryTime: 5, data: [UInt8($0)]) }
            try await p.createTasks(q, rangeID: 2, tasks: tasks)
            #expect(try await p.getTasks(q, minTaskID: 10, maxTaskID: 50, limit: 100) == Array(tasks[1...4]))
            #expect(try await p.getTasks(q, minTaskID: 0, maxTaskID: .max, limit: 3) == Array(tasks[0...2]))
            try await p.completeTasks(q, upToTaskID: 30)
            #expect(try await p.getTasks(q, minTaskID: .min, maxTaskID: .max, limit: 100).map(\.taskID) == [40, 50, 60, 70, 80, 90, 100])

            let others = [
                TaskQueueKey(namespaceID: ns, name: "orders", type: .workflow), TaskQueueKey(namespaceID: "ns-2", name: "a", type: .workflow),
                TaskQueueKey(namespaceID: ns, name: "billing", type: .workflow),
            ]
            for o in others { _ = try await p.leaseTaskQueue(o) }
            let mine = try await collect(pageSize: 2) { try await p.listTaskQueues(namespaceID: ns, pageSize: $0, pageToken: $1) }
            #expect(mine.map(\.key) == [others[2], others[0], q])
            let all = try await collect(pageSize: 1) { try await p.listTaskQueues(namespaceID: nil, pageSize: $0, pageToken: $1) }
            #expect(all.count == 4)

            #expect(await persistenceError { try await p.deleteTaskQueue(q, rangeID: 1) } == .conditionFailed("task queue \(ns)/orders/activity range id is 2, not 1"))
            try await p.deleteTaskQueue(q, rangeID: 2)
            #expect(try await p.getTasks(q, minTaskID: .min, maxTaskID: .max, limit: 100).isEmpty)
            #expect(try await collect(pageSize: 10) { try await p.listTaskQueues(namespaceID: ns, pageSize: $0, pageToken: $1) }.count == 2)
            #expect(try await p.leaseTaskQueue(q).rangeID == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func namespacesAndClusterMetadata(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let a = NamespaceRecord(id: "id-a", name: "alpha", data: [1])
            try await p.createNamespace(a)
            #expect(await persistenceError { try await p.createNamespace(NamespaceRecord(id: "id-x", name: "alpha", data: [])) } == .alreadyExists("namespace name alpha"))
            #expect(await persistenceError { try await p.createNamespace(NamespaceRecord(id: "id-a", name: "other", data: [])) } == .alreadyExists("namespace id id-a"))
            for (i, name) in ["delta", "beta", "gamma"].enumerated() { try await p.createNamespace(NamespaceRecord(id: "id-\(i)", name: name, data: [])) }
            #expect(try await p.getNamespace(id: "id-a") == a)
            #expect(try await p.getNamespace(name: "alpha") == a)
            #expect(await persistenceError { _ = try await p.getNamespace(name: "zeta") } == .notFound("namespace name zeta"))
            let names = try await collect(pageSize: 3) { try await p.listNamespaces(pageSize: $0, pageToken: $1) }.map(\.name)
            #expect(names == ["alpha", "beta", "delta", "gamma"])

            try await p.updateNamespace(NamespaceRecord(id: "id-a", name: "alpha", notificationVersion: 1, data: [2]))
            #expect(try await p.getNamespace(id: "id-a").data == [2])
            #expect(await persistenceError { try await p.updateNamespace(NamespaceRecord(id: "id-a", name: "alpha", notificationVersion: 1, data: [3])) }
                == .conditionFailed("namespace id-a notification version is 1, not 0"))
            let renamed = await persistenceError { try await p.updateNamespace(NamespaceRecord(id: "id-a", name: "omega", notificationVersion: 2, data: [])) }
            guard case .invalidArgument = renamed else { Issue.record("rename: \(String(describing: renamed))"); return }
            #expect(await persistenceError { try await p.updateNamespace(NamespaceRecord(id: "nope", name: "x", notificationVersion: 1, data: [])) } == .notFound("namespace id nope"))
            try await p.deleteNamespace(id: "id-a")
            #expect(await persistenceError { _ = try await p.getNamespace(id: "id-a") } == .notFound("namespace id id-a"))
            #expect(await persistenceError { _ = try await p.getNamespace(name: "alpha") } == .notFound("namespace name alpha"))
            try await p.createNamespace(NamespaceRecord(id: "id-new", name: "alpha", data: []))

            #expect(try await p.getClusterMetadata(clusterName: "active") == nil)
            #expect(await persistenceError { try await p.saveClusterMetadata(ClusterMetadataRecord(clusterName: "active", version: 2, data: [])) }
                == .conditionFailed("cluster metadata active version is absent, not 1"))
            try await p.saveClusterMetadata(ClusterMetadataRecord(clusterName: "active", version: 1, data: [1]))
            #expect(await persistenceError { try await p.saveClusterMetadata(ClusterMetadataRecord(clusterName: "active", version: 1, data: [])) }
                == .conditionFailed("cluster metadata active version is 1, not 0"))
            try await p.saveClusterMetadata(ClusterMetadataRecord(clusterName: "active", version: 2, data: [2]))
            #expect(try await p.getClusterMetadata(clusterName: "active") == ClusterMetadataRecord(clusterName: "active", version: 2, data: [2]))
        }
    }

    @Test(arguments: Backend.allCases)
    func visibilityListsNewestFirstWithFilters(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            var records: [VisibilityRecord] = []
            for i in 0..<30 {
                let status: WorkflowStatus = i % 3 == 0 ? .completed : .running
                var r = VisibilityRecord(
                    key: wfKey("wf-\(i)", "run-\(i % 4)"), workflowType: i % 2 == 0 ? "Order" : "Refund", taskQueue: "q", status: status,
                    startTime: Int64(1_000 + i / 2), closeTime: status == .running ? 0 : 5_000, historyLength: Int64(i),
                    searchAttributes: ["CustomKeywordField": .keyword("k\(i % 5)"), "Tags": .keywordList(["t\(i % 2)", "all"])])
                r.memo = [UInt8(i)]
                records.append(r)
                try await p.upsertVisibilityRecord(r)
            }
            try await p.upsertVisibilityRecord(VisibilityRecord(key: wfKey("elsewhere", "r", namespaceID: "ns-2"), workflowType: "Order", taskQueue: "q", status: .running, startTime: 9_999))
            // Close one with a new start time (a reset moves it).
            records[4].status = .failed
            records[4].closeTime = 6_000
            records[4].startTime = 1
            try await p.upsertVisibilityRecord(records[4])
            #expect(try await p.getVisibilityRecord(records[4].key) == records[4])

            let expected = records.sorted { ($0.startTime, $1.key.runID, $1.key.workflowID) > ($1.startTime, $0.key.runID, $0.key.workflowID) }
            let listed = try await collect(pageSize: 7) { try await p.listVisibilityRecords(namespaceID: ns, query: .all, pageSize: $0, pageToken: $1) }
            #expect(listed == expected)
            #expect(try await p.countVisibilityRecords(namespaceID: ns, query: .all) == 30)

            let query = try VisibilityQuery.parse("WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND Tags = 't0' ORDER BY StartTime DESC")
            let filtered = try await collect(pageSize: 2) { try await p.listVisibilityRecords(namespaceID: ns, query: query, pageSize: $0, pageToken: $1) }
            #expect(filtered == expected.filter { $0.workflowType == "Order" && $0.status == .running })
            #expect(!filtered.isEmpty)
            #expect(try await p.countVisibilityRecords(namespaceID: ns, query: query) == Int64(filtered.count))

            try await p.deleteVisibilityRecord(records[0].key)
            #expect(await persistenceError { _ = try await p.getVisibilityRecord(records[0].key) } == .notFound("visibility record \(records[0].key)"))
            #expect(try await p.countVisibilityRecords(namespaceID: ns, query: .all) == 29)
            let malformed = await persistenceError { _ = try await p.listVisibilityRecords(namespaceID: ns, query: .all, pageSize: 2, pageToken: [1, 1, 0xFF]) }
            guard case .invalidArgument = malformed else { Issue.record("malformed token: \(String(describing: malformed))"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func attachedWritesApplyOnlyWithTheirChange(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let run = snapshot(wfKey("wf", "r1"))
            let branch = BranchToken(treeID: "r1", branchID: "r1")
            var record = VisibilityRecord(key: run.key, workflowType: "Order", taskQueue: "q", status: .running, startTime: 1_000)
            try await p.createWorkflowExecution(
                shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run, tasks: [],
                attached: AttachedWrites(historyNodes: [BranchNode(branch: branch, node: node(1, 2, txn: 1, prev: 0))], visibility: [record]))
            #expect(try await p.getVisibilityRecord(run.key) == record)
            #expect(try await p.readHistoryBranch(branch: branch, minEventID: 1, maxEventID: 100, lastTxnID: 10, pageSize: 10, pageToken: nil).nodes
                == [node(1, 2, txn: 1, prev: 0)])

            // A change whose version condition fails writes none of its attachments.
            var closed = record
            closed.status = .completed
            closed.closeTime = 2_000
            let refused = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(run.key, version: 5)), newRun: nil,
                    attached: AttachedWrites(historyNodes: [BranchNode(branch: branch, node: node(3, 4, txn: 2, prev: 1))], visibility: [closed]))
            }
            #expect(refused == .workflowConditionFailed(key: run.key, currentDBRecordVersion: 1))
            #expect(try await p.getVisibilityRecord(run.key) == record)
            #expect(try await p.readHistoryBranch(branch: branch, minEventID: 1, maxEventID: 100, lastTxnID: 10, pageSize: 10, pageToken: nil).nodes.count == 1)
            // A failed create (the run exists) writes none either.
            let duplicate = await persistenceError {
                try await p.createWorkflowExecution(
                    shardID: 1, rangeID: 1, mode: .bypassCurrent, snapshot: run, tasks: [],
                    attached: AttachedWrites(historyNodes: [BranchNode(branch: branch, node: node(1, 2, txn: 9, prev: 0))], visibility: [closed]))
            }
            #expect(duplicate == .workflowConditionFailed(key: run.key, currentDBRecordVersion: 1))
            #expect(try await p.getVisibilityRecord(run.key) == record)

            // The change that applies lands with both.
            try await p.updateWorkflowExecution(
                shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(run.key, version: 2)), newRun: nil,
                attached: AttachedWrites(historyNodes: [BranchNode(branch: branch, node: node(3, 4, txn: 2, prev: 1))], visibility: [closed]))
            #expect(try await p.getVisibilityRecord(run.key) == closed)
            #expect(try await p.readHistoryBranch(branch: branch, minEventID: 1, maxEventID: 100, lastTxnID: 10, pageSize: 10, pageToken: nil).nodes
                == [node(1, 2, txn: 1, prev: 0), node(3, 4, txn: 2, prev: 1)])
            #expect(try await p.countVisibilityRecords(namespaceID: ns, query: .all) == 1)

            // Limits and bad nodes are refused before anything is written.
            let bad = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(run.key, version: 3)), newRun: nil,
                    attached: AttachedWrites(historyNodes: [BranchNode(branch: branch, node: node(0, 4, txn: 3, prev: 2))]))
            }
            guard case .invalidArgument = bad else { Issue.record("bad node: \(String(describing: bad))"); return }
            record.historyLength = 7
            let tooMany = await persistenceError {
                try await p.updateWorkflowExecution(
                    shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(run.key, version: 3)), newRun: nil,
                    attached: AttachedWrites(visibility: Array(repeating: record, count: PersistenceLimits.maxAttachedWrites + 1)))
            }
            guard case .invalidArgument = tooMany else { Issue.record("too many: \(String(describing: tooMany))"); return }
            #expect(try await p.getWorkflowExecution(shardID: 1, key: run.key).dbRecordVersion == 2)
        }
    }
}
