import StorageIO

/// The completion thread: runs the completions of durable (or failed) groups in log order, so the
/// writer thread can start the next group's write and `fdatasync` at once instead of waiting for
/// its callers' per-group work (the store applies each group to its memtable here).
///
/// The queue between the two threads holds at most `LogLimits.maxGroupsAwaitingCompletion`
/// groups; a writer that finds it full waits, so memory stays bounded when completions are slow.
///
/// When the writer has no next group to write and nothing is queued or running here, it runs the
/// group's completions itself (`runOrPush`): waking this thread would only add a context switch
/// to every commit of a lightly loaded log. Items still run one at a time, in log order.
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
    /// An item is being run (by this thread, or inline by the writer).
    private var running = false
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

    /// Runs `item` on the caller's thread when nothing is queued or running, else queues it as
    /// `push` does. Called by the writer thread only, holding no lock.
    func runOrPush(_ item: Item) {
        lock.lock()
        guard items.isEmpty && !running && !stopped else {
            lock.unlock()
            push(item)
            return
        }
        running = true
        let groupHandler = self.groupHandler
        lock.unlock()
        execute(item, groupHandler)
        lock.withLock {
            running = false
            lock.broadcast()
        }
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
            while running || (items.isEmpty && !stopped) { lock.wait() }
            if items.isEmpty {
                lock.unlock()
                return
            }
            let item = items.removeFirst()
            let groupHandler = self.groupHandler
            running = true
            lock.broadcast()
            lock.unlock()
            execute(item, groupHandler)
            lock.withLock {
                running = false
                lock.broadcast()
            }
        }
    }

    private func execute(_ item: Item, _ groupHandler: (@Sendable () -> Void)?) {
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
