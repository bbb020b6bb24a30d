import StoreWorkload
// A plain executable running the Annals side of the workflow-task transaction for a fixed time,
// for profilers (`perf record -g .build/release/StoreProfile 10`). Prints transactions/s.
// ANNALS_NOSYNC=1 skips fdatasync (to see the CPU-bound ceiling; never a figure to report).
// ANNALS_SEPARATE_HISTORY_APPEND=1 writes the history append as its own record first (two
// records per transaction, Temporal's Cassandra pattern) instead of in the CAS's record.

import Foundation

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "10") ?? 10
let directory = (ProcessInfo.processInfo.environment["ANNALS_BENCH_DIR"] ?? "/tmp/annals-bench") + "/store-profile"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let store = try AnnalsStore(
    directory: directory, separateHistoryAppend: ProcessInfo.processInfo.environment["ANNALS_SEPARATE_HISTORY_APPEND"] == "1")
let versions = Versions()
let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
var total = 0
let start = ContinuousClock.now
while ContinuousClock.now < deadline {
    let (_, latencies) = try await drive(store, versions, perWorkflow: 16)
    total += latencies.count
}
let elapsed = ContinuousClock.now - start
let (s, atto) = elapsed.components
print("transactions/s: \(Int(Double(total) / (Double(s) + Double(atto) / 1e18)))")
let logStats = store.store.log.stats()
let frames = logStats.segments.reduce(0) { $0 + $1.frames }
print("records per group commit: \(Double(logStats.records) / Double(max(frames, 1)))")
await store.close()
