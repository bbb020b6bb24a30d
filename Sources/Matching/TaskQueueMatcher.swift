import DequeModule
import Synchronization

/// Matching for one process: in-memory task queues where a task meets a waiting poller directly
/// (sync match) or waits in a bounded FIFO backlog until one arrives; long polls end empty at
/// their deadline.
///
/// Durability is not matching's job here: every task it holds is also a row persisted by the
/// history service in the same batch that created it (the transfer task, deleted only when the
/// task starts), and history re-offers those rows after a restart. So a task lost from memory
/// is never lost for good: a task refused by a full backlog is offered again from its row once
/// the queue has drained to half (`onRoom`), a task that reached a poller which went away is
/// re-queued, every unstarted row is re-offered at a restart, and timeouts cover tasks that
/// started but whose worker vanished.
public final class TaskQueueMatcher<Item: Sendable>: Sendable {
    public struct QueueName: Hashable, Sendable, CustomStringConvertible {
        public var namespaceID: String
        public var name: String
        public var kind: Kind

        public enum Kind: Sendable, Hashable {
            case workflow
            case activity
        }

        public init(namespaceID: String, name: String, kind: Kind) {
            self.namespaceID = namespaceID
            self.name = name
            self.kind = kind
        }

        public var description: String { "\(namespaceID)/\(name)/\(kind)" }
    }

    /// Tasks held per queue; offers beyond it are refused (the caller's durable row remains).
    public let maxBacklogPerQueue: Int
    /// Pollers waiting per queue; polls beyond it are answered empty at once.
    public let maxPollersPerQueue: Int

    private struct Poller {
        let id: UInt64
        let continuation: CheckedContinuation<Item?, Never>
    }

    private struct Queue {
        var backlog = Deque<Item>()
        var pollers = Deque<Poller>()
        /// Identity and time of the most recent polls, for DescribeTaskQueue.
        var recentPollers: [String: Int64] = [:]
        /// An offer was refused (full backlog) since the room handler last ran for this queue.
        var overflowed = false
    }

    private struct State {
        var queues: [QueueName: Queue] = [:]
        var nextPollerID: UInt64 = 1
        var closed = false
    }

    private let state = Mutex(State())
    private let roomHandler = Mutex<(@Sendable (QueueName) -> Void)?>(nil)

    public init(maxBacklogPerQueue: Int = 100_000, maxPollersPerQueue: Int = 1_000) {
        self.maxBacklogPerQueue = maxBacklogPerQueue
        self.maxPollersPerQueue = maxPollersPerQueue
    }

    /// Sets what runs (outside matching's lock) when a queue that refused an offer has drained to
    /// half its backlog limit: the owner of the refused tasks' durable rows offers them again.
    /// It runs once per overflow; a refusal after it arms it again.
    public func onRoom(_ handler: @escaping @Sendable (QueueName) -> Void) {
        roomHandler.withLock { $0 = handler }
    }

    /// Hands `task` to a waiting poller, or queues it (at the front with `urgent`, for queries).
    /// Returns false when the backlog is full or matching is closed.
    @discardableResult
    public func offer(_ task: Item, to queue: QueueName, urgent: Bool = false) -> Bool {
        let poller: Poller? = state.withLock { state in
            if state.closed { return nil }
            if let poller = state.queues[queue]?.pollers.popFirst() { return poller }
            return nil
        }
        if let poller {
            poller.continuation.resume(returning: task)
            return true
        }
        return state.withLock { state in
            if state.closed { return false }
            return Self.modify(&state, queue) { q in
                if let p = q.pollers.popFirst() {
                    // A poller arrived between the two locks: hand it over now.
                    p.continuation.resume(returning: task)
                    return true
                }
                guard q.backlog.count < maxBacklogPerQueue else {
                    q.overflowed = true
                    return false
                }
                if urgent { q.backlog.prepend(task) } else { q.backlog.append(task) }
                return true
            }
        }
    }

    /// Mutates a queue in place. (Copying it out of the dictionary and back made every change
    /// copy its backlog and pollers: O(backlog) per offer once tasks pile up.)
    private static func modify<R>(_ state: inout State, _ queue: QueueName, _ body: (inout Queue) -> R) -> R {
        body(&state.queues[queue, default: Queue()])
    }

    /// The next task of `queue`, waiting at most `timeout`; nil when it expires, when the calling
    /// task is cancelled, or when matching closes.
    public func poll(_ queue: QueueName, identity: String, nowNanos: Int64, timeout: Duration) async -> Item? {
        await withTaskGroup(of: Item?.self) { group in
            group.addTask { await self.waitForTask(queue, identity: identity, nowNanos: nowNanos) }
            group.addTask {
                try? await ContinuousClock().sleep(for: timeout)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            // The other child finishes too; if the wait got a task in the race, keep it or re-queue it.
            if let second = await group.next(), let task = second {
                if first == nil { return task }
                self.offer(task, to: queue, urgent: true)
            }
            return first
        }
    }

    private func waitForTask(_ queue: QueueName, identity: String, nowNanos: Int64) async -> Item? {
        let id: UInt64? = state.withLock { state in
            state.queues[queue, default: Queue()].recentPollers[identity] = nowNanos
            let id = state.nextPollerID
            state.nextPollerID += 1
            return id
        }
        guard let id else { return nil }
        let result: Item? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Item?, Never>) in
                let (immediate, room): (Item??, Bool) = state.withLock { state in
                    if state.closed || Task.isCancelled { return (.some(nil), false) }
                    return Self.modify(&state, queue) { q in
                        if let task = q.backlog.popFirst() {
                            let room = q.overflowed && q.backlog.count <= maxBacklogPerQueue / 2
                            if room { q.overflowed = false }
                            return (.some(task), room)
                        }
                        if q.pollers.count >= maxPollersPerQueue { return (.some(nil), false) }
                        q.pollers.append(Poller(id: id, continuation: continuation))
                        return (.none, false)
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
                if room, let handler = roomHandler.withLock({ $0 }) { handler(queue) }
            }
        } onCancel: {
            self.removePoller(id, from: queue)
        }
        return result
    }

    private func removePoller(_ id: UInt64, from queue: QueueName) {
        let removed: Poller? = state.withLock { state in
            guard state.queues[queue] != nil else { return nil }
            return Self.modify(&state, queue) { q in
                guard let index = q.pollers.firstIndex(where: { $0.id == id }) else { return nil }
                return q.pollers.remove(at: index)
            }
        }
        removed?.continuation.resume(returning: nil)
    }

    /// Tasks queued and pollers waiting, per queue (DescribeTaskQueue, metrics).
    public func snapshot(_ queue: QueueName) -> (backlog: Int, pollers: [String: Int64]) {
        state.withLock { state in
            let q = state.queues[queue] ?? Queue()
            return (q.backlog.count, q.recentPollers)
        }
    }

    /// Removes queued tasks for which `isStale` holds (e.g. tasks of a closed workflow).
    public func removeAll(from queue: QueueName, where isStale: (Item) -> Bool) {
        state.withLock { state in
            guard state.queues[queue] != nil else { return }
            Self.modify(&state, queue) { q in q.backlog = Deque(q.backlog.filter { !isStale($0) }) }
        }
    }

    /// Removes and returns every queued task of `queue` (a queue nobody will poll any more).
    public func drain(_ queue: QueueName) -> [Item] {
        state.withLock { state in
            guard state.queues[queue] != nil else { return [] }
            return Self.modify(&state, queue) { q in
                let items = Array(q.backlog)
                q.backlog = Deque()
                return items
            }
        }
    }

    /// Ends every waiting poll with nil and refuses new work.
    public func close() {
        let pollers: [Poller] = state.withLock { state in
            state.closed = true
            let all = state.queues.values.flatMap { $0.pollers }
            state.queues = [:]
            return all
        }
        for poller in pollers { poller.continuation.resume(returning: nil) }
    }
}
