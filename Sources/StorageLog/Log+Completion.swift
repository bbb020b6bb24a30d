import StorageIO

/// The completion thread: runs the completions of durable (or failed) groups in log order, so the
/// writer thread can start the next group's write and `fdatasync` at once instead of waiting for
/// its callers' per-group work (the store applies each group to its memtable here).
///
/// The queue between the two threads holds at most `LogLimits.maxGroupsAwaitingCompletion`
/// groups; a writer that finds it full waits, so memory stays bounded when completions are slow.
final class CompletionQueue: @unchecked Sendable {
    enum Item {
        /// A group's records with their outcome, then the log's group handler (when `handler`).
        case group([Log.PendingAppend], Result<[LogPosition], any Error>, handler: Bool)
        /// Runs once every item before it has run (the close path waits on it).
        case barrier(@Sendable () -> Void)
    }

    private let lock = ConditionLock()
    private var items: [Item] = []
    private var stopped = false
    private let capacity: Int
    private var groupHandler: (@Sendable () -> Void)?

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Starts the thread (once, when the log has opened).
    func start() {
        startThread { [self] in run() }
    }

    /// Sets the handler run after the completions of each durable group (`Log.onGroupDurable`).
    func setGroupHandler(_ handler: @escaping @Sendable () -> Void) {
        lock.withLock { groupHandler = handler }
    }

    /// Queues an item, waiting while the queue is full. Called by the writer thread only.
    func push(_ item: Item) {
        lock.lock()
        while items.count >= capacity { lock.wait() }
        items.append(item)
        lock.broadcast()
        lock.unlock()
    }

    /// Runs every queued item, then ends the thread.
    func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
    }

    private func run() {
        while true {
            lock.lock()
            while items.isEmpty && !stopped { lock.wait() }
            if items.isEmpty {
                lock.unlock()
                return
            }
            let item = items.removeFirst()
            let groupHandler = self.groupHandler
            lock.broadcast()
            lock.unlock()
            switch item {
            case .group(let entries, .success(let positions), let handler):
                for (entry, position) in zip(entries, positions) { entry.completion(.success(position)) }
                if handler { groupHandler?() }
            case .group(let entries, .failure(let error), _):
                for entry in entries { entry.completion(.failure(error)) }
            case .barrier(let body):
                body()
            }
        }
    }
}
