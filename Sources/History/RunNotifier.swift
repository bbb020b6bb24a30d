public import Persistence
import Synchronization

/// Wakes long polls (history with `wait_new_event`, queries waiting for a workflow task) when a
/// run changes. Each run has a change counter: read it, look at the state, then wait for a
/// counter above what was read — no change between the look and the wait is missed. A waiter
/// that only cares about the run closing (a client waiting for a result) is woken only by the
/// change that closes it, not by each of the run's changes before.
public final class RunNotifier: Sendable {
    private struct Waiter {
        let id: UInt64
        let closeOnly: Bool
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var versions: [WorkflowKey: UInt64] = [:]
        var waiters: [WorkflowKey: [Waiter]] = [:]
        var nextID: UInt64 = 1
    }

    /// Runs whose counters are remembered; beyond it, counters of runs nobody waits on are dropped.
    static let maxTrackedRuns = 100_000
    private let state = Mutex(State())

    public init() {}

    public func version(_ key: WorkflowKey) -> UInt64 { state.withLock { $0.versions[key] ?? 0 } }

    /// Waiters registered for the run (diagnostics, tests).
    public func waiting(_ key: WorkflowKey) -> Int { state.withLock { $0.waiters[key]?.count ?? 0 } }

    /// The run changed; `closed`: the change closed it.
    public func notify(_ key: WorkflowKey, closed: Bool = true) {
        let waiters: [Waiter] = state.withLock { state in
            if state.versions.count >= RunNotifier.maxTrackedRuns {
                state.versions = state.versions.filter { state.waiters[$0.key] != nil }
            }
            state.versions[key, default: 0] += 1
            guard let list = state.waiters.removeValue(forKey: key) else { return [] }
            if closed { return list }
            let kept = list.filter(\.closeOnly)
            if !kept.isEmpty { state.waiters[key] = kept }
            return list.filter { !$0.closeOnly }
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns when the run's counter exceeds `seen` (with `closeOnly`: when a change that closes
    /// the run arrives, or a change before the wait began), or after `timeout`, or on cancellation.
    public func wait(_ key: WorkflowKey, after seen: UInt64, timeout: Duration, closeOnly: Bool = false) async {
        let id: UInt64 = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let ready: Bool = self.state.withLock { state in
                            if (state.versions[key] ?? 0) > seen || Task<Never, Never>.isCancelled { return true }
                            state.waiters[key, default: []].append(Waiter(id: id, closeOnly: closeOnly, continuation: continuation))
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                } onCancel: {
                    self.cancel(id, key)
                }
            }
            group.addTask { try? await ContinuousClock().sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func cancel(_ id: UInt64, _ key: WorkflowKey) {
        let waiter: Waiter? = state.withLock { state in
            guard var list = state.waiters[key], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = list.remove(at: index)
            state.waiters[key] = list.isEmpty ? nil : list
            return waiter
        }
        waiter?.continuation.resume()
    }
}
