// Temporal's persistence operations on the store (StorePersistence), fsync on, 64 workflows in
// flight across 4 shards. Data in $ANNALS_BENCH_DIR (default /tmp/annals-bench).
//   swift package --allow-writing-to-package-directory benchmark --target PersistenceBenchmarks
// The large population of the point-read benchmark is $ANNALS_BENCH_LARGE_WORKFLOWS (default 1,000,000).

import Benchmark
import Foundation
import Persistence
import StorageEngine

let benchDirectory = ProcessInfo.processInfo.environment["ANNALS_BENCH_DIR"] ?? "/tmp/annals-bench"
let largePopulation = Int(ProcessInfo.processInfo.environment["ANNALS_BENCH_LARGE_WORKFLOWS"] ?? "") ?? 1_000_000
let shards: Int32 = 4
let lanes = 64
let namespaceID = "bench"

func freshPersistence(_ name: String) throws -> StorePersistence {
    let path = benchDirectory + "/" + name
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return try StorePersistence.open(directory: path)
}

/// ~1 KiB of mutable state, ~300 B per event: the sizes of the store benchmark's workload.
let mutableState = [UInt8](repeating: 0x5A, count: 1024)
let smallState = [UInt8](repeating: 0x5A, count: 128)
func events(_ count: Int) -> [UInt8] { [UInt8](repeating: 0x45, count: 300 * count) }

func key(_ workflow: Int) -> WorkflowKey {
    WorkflowKey(namespaceID: namespaceID, workflowID: "wf-\(workflow)", runID: "run-\(workflow)")
}

func shard(_ workflow: Int) -> Int32 { Int32(workflow % Int(shards)) }

/// A benchmark's persistence and its workflows' state, kept across iterations.
final class Fixture: @unchecked Sendable {
    let persistence: StorePersistence
    var snapshots: [WorkflowSnapshot] = []
    var nextWorkflow = 0
    var nextTaskID: Int64 = 1

    init(_ name: String) async throws {
        persistence = try freshPersistence(name)
        for s in 0..<shards { _ = try await persistence.getOrCreateShard(s) }
    }

    func taskIDs(_ count: Int) -> Int64 {
        defer { nextTaskID += Int64(count) }
        return (1 << 20) | nextTaskID
    }

    /// Starts workflows `nextWorkflow ..< nextWorkflow + count`, `lanes` at a time: the first
    /// history batch (3 events), then the run with its current row, a transfer task (the first
    /// workflow task) and a timer task (the run timeout).
    func start(_ count: Int, state: [UInt8] = mutableState, history: Bool = true, taskBytes: Int = 200) async throws -> (Double, [Int]) {
        let first = nextWorkflow
        nextWorkflow += count
        let base = taskIDs(2 * count)
        snapshots += (first..<(first + count)).map {
            WorkflowSnapshot(
                key: key($0), executionState: ExecutionState(createRequestID: "r\($0)", state: .running, status: .running, startTime: 1),
                nextEventID: 4, lastEventTxnID: 1, dbRecordVersion: 1, mutableState: state)
        }
        let p = persistence
        let snapshots = self.snapshots
        return try await run(count) { i in
            let w = first + i
            // The first history batch travels in the create's batch, as the history service writes it.
            let node = BranchNode(
                branch: BranchToken(treeID: key(w).runID, branchID: "main"),
                node: HistoryNode(nodeID: 1, lastEventID: 3, txnID: 1, prevTxnID: 0, events: events(3)))
            try await p.createWorkflowExecution(
                shardID: shard(w), rangeID: 1, mode: .brandNew, snapshot: snapshots[w],
                tasks: [
                    HistoryTask(category: .transfer, taskID: base + Int64(2 * i), key: key(w), data: [UInt8](repeating: 1, count: taskBytes)),
                    HistoryTask(category: .timer, taskID: base + Int64(2 * i + 1), fireTime: 1_000_000 + Int64(w), key: key(w), data: [UInt8](repeating: 2, count: taskBytes)),
                ],
                attached: AttachedWrites(historyNodes: history ? [node] : []))
        }
    }

    /// One transaction per workflow of `0..<workflows`: append `eventCount` events, then update the
    /// run (version + 1) completing `completed(w)` and adding one new task.
    func transact(
        workflows: Int, eventCount: Int, newTask: @escaping @Sendable (Int, Int64) -> HistoryTask,
        completed: @escaping @Sendable (Int) -> [(HistoryTaskCategory, HistoryTaskKey)], readTimers: Bool = false
    ) async throws -> (Double, [Int]) {
        let p = persistence
        let base = taskIDs(workflows)
        let before = snapshots
        var after = before
        for w in 0..<workflows {
            after[w].dbRecordVersion += 1
            after[w].lastEventTxnID += 1
            after[w].nextEventID += Int64(eventCount)
        }
        let next = after
        let result = try await run(workflows) { w in
            if readTimers {
                let due = try await p.getHistoryTasks(
                    shardID: shard(w), category: .timer, min: HistoryTaskKey(fireTime: 1_000_000 + Int64(w), taskID: 0),
                    max: HistoryTaskKey(fireTime: 1_000_000 + Int64(w) + 1, taskID: 0), pageSize: 10, pageToken: nil)
                precondition(!due.items.isEmpty)
            }
            let node = BranchNode(
                branch: BranchToken(treeID: key(w).runID, branchID: "main"),
                node: HistoryNode(nodeID: before[w].nextEventID, lastEventID: next[w].nextEventID - 1, txnID: next[w].lastEventTxnID, prevTxnID: before[w].lastEventTxnID, events: events(eventCount)))
            try await p.updateWorkflowExecution(
                shardID: shard(w), rangeID: 1,
                mutation: WorkflowMutation(snapshot: next[w], newTasks: [newTask(w, base + Int64(w))], completedTasks: completed(w)), newRun: nil,
                attached: AttachedWrites(historyNodes: [node]))
        }
        snapshots = after
        return result
    }

    /// Runs `count` operations, `lanes` concurrently; seconds and per-operation latencies (µs).
    func run(_ count: Int, _ op: @escaping @Sendable (Int) async throws -> Void) async throws -> (Double, [Int]) {
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Int].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var mine: [Int] = []
                    for i in stride(from: lane, to: count, by: lanes) {
                        let t0 = clock.now
                        try await op(i)
                        mine.append(micros(clock.now - t0))
                    }
                    return mine
                }
            }
            var all: [Int] = []
            for try await l in group { all += l }
            return all
        }
        return (seconds(clock.now - start), latencies)
    }
}

func micros(_ d: Duration) -> Int { Int(d.components.seconds) * 1_000_000 + Int(d.components.attoseconds / 1_000_000_000_000) }
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

let operationMetrics: [BenchmarkMetric] = [
    .wallClock, .custom("operations/s", polarity: .prefersLarger), .custom("latency us", polarity: .prefersSmaller),
]

func record(_ benchmark: Benchmark, _ result: (Double, [Int])) {
    benchmark.measurement(.custom("operations/s", polarity: .prefersLarger), Int(Double(result.1.count) / result.0))
    for latency in result.1 { benchmark.measurement(.custom("latency us", polarity: .prefersSmaller), latency) }
}

nonisolated(unsafe) var startFixture: Fixture?
nonisolated(unsafe) var taskFixture: Fixture?
nonisolated(unsafe) var readFixtures: [Int: Fixture] = [:]

/// The store with `population` started workflows (small state and task rows and no history, so
/// 1M fit comfortably).
func populated(_ population: Int) async throws -> Fixture {
    if let fixture = readFixtures[population] { return fixture }
    let fixture = try await Fixture("persistence-reads-\(population)")
    var remaining = population
    while remaining > 0 {
        let n = min(remaining, 50_000)
        _ = try await fixture.start(n, state: smallState, history: false, taskBytes: 16)
        remaining -= n
    }
    readFixtures[population] = fixture
    return fixture
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: operationMetrics, timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(8), maxIterations: 20)

    Benchmark("Start workflow (history batch + create with 2 tasks)") { benchmark in
        if startFixture == nil { startFixture = try await Fixture("persistence-start") }
        record(benchmark, try await startFixture!.start(2048))
    }

    Benchmark("Workflow task completed (3 events + 1 activity task)") { benchmark in
        if taskFixture == nil {
            taskFixture = try await Fixture("persistence-task")
            _ = try await taskFixture!.start(2048)
        }
        let f = taskFixture!
        record(benchmark, try await f.transact(
            workflows: 2048, eventCount: 3,
            newTask: { w, id in HistoryTask(category: .transfer, taskID: id, key: key(w), data: [UInt8](repeating: 3, count: 200)) },
            completed: { _ in [] }))
    }

    Benchmark("Timer task fired (read due timer, 2 events, complete timer + 1 workflow task)") { benchmark in
        let f = try await Fixture("persistence-timer")
        _ = try await f.start(2048)
        let timers = try await f.persistence.getHistoryTasks(
            shardID: 0, category: .timer, min: HistoryTaskKey(fireTime: 0, taskID: 0), max: HistoryTaskKey(fireTime: .max, taskID: 0), pageSize: 1, pageToken: nil)
        precondition(timers.items.count == 1)
        // Each workflow's timer: fire time 1_000_000 + w; its task id was allocated at start.
        let firstTimerID = timers.items[0].taskID
        benchmark.startMeasurement()
        record(benchmark, try await f.transact(
            workflows: 2048, eventCount: 2,
            newTask: { w, id in HistoryTask(category: .transfer, taskID: id, key: key(w), data: [UInt8](repeating: 4, count: 200)) },
            completed: { w in [(.timer, HistoryTaskKey(fireTime: 1_000_000 + Int64(w), taskID: firstTimerID + Int64(2 * w)))] },
            readTimers: true))
        benchmark.stopMeasurement()
        await f.persistence.close()
    }

    for population in [10_000, largePopulation] {
        Benchmark(
            "Point read of a run (getWorkflowExecution), \(population) workflows stored",
            configuration: .init(
                metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 1000, maxDuration: .seconds(5),
                maxIterations: 100_000)
        ) { benchmark in
            let f = try await populated(population)
            var rng = SystemRandomNumberGenerator()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let w = Int.random(in: 0..<population, using: &rng)
                blackHole(try await f.persistence.getWorkflowExecution(shardID: shard(w), key: key(w)))
            }
        }
    }
}
