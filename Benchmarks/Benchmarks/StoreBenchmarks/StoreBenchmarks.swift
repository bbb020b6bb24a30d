// The store against SQLite and RocksDB on the workflow-task transaction (see Workload.swift),
// all three measured in the same run, fsync on. Data in $ANNALS_BENCH_DIR (default /tmp/annals-bench).
//   swift package --allow-writing-to-package-directory benchmark --target StoreBenchmarks

import Benchmark
import Foundation
import StorageEngine
import StoreWorkload
import Synchronization

let benchDirectory = ProcessInfo.processInfo.environment["ANNALS_BENCH_DIR"] ?? "/tmp/annals-bench"

func freshDirectory(_ name: String) -> String {
    let path = benchDirectory + "/" + name
    try? FileManager.default.removeItem(atPath: path)
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

nonisolated(unsafe) var annals: AnnalsStore?
nonisolated(unsafe) var sqlite: SQLiteStore?
nonisolated(unsafe) var rocksdb: RocksDBStore?
let annalsVersions = Versions()
let sqliteVersions = Versions()
let rocksdbVersions = Versions()

/// Reads need data: 34 transactions per workflow give each history 102 events.
let populatedTransactions = 34

func populatedAnnals() async throws -> AnnalsStore {
    if annals == nil { annals = try AnnalsStore(directory: freshDirectory("store-annals")) }
    if annalsVersions.next[0] < populatedTransactions {
        _ = try await drive(annals!, annalsVersions, perWorkflow: populatedTransactions - annalsVersions.next[0])
    }
    return annals!
}

func populatedRocksDB() async throws -> RocksDBStore {
    if rocksdb == nil { rocksdb = try RocksDBStore(directory: freshDirectory("store-rocksdb")) }
    if rocksdbVersions.next[0] < populatedTransactions {
        _ = try await drive(rocksdb!, rocksdbVersions, perWorkflow: populatedTransactions - rocksdbVersions.next[0], threads: 16)
    }
    return rocksdb!
}

func populatedSQLite() async throws -> SQLiteStore {
    if sqlite == nil { sqlite = try SQLiteStore(directory: freshDirectory("store-sqlite")) }
    if sqliteVersions.next[0] < populatedTransactions {
        _ = try await drive(sqlite!, sqliteVersions, perWorkflow: populatedTransactions - sqliteVersions.next[0], threads: 1)
    }
    return sqlite!
}

let transactionMetrics: [BenchmarkMetric] = [
    .wallClock, .custom("transactions/s", polarity: .prefersLarger), .custom("latency us", polarity: .prefersSmaller),
]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: transactionMetrics, timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(8), maxIterations: 30)

    Benchmark("Workflow-task transaction: annals") { benchmark in
        let store = try await populatedAnnals()
        let (seconds, latencies) = try await drive(store, annalsVersions, perWorkflow: 32)
        record(benchmark, seconds, latencies)
    }

    Benchmark("Workflow-task transaction: rocksdb (16 threads)") { benchmark in
        let store = try await populatedRocksDB()
        let (seconds, latencies) = try await drive(store, rocksdbVersions, perWorkflow: 32, threads: 16)
        record(benchmark, seconds, latencies)
    }

    Benchmark("Workflow-task transaction: rocksdb (16 per write, 4 threads)") { benchmark in
        let store = try await populatedRocksDB()
        let (seconds, latencies) = try await driveBatched(store, rocksdbVersions, perWorkflow: 32)
        record(benchmark, seconds, latencies)
    }

    Benchmark("Workflow-task transaction: sqlite") { benchmark in
        let store = try await populatedSQLite()
        let (seconds, latencies) = try await drive(store, sqliteVersions, perWorkflow: 8, threads: 1)
        record(benchmark, seconds, latencies)
    }

    spaceAndRecoveryBenchmarks()

    // Reads on data written by the same transactions (each history holds at least 102 events).
    Benchmark("Point read of a state row: annals", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedAnnals()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try await store.readState(workflow: i % Workload.workflows); blackHole(n) }
    }
    Benchmark("Point read of a state row: rocksdb", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedRocksDB()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try store.readState(workflow: i % Workload.workflows); blackHole(n) }
    }
    Benchmark("Point read of a state row: sqlite", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedSQLite()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try store.readState(workflow: i % Workload.workflows); blackHole(n) }
    }
    Benchmark("Scan of 100 history events: annals", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedAnnals()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try await store.readHistory(workflow: i % Workload.workflows, limit: 100); precondition(n == 100) }
    }
    Benchmark("Scan of 100 history events: rocksdb", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedRocksDB()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try store.readHistory(workflow: i % Workload.workflows, limit: 100); precondition(n == 100) }
    }
    Benchmark("Scan of 100 history events: sqlite", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds)) { benchmark in
        let store = try await populatedSQLite()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { let n = try store.readHistory(workflow: i % Workload.workflows, limit: 100); precondition(n == 100) }
    }
}

func record(_ benchmark: Benchmark, _ seconds: Double, _ latencies: [Int]) {
    benchmark.measurement(.custom("transactions/s", polarity: .prefersLarger), Int(Double(latencies.count) / seconds))
    for latency in latencies { benchmark.measurement(.custom("latency us", polarity: .prefersSmaller), latency) }
}
