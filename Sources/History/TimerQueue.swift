import Persistence
import Synchronization

/// A shard's due-time ordered set of timer tasks, in memory (loaded from persistence at start,
/// added to after each commit). `HistoryEngine.runTimerQueue` fires what is due.
final class TimerQueue: Sendable {
    /// Timers held in memory per shard. Beyond it, the latest are dropped from memory (their rows
    /// stay) and the queue reloads from persistence once the held ones are fired.
    static let maxHeldTimers = 1_000_000

    private struct State {
        var byKey: [HistoryTaskKey: HistoryTask] = [:]
        var order: [HistoryTaskKey] = []  // sorted descending: the earliest is last
        var overflowed = false
    }

    private let state = Mutex(State())

    func add(_ task: HistoryTask) {
        state.withLock { state in
            let key = task.taskKey
            guard state.byKey[key] == nil else { return }
            if state.byKey.count >= TimerQueue.maxHeldTimers {
                state.overflowed = true
                return
            }
            state.byKey[key] = task
            // Binary search for the insertion point in the descending array.
            var lo = 0, hi = state.order.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if state.order[mid] > key { lo = mid + 1 } else { hi = mid }
            }
            state.order.insert(key, at: lo)
        }
    }

    /// Removes and returns every task due at `now`, earliest first, at most `limit`.
    func takeDue(now: Int64, limit: Int) -> [HistoryTask] {
        state.withLock { state in
            var due: [HistoryTask] = []
            while due.count < limit, let last = state.order.last, last.fireTime <= now {
                state.order.removeLast()
                if let task = state.byKey.removeValue(forKey: last) { due.append(task) }
            }
            return due
        }
    }

    /// When the earliest held timer fires, and whether timers were dropped for lack of room.
    var next: (fireTime: Int64?, overflowed: Bool) {
        state.withLock { ($0.order.last?.fireTime, $0.overflowed) }
    }

    func clearOverflow() { state.withLock { $0.overflowed = false } }
}

extension HistoryEngine {
    /// How often an idle timer queue looks again (the timer precision when a new timer lands
    /// before the earliest one held).
    static let timerTick: Duration = .milliseconds(20)
    /// Timers fired concurrently per shard.
    static let timersPerTick = 256

    func runTimerQueue(_ index: Int) async {
        let queue = timerQueues[index]
        let shard = shards[index]
        while !Task.isCancelled {
            let due = queue.takeDue(now: clock.nowNanos(), limit: HistoryEngine.timersPerTick)
            if due.isEmpty {
                if queue.next.fireTime == nil && queue.next.overflowed {
                    queue.clearOverflow()
                    await reloadTimers(shard: shard, queue: queue)
                }
                try? await ContinuousClock().sleep(for: HistoryEngine.timerTick)
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                for task in due {
                    group.addTask { await self.fire(task, shard: shard) }
                }
            }
        }
    }

    private func reloadTimers(shard: Shard, queue: TimerQueue) async {
        var token: [UInt8]? = nil
        repeat {
            guard let page = try? await persistence.getHistoryTasks(
                shardID: shard.id, category: .timer, min: HistoryTaskKey(fireTime: Int64.min, taskID: Int64.min),
                max: HistoryTaskKey(fireTime: Int64.max, taskID: Int64.max), pageSize: 1_000, pageToken: token)
            else { return }
            for task in page.items { queue.add(task) }
            token = page.nextPageToken
        } while token != nil
    }

    /// Fires one timer task: applies it if still relevant, and deletes its row either way.
    func fire(_ task: HistoryTask, shard: Shard) async {
        do {
            let timer = try TimerTask.decode(task.data)
            let applied: Bool = try await update(task.key) { (tx: inout WorkflowTransaction) throws(HistoryError) -> Bool in
                let relevant = try self.applyTimer(timer, task: task, tx: &tx)
                if relevant { tx.complete(.timer, TaskRef(fireTime: task.fireTime, taskID: task.taskID)) }
                return relevant
            }
            if !applied {
                try await persistence.completeHistoryTask(shardID: shard.id, category: .timer, key: task.taskKey)
            }
        } catch HistoryError.notFound {
            try? await persistence.completeHistoryTask(shardID: shard.id, category: .timer, key: task.taskKey)
        } catch {
            logger("timer task \(task.taskID) of \(task.key) failed, retrying in 1 s: \(error)")
            // The row stays; hold the task back for a second, then queue it again.
            let queue = timerQueues[Int(shard.id)]
            Task {
                try? await ContinuousClock().sleep(for: .seconds(1))
                queue.add(task)
            }
        }
    }
}
