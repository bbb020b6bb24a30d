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
    let start = ContinuousClock.now
    let snapshot = versions.next
    let results = Mutex<([Int], String?)>(([], nil))
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let remaining = Mutex(threads)
        for t in 0..<threads {
            Thread.detachNewThread {
                var mine: [Int] = []
                var failure: String? = nil
                outer: for step in 0..<perWorkflow {
                    for workflow in stride(from: t, to: Workload.workflows, by: threads) {
                        let t0 = ContinuousClock.now
                        do {
                            try store.transaction(workflow: workflow, version: snapshot[workflow] + step)
                        } catch {
                            failure = "\(error)"
                            break outer
                        }
                        mine.append(micros(ContinuousClock.now - t0))
                    }
                }
                results.withLock { $0.0 += mine; if let failure { $0.1 = failure } }
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

