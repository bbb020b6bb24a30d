import StoreWorkload
// A plain executable running the Annals side of the workflow-task transaction for a fixed time,
// for profilers (`perf record -g .build/release/StoreProfile 10`). Prints transactions/s.
// A second argument picks the reads instead: `StoreProfile 10 reads` (point reads of state rows)
// or `StoreProfile 10 scans` (100-event history scans), after 2 s of transactions to fill it.
// ANNALS_NOSYNC=1 skips fdatasync (to see the CPU-bound ceiling; never a figure to report).
// ANNALS_SEPARATE_HISTORY_APPEND=1 writes the history append as its own record first (two
// records per transaction, Temporal's Cassandra pattern) instead of in the CAS's record.
// It also prints the spread of its iterations' rates (the benchmark reports their median);
// ANNALS_PRINT_ITERATIONS=1 prints each one, in order, in thousands; ANNALS_PER_WORKFLOW=N sets
// an iteration's transactions per workflow (16; the benchmark runs 32).

import Foundation

/// Exits with status 2 after naming what was wrong with the command line.
func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("StoreProfile: \(message)\n".utf8))
    exit(2)
}

let runSecondsText = CommandLine.arguments.dropFirst().first ?? "10"
guard let runSeconds = Double(runSecondsText), runSeconds > 0, runSeconds.isFinite else {
    usageError("the run time must be a positive number of seconds, not \"\(runSecondsText)\"")
}
let perWorkflowText = ProcessInfo.processInfo.environment["ANNALS_PER_WORKFLOW"] ?? "16"
guard let perWorkflow = Int(perWorkflowText), perWorkflow > 0 else {
    usageError("ANNALS_PER_WORKFLOW must be a positive whole number, not \"\(perWorkflowText)\"")
}
let mode = CommandLine.arguments.dropFirst(2).first ?? "transactions"
guard ["transactions", "reads", "scans"].contains(mode) else {
    usageError("the second argument must be reads or scans (or absent, for transactions), not \"\(mode)\"")
}
let directory = (ProcessInfo.processInfo.environment["ANNALS_BENCH_DIR"] ?? "/tmp/annals-bench") + "/store-profile"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let store = try AnnalsStore(
    directory: directory, separateHistoryAppend: ProcessInfo.processInfo.environment["ANNALS_SEPARATE_HISTORY_APPEND"] == "1")
let versions = Versions()
if mode == "reads" || mode == "scans" {
    let fill = ContinuousClock.now + .seconds(2)
    while ContinuousClock.now < fill { _ = try await drive(store, versions, perWorkflow: 16) }
    // Off the main actor: top-level code runs on it, and each call would hop away and back.
    let readStart = ContinuousClock.now
    let (reads, checksum) = try await Task.detached {
        let readDeadline = ContinuousClock.now + .milliseconds(Int(runSeconds * 1000))
        var reads = 0
        var checksum = 0
        while ContinuousClock.now < readDeadline {
            for i in 0..<1000 {
                checksum &+= mode == "reads"
                    ? try await store.readState(workflow: i % Workload.workflows)
                    : try await store.readHistory(workflow: i % Workload.workflows, limit: 100)
            }
            reads += 1000
        }
        return (reads, checksum)
    }.value
    print("\(mode)/s: \(Int(Double(reads) / seconds(ContinuousClock.now - readStart))) (checksum \(checksum))")
    await store.close()
    exit(0)
}
let deadline = ContinuousClock.now + .milliseconds(Int(runSeconds * 1000))
var total = 0
/// Transactions/s of each `drive` call (one iteration: `perWorkflow` transactions of all 64 workflows).
var rates: [Double] = []
let start = ContinuousClock.now
while ContinuousClock.now < deadline {
    let (iterationSeconds, latencies) = try await drive(store, versions, perWorkflow: perWorkflow)
    total += latencies.count
    rates.append(Double(latencies.count) / iterationSeconds)
}
print("transactions/s: \(Int(Double(total) / seconds(ContinuousClock.now - start)))")
let logStats = store.store.log.stats()
let frames = logStats.segments.reduce(0) { $0 + $1.frames }
if ProcessInfo.processInfo.environment["ANNALS_PRINT_ITERATIONS"] == "1" { print(rates.map { String(Int($0 / 1000)) }.joined(separator: " ")) }
rates.sort()
if !rates.isEmpty {
    print("iterations (transactions/s) p0 p25 p50 p75 p100:", [0, 25, 50, 75, 100].map { Int(rates[min(rates.count - 1, rates.count * $0 / 100)]) })
}
print("records per group commit: \(Double(logStats.records) / Double(max(frames, 1)))")
await store.close()
