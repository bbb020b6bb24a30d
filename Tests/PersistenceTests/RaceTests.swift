import Persistence
import Synchronization
import Testing

/// Concurrent writers: fencing, create races and version races, with real concurrency.
/// A lock-protected value that closures can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

@Suite("Persistence races")
struct RaceTests {
    @Test(arguments: Backend.allCases)
    func aStaleRangeIDWriterIsFenced(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let keys = (0..<24).map { wfKey("wf-\($0)", "r") }
            for key in keys { try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: []) }
            // The old owner (range 1) keeps writing while a new owner acquires the shard (range 2).
            let outcomes = Locked<[WorkflowKey: PersistenceError?]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for key in keys {
                    group.addTask {
                        let error = await persistenceError {
                            try await p.updateWorkflowExecution(
                                shardID: 1, rangeID: 1, mutation: WorkflowMutation(snapshot: snapshot(key, version: 2), newTasks: [transferTask(key, 7)]), newRun: nil)
                        }
                        outcomes.withLock { $0[key] = error }
                    }
                    if key == keys[8] {
                        group.addTask { try await p.updateShard(ShardInfo(shardID: 1, rangeID: 2), previousRangeID: 1) }
                    }
                }
                try await group.waitForAll()
            }
            // Each old-owner write either landed whole or failed with ownership lost, naming range 2.
            for (key, error) in outcomes.withLock({ $0 }) {
                let stored = try await p.getWorkflowExecution(shardID: 1, key: key)
                if let error {
                    #expect(error == .shardOwnershipLost(shardID: 1, currentRangeID: 2))
                    #expect(stored.dbRecordVersion == 1)
                } else {
                    #expect(stored.dbRecordVersion == 2)
                }
            }
            let tasks = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 10, pageToken: nil)
            #expect(tasks.items.count == (outcomes.withLock { $0.values.filter { $0 == nil }.count } > 0 ? 1 : 0))
            // After the acquire, nothing of the old owner lands.
            let late = await persistenceError {
                try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(wfKey("late", "r")), tasks: [])
            }
            #expect(late == .shardOwnershipLost(shardID: 1, currentRangeID: 2))
            let stale = await persistenceError { try await p.updateShard(ShardInfo(shardID: 1, rangeID: 3), previousRangeID: 1) }
            #expect(stale == .shardOwnershipLost(shardID: 1, currentRangeID: 2))
        }
    }

    @Test(arguments: Backend.allCases)
    func twoCreatorsOfOneWorkflowIDExactlyOneWins(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            for round in 0..<5 {
                let workflowID = "contended-\(round)"
                let results = await withTaskGroup(of: (String, PersistenceError?).self) { group in
                    for creator in 0..<8 {
                        group.addTask {
                            let run = snapshot(wfKey(workflowID, "run-\(creator)"))
                            let error = await persistenceError {
                                try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: run, tasks: [transferTask(run.key, Int64(creator))])
                            }
                            return ("run-\(creator)", error)
                        }
                    }
                    var all: [(String, PersistenceError?)] = []
                    for await r in group { all.append(r) }
                    return all
                }
                let winners = results.filter { $0.1 == nil }.map(\.0)
                #expect(winners.count == 1, "round \(round): \(winners)")
                guard let winner = winners.first else { continue }
                let current = try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: workflowID)
                #expect(current.runID == winner)
                for (run, error) in results where run != winner {
                    #expect(error == .currentWorkflowConditionFailed(namespaceID: ns, workflowID: workflowID, current: current))
                    #expect(await persistenceError { _ = try await p.getWorkflowExecution(shardID: 1, key: wfKey(workflowID, run)) } != nil)
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aStaleVersionUpdateFailsWithTheCurrentValues(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            _ = try await p.getOrCreateShard(1)
            let key = wfKey("wf", "r")
            try await p.createWorkflowExecution(shardID: 1, rangeID: 1, mode: .brandNew, snapshot: snapshot(key), tasks: [])
            let results = await withTaskGroup(of: (Int, PersistenceError?).self) { group in
                for writer in 0..<10 {
                    group.addTask {
                        let error = await persistenceError {
                            try await p.updateWorkflowExecution(
                                shardID: 1, rangeID: 1,
                                mutation: WorkflowMutation(snapshot: snapshot(key, version: 2, blob: [UInt8(writer)]), newTasks: [transferTask(key, Int64(writer))]),
                                newRun: nil)
                        }
                        return (writer, error)
                    }
                }
                var all: [(Int, PersistenceError?)] = []
                for await r in group { all.append(r) }
                return all
            }
            let winners = results.filter { $0.1 == nil }.map(\.0)
            #expect(winners.count == 1)
            for (_, error) in results where error != nil { #expect(error == .workflowConditionFailed(key: key, currentDBRecordVersion: 2)) }
            let stored = try await p.getWorkflowExecution(shardID: 1, key: key)
            #expect(stored.mutableState == [UInt8(winners.first ?? -1)])
            let tasks = try await p.getHistoryTasks(
                shardID: 1, category: .transfer, min: HistoryTaskKey(taskID: 0), max: HistoryTaskKey(taskID: 100), pageSize: 100, pageToken: nil)
            #expect(tasks.items.map(\.taskID) == winners.map(Int64.init), "only the winner's task was written")
            // The current row follows the winning write.
            #expect(try await p.getCurrentExecution(shardID: 1, namespaceID: ns, workflowID: "wf").executionState == stored.executionState)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentLeasesOfATaskQueueAllGetDistinctRanges(_ backend: Backend) async throws {
        try await withPersistence(backend) { p in
            let q = TaskQueueKey(namespaceID: ns, name: "q", type: .workflow)
            let ranges = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<8 { group.addTask { try await p.leaseTaskQueue(q).rangeID } }
                var all: [Int64] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(ranges.sorted() == Array(1...8))
        }
    }
}
