import Synchronization

/// Sticky queues of workers that shut down (ShutdownWorker): no more tasks go there.
final class StickyQueues: Sendable {
    /// Names remembered; the oldest is forgotten first (a long-gone worker's queue).
    static let maxRemembered = 10_000
    private let dead = Mutex<(set: Set<String>, order: [String])>(([], []))

    func isLive(_ name: String) -> Bool { !dead.withLock { $0.set.contains(name) } }

    func markDead(_ name: String) {
        dead.withLock { state in
            guard state.set.insert(name).inserted else { return }
            state.order.append(name)
            if state.order.count > StickyQueues.maxRemembered { state.set.remove(state.order.removeFirst()) }
        }
    }
}
