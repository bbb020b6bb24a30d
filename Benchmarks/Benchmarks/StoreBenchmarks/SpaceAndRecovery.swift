import Benchmark
import Foundation
import StorageEngine
import StorageLog
import StoreWorkload

/// Bytes of every file under `directory`.
func directoryBytes(_ directory: String) -> Int {
    let names = (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []
    return names.reduce(0) { total, name in
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
        return total + (size ?? 0)
    }
}

/// 4,096 rows of 1 KiB written once, then overwritten 10 times (64 concurrent writers), then:
/// bytes on disk over the bytes on disk after the first write of every row, and the time to
/// reopen the store (recovery).

/// Compacts, then waits until log cleaning has caught up.
func settle(_ store: Store) async throws {
    try await store.compact()
    var cleaned = -1
    while store.statistics.cleanedSegments != cleaned {
        cleaned = store.statistics.cleanedSegments
        try await Task.sleep(for: .milliseconds(300))
    }
}
func spaceAndRecoveryBenchmarks() {
    Benchmark(
        "Space amplification after 10x overwrite, and reopen: annals",
        configuration: .init(
            metrics: [.custom("space amplification x100", polarity: .prefersSmaller), .custom("reopen ms", polarity: .prefersSmaller),
                      .custom("disk MB", polarity: .prefersSmaller)],
            warmupIterations: 0, maxDuration: .seconds(120), maxIterations: 1)
    ) { benchmark in
        let directory = freshDirectory("space-annals")
        let rows = 4096
        // Small memtables and segments, so flushes, compactions and log cleaning happen while the
        // rows are overwritten (the defaults, 64 MiB each, would hold this whole workload in memory).
        let options = StoreOptions(log: LogOptions(segmentBytes: 1 << 20), memtableBytes: 1 << 20)
        var store = try Store.open(directory: directory, options: options)
        var baseline = 0
        for round in 0...10 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<64 {
                    group.addTask { [store] in
                        for row in stride(from: lane, to: rows, by: 64) {
                            try await store.write([.put(
                                "t", Key(.int(Int64(row % 16))), Key(.int(Int64(row))),
                                Row(["v": Workload.states[(row + round) % Workload.states.count]]))])
                        }
                    }
                }
                try await group.waitForAll()
            }
            if round == 0 {
                try await settle(store)
                baseline = directoryBytes(directory)
            }
        }
        try await settle(store)
        await store.close()
        let disk = directoryBytes(directory)
        let start = ContinuousClock.now
        store = try Store.open(directory: directory, options: options)
        let reopen = ContinuousClock.now - start
        await store.close()
        // Bytes on disk after 10 overwrites over bytes on disk with each row written once.
        benchmark.measurement(.custom("space amplification x100", polarity: .prefersSmaller), disk * 100 / max(1, baseline))
        benchmark.measurement(.custom("reopen ms", polarity: .prefersSmaller), micros(reopen) / 1000)
        benchmark.measurement(.custom("disk MB", polarity: .prefersSmaller), disk / 1_000_000)
    }
}
