import Foundation
import Synchronization

/// Per-workflow next version, kept across iterations of one benchmark.
public final class Versions: @unchecked Sendable {
    public init() {}
    public var next = [Int](repeating: 0, count: Workload.workflows)
}

/// Runs `perWorkflow` transactions for every workflow, 64 in flight, on Annals. Returns seconds
/// and per-transaction latencies in microseconds.
public func drive(_ store: AnnalsStore, _ versions: Versions, perWorkflow: Int) async throws -> (Double, [Int]) {
    let start = ContinuousClock.now
    let snapshot = versions.next
    let latencies = try await withThrowingTaskGroup(of: [Int].self) { group in
        for workflow in 0..<Workload.workflows {
            group.addTask {
                var mine: [Int] = []
                for step in 0..<perWorkflow {
                    let t0 = ContinuousClock.now
                    try await store.transaction(workflow: workflow, version: snapshot[workflow] + step)
                    mine.append(micros(ContinuousClock.now - t0))
                }
                return mine
            }
        }
        var all: [Int] = []
        for try await lane in group { all += lane }
        return all
    }
    for workflow in 0..<Workload.workflows { versions.next[workflow] += perWorkflow }
    return (seconds(ContinuousClock.now - start), latencies)
}

/// The same for a blocking store, from `threads` OS threads each owning workflows w ≡ t (mod threads).
public func drive(_ store: any BlockingStore, _ versions: Versions, perWorkflow: Int, threads: Int) async throws -> (Double, [Int]) {
    try await driveThreads(threads, versions, perWorkflow: perWorkflow) { t, snapshot in
        var mine: [Int] = []
        for step in 0..<perWorkflow {
            for workflow in stride(from: t, to: Workload.workflows, by: threads) {
                let t0 = ContinuousClock.now
                try store.transaction(workflow: workflow, version: snapshot[workflow] + step)
                mine.append(micros(ContinuousClock.now - t0))
            }
        }
        return mine
    }
}

/// Runs `lane(t, versionsBefore)` on `threads` OS threads (t = 0..<threads), each returning its
/// transactions' latencies in microseconds; then advances every workflow by `perWorkflow`.
/// Returns seconds and all latencies, or throws the first lane's failure.
public func driveThreads(
    _ threads: Int, _ versions: Versions, perWorkflow: Int, lane: @escaping @Sendable (Int, [Int]) throws -> [Int]
) async throws -> (Double, [Int]) {
    let start = ContinuousClock.now
    let snapshot = versions.next
    let results = Mutex<([Int], String?)>(([], nil))
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let remaining = Mutex(threads)
        for t in 0..<threads {
            Thread.detachNewThread {
                do {
                    let mine = try lane(t, snapshot)
                    results.withLock { $0.0 += mine }
                } catch {
                    results.withLock { $0.1 = "\(error)" }
                }
                if remaining.withLock({ $0 -= 1; return $0 }) == 0 { done.resume() }
            }
        }
    }
    let (latencies, failure) = results.withLock { $0 }
    if let failure { throw BenchmarkFailure(description: failure) }
    for workflow in 0..<Workload.workflows { versions.next[workflow] += perWorkflow }
    return (seconds(ContinuousClock.now - start), latencies)
}

public func micros(_ d: Duration) -> Int { Int(seconds(d) * 1e6) }
public func seconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) / 1e18
}

