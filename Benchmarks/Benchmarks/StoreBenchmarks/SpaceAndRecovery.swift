import Benchmark
import Foundation
import StorageEngine
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
/// bytes on disk over live bytes, and the time to reopen the store (recovery).
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
        var store = try Store.open(directory: directory)
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
        }
        try await store.compact()
        await store.close()
        let disk = directoryBytes(directory)
        let live = rows * (Workload.stateBytes + 8)
        let start = ContinuousClock.now
        store = try Store.open(directory: directory)
        let reopen = ContinuousClock.now - start
        await store.close()
        benchmark.measurement(.custom("space amplification x100", polarity: .prefersSmaller), disk * 100 / live)
        benchmark.measurement(.custom("reopen ms", polarity: .prefersSmaller), micros(reopen) / 1000)
        benchmark.measurement(.custom("disk MB", polarity: .prefersSmaller), disk / 1_000_000)
    }
}
