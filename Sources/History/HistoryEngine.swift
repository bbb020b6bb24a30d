public import Matching
public import Persistence
import SwiftProtobuf
import Synchronization
import TemporalAPI

/// What waits in a workflow task queue: a workflow task (validated against mutable state when a
/// poller takes it) or a query for a worker to answer.
public enum WorkflowQueueItem: Sendable {
    case workflowTask(key: WorkflowKey, scheduledEventID: Int64)
    case query(QueryTask)
}

/// An activity attempt waiting in an activity task queue.
public struct ActivityQueueItem: Sendable {
    public var key: WorkflowKey
    public var scheduledEventID: Int64
    public var attempt: Int32
}

public struct HistoryConfiguration: Sendable {
    public var shardCount: Int
    /// Longest a long poll for tasks waits before answering empty.
    public var longPollExpiry: Duration = .seconds(60)
    /// Longest a history long poll (`wait_new_event`) waits before answering empty with a token.
    public var historyLongPollExpiry: Duration = .seconds(20)
    /// Events per GetWorkflowExecutionHistory page and per poll response page.
    public var historyPageEvents = 1_000
    /// Tasks matching holds in memory per task queue; beyond it a task waits in its durable row
    /// and is offered again once the queue has drained to half (`redeliverRefused`).
    public var maxBacklogPerQueue = 100_000
    /// A failed transfer task (start a child, signal another run, …) is retried after this,
    /// doubling per attempt up to `transferRetryMaxDelay`, while the process runs.
    public var transferRetryBaseDelay: Duration = .seconds(1)
    public var transferRetryMaxDelay: Duration = .seconds(60)

    public init(shardCount: Int) {
        self.shardCount = shardCount
    }
}

/// The history service: every change to a run goes through `update` (load mutable state, apply
/// the change, commit one history node and one fenced conditional batch, then run effects).
public final class HistoryEngine: Sendable {
    let persistence: any Persistence
    let configuration: HistoryConfiguration
    let clock: any WallClock
    public let workflowMatcher: TaskQueueMatcher<WorkflowQueueItem>
    public let activityMatcher: TaskQueueMatcher<ActivityQueueItem>
    public let notifier = RunNotifier()
    let queries = QueryRegistry()
    let updates = UpdateRegistry()
    let shards: [Shard]
    let timerQueues: [TimerQueue]
    let logger: @Sendable (String) -> Void
    private let running = Mutex<[Task<Void, Never>]>([])
    /// Queues whose refused tasks are being offered again (one sweep per queue at a time).
    let redeliveries = Mutex<Set<String>>([])
    /// Set by `shutdown`: background retries stop.
    let stopped = Mutex(false)

    private init(
        persistence: any Persistence, configuration: HistoryConfiguration, clock: any WallClock, shards: [Shard],
        logger: @escaping @Sendable (String) -> Void
    ) {
        self.persistence = persistence
        self.configuration = configuration
        self.clock = clock
        self.shards = shards
        self.timerQueues = shards.map { _ in TimerQueue() }
        self.workflowMatcher = TaskQueueMatcher(maxBacklogPerQueue: configuration.maxBacklogPerQueue)
        self.activityMatcher = TaskQueueMatcher(maxBacklogPerQueue: configuration.maxBacklogPerQueue)
        self.logger = logger
    }

    /// Acquires every shard, re-offers the tasks persisted as not yet started, loads the timers
    /// and finishes visibility tasks left by earlier versions (visibility now travels in the
    /// commit's batch), then starts the timer queues.
    public static func start(
        persistence: any Persistence, configuration: HistoryConfiguration, clock: any WallClock = SystemWallClock(),
        logger: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> HistoryEngine {
        var shards: [Shard] = []
        let sticky = StickyQueues()
        for id in 0..<configuration.shardCount {
            shards.append(try await Shard.acquire(Int32(id), persistence: persistence, stickyQueues: sticky))
        }
        let engine = HistoryEngine(persistence: persistence, configuration: configuration, clock: clock, shards: shards, logger: logger)
        engine.workflowMatcher.onRoom { [weak engine] queue in engine?.redeliverRefused(queue.namespaceID, queue.name, workflow: true) }
        engine.activityMatcher.onRoom { [weak engine] queue in engine?.redeliverRefused(queue.namespaceID, queue.name, workflow: false) }
        for (index, shard) in shards.enumerated() {
            try await engine.recover(shard: shard, index: index)
        }
        engine.running.withLock { tasks in
            for index in shards.indices {
                tasks.append(Task { await engine.runTimerQueue(index) })
            }
        }
        return engine
    }

    /// Stops the timer queues and ends every waiting poll.
    public func shutdown() async {
        stopped.withLock { $0 = true }
        let tasks = running.withLock { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        workflowMatcher.close()
        activityMatcher.close()
    }

    func shardIndex(namespaceID: String, workflowID: String) -> Int {
        Shard.index(namespaceID: namespaceID, workflowID: workflowID, shardCount: shards.count)
    }

    func shard(for key: WorkflowKey) -> Shard { shards[shardIndex(namespaceID: key.namespaceID, workflowID: key.workflowID)] }

    // MARK: - Loading and committing

    /// The run's mutable state (cached, else read).
    func load(_ key: WorkflowKey, shard: Shard) async throws(HistoryError) -> MutableState {
        if let ms = shard.cached(key) { return ms }
        do {
            let snapshot = try await persistence.getWorkflowExecution(shardID: shard.id, key: key)
            let ms = try MutableStateCodec.decode(snapshot.mutableState)
            shard.cache(ms)
            return ms
        } catch PersistenceError.notFound {
            throw .notFound("workflow not found for ID: \(key.workflowID)")
        } catch {
            throw HistoryError.from(error)
        }
    }

    /// The current run of a workflow id.
    func currentRunID(namespaceID: String, workflowID: String) async throws(HistoryError) -> String {
        let shard = shards[shardIndex(namespaceID: namespaceID, workflowID: workflowID)]
        do {
            return try await persistence.getCurrentExecution(shardID: shard.id, namespaceID: namespaceID, workflowID: workflowID).runID
        } catch PersistenceError.notFound {
            throw .notFound("workflow not found for ID: \(workflowID)")
        } catch {
            throw HistoryError.from(error)
        }
    }

    /// Resolves an empty run id to the current run.
    public func resolveKey(namespaceID: String, workflowID: String, runID: String) async throws(HistoryError) -> WorkflowKey {
        guard !workflowID.isEmpty else { throw .invalidArgument("workflow id is not set") }
        let run = runID.isEmpty ? try await currentRunID(namespaceID: namespaceID, workflowID: workflowID) : runID
        return WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: run)
    }

    /// Runs `body` on the run's mutable state under the run's lock and commits what it built.
    /// `body` may return without changes (no events, tasks or state change): nothing is written.
    func update<R: Sendable>(
        _ key: WorkflowKey, _ body: (inout WorkflowTransaction) throws(HistoryError) -> R
    ) async throws(HistoryError) -> R {
        let shard = shard(for: key)
        do {
            return try await shard.locks.withLock(key) {
                try await shard.ensureRange()
                let ms = try await load(key, shard: shard)
                var tx = WorkflowTransaction(ms: ms, now: clock.nowNanos(), shard: shard)
                let result = try body(&tx)
                if tx.needsWorkflowTask { tx.scheduleWorkflowTask() }
                if tx.ms != ms || !tx.events.isEmpty || !tx.newTasks.isEmpty || !tx.completedTasks.isEmpty || !tx.newRuns.isEmpty {
                    try await commit(&tx, shard: shard, create: nil)
                }
                return result
            }
        } catch {
            throw HistoryError.from(error)
        }
    }

    /// Persists the transaction: its events as one history node (txn id = a fresh task id, chained
    /// to the run's previous node), then the mutable state, tasks and task completions in one
    /// conditional batch. Caches the state and runs the effects only once both are durable.
    func commit(_ tx: inout WorkflowTransaction, shard: Shard, create: CreateWorkflowMode?) async throws {
        // The events and the visibility record travel in the state's conditional batch: one
        // durable record, all of it or none of it.
        var attached = AttachedWrites()
        if let node = try historyNode(&tx, shard: shard) { attached.historyNodes.append(node) }
        tx.ms.dbRecordVersion += 1
        let snapshot = try tx.ms.snapshot()
        if tx.visibilityChanged { attached.visibility.append(visibilityRecord(tx.ms)) }
        var newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])? = nil
        if tx.newRuns.count == 1 {
            if let node = try historyNode(&tx.newRuns[0], shard: shard) { attached.historyNodes.append(node) }
            tx.newRuns[0].ms.dbRecordVersion += 1
            newRun = (try tx.newRuns[0].ms.snapshot(), tx.newRuns[0].newTasks)
            if tx.newRuns[0].visibilityChanged { attached.visibility.append(visibilityRecord(tx.newRuns[0].ms)) }
        }
        precondition(tx.newRuns.count <= 1, "one change creates at most one new run")
        do {
            if let mode = create {
                try await persistence.createWorkflowExecution(
                    shardID: shard.id, rangeID: shard.rangeID, mode: mode, snapshot: snapshot, tasks: tx.newTasks, attached: attached)
            } else {
                try await persistence.updateWorkflowExecution(
                    shardID: shard.id, rangeID: shard.rangeID,
                    mutation: WorkflowMutation(snapshot: snapshot, newTasks: tx.newTasks, completedTasks: tx.completedTasks),
                    newRun: newRun, attached: attached)
            }
        } catch {
            shard.evict(tx.key)
            throw error
        }
        for run in [tx] + tx.newRuns {
            shard.cache(run.ms)
            runEffects(run.effects, ms: run.ms, shard: shard)
            notifier.notify(run.key, closed: !run.ms.isRunning)
            // Updates admitted but never accepted die with the run (their callers, if still
            // waiting, are answered that the run completed); otherwise they would stay in memory.
            if !run.ms.isRunning { updates.dropRun(run.key) }
        }
    }

    /// The transaction's events as one history node (txn id = a fresh task id, chained to the
    /// run's previous node), nil when it has none.
    private func historyNode(_ tx: inout WorkflowTransaction, shard: Shard) throws -> BranchNode? {
        guard let first = tx.events.first, let last = tx.events.last else { return nil }
        let txnID = shard.allocateTaskID()
        var batch = Temporal_Api_History_V1_History()
        batch.events = tx.events
        let node = HistoryNode(
            nodeID: first.eventID, lastEventID: last.eventID, txnID: txnID, prevTxnID: tx.ms.lastEventTxnID,
            events: try batch.serializedBytes())
        tx.ms.lastEventTxnID = txnID
        tx.ms.historySizeBytes += Int64(node.events.count)
        return BranchNode(branch: tx.ms.branch, node: node)
    }

    func runEffects(_ effects: [Effect], ms: MutableState, shard: Shard) {
        let key = ms.key
        for effect in effects {
            switch effect {
            case .dispatchWorkflowTask(let queue, let id):
                workflowMatcher.offer(
                    .workflowTask(key: key, scheduledEventID: id),
                    to: .init(namespaceID: key.namespaceID, name: queue, kind: .workflow))
            case .dispatchActivityTask(let queue, let id, let attempt):
                activityMatcher.offer(
                    ActivityQueueItem(key: key, scheduledEventID: id, attempt: attempt),
                    to: .init(namespaceID: key.namespaceID, name: queue, kind: .activity))
            case .timer(let task):
                timerQueues[Int(shard.id)].add(task)
            case .transfer(let ref, let task):
                Task { await self.processTransfer(key, ref: ref, task: task, shard: shard) }
            }
        }
    }

    // MARK: - Recovery

    private func recover(shard: Shard, index: Int) async throws {
        var transfer = 0, timers = 0, visibility = 0
        for category in HistoryTaskCategory.allCases {
            try await forEachTask(of: shard, category) { task in
                switch category {
                case .transfer:
                    transfer += 1
                    await redeliver(task, shard: shard)
                case .timer:
                    timers += 1
                    timerQueues[index].add(task)
                case .visibility:
                    visibility += 1
                    if let ms = try? await load(task.key, shard: shard) {
                        try await persistence.upsertVisibilityRecord(visibilityRecord(ms))
                    }
                    try await persistence.completeHistoryTask(shardID: shard.id, category: .visibility, key: task.taskKey)
                }
            }
        }
        logger("shard \(shard.id): range \(shard.rangeID), re-offered \(transfer) tasks, \(timers) timers, \(visibility) visibility updates")
    }

    /// Offers again, from their durable rows, the unstarted tasks of a queue whose full backlog
    /// refused some (matching calls this once the queue has drained to half). Tasks still in the
    /// backlog may be offered twice; the second copy is stale when polled and skipped.
    func redeliverRefused(_ namespaceID: String, _ queue: String, workflow: Bool) {
        let sweep = "\(workflow ? "workflow" : "activity")/\(namespaceID)/\(queue)"
        guard redeliveries.withLock({ $0.insert(sweep).inserted }) else { return }
        logger("task queue \(sweep): backlog drained after refusing tasks; offering them again from their rows")
        Task {
            defer { _ = redeliveries.withLock { $0.remove(sweep) } }
            for shard in shards {
                // A read error ends this shard's sweep; the next overflow sweeps again.
                try? await forEachTask(of: shard, .transfer) { task in
                    if task.key.namespaceID == namespaceID { await redeliver(task, shard: shard, onlyQueue: queue, workflow: workflow) }
                }
            }
        }
    }

    /// Every persisted task of one category of a shard, in key order, a page at a time.
    private func forEachTask(
        of shard: Shard, _ category: HistoryTaskCategory, _ body: (HistoryTask) async throws -> Void
    ) async throws {
        let all = HistoryTaskKey(fireTime: Int64.min, taskID: Int64.min)
        let end = HistoryTaskKey(fireTime: Int64.max, taskID: Int64.max)
        var token: [UInt8]? = nil
        repeat {
            let page = try await persistence.getHistoryTasks(
                shardID: shard.id, category: category, min: all, max: end, pageSize: 1_000, pageToken: token)
            for task in page.items { try await body(task) }
            token = page.nextPageToken
        } while token != nil
    }

    /// Offers a persisted transfer task to matching again (with `onlyQueue`, only a dispatch of
    /// that kind to that queue).
    private func redeliver(_ task: HistoryTask, shard: Shard, onlyQueue: String? = nil, workflow: Bool = true) async {
        if onlyQueue != nil {
            // Decode before loading the run: most rows of a sweep are for other queues or kinds.
            switch try? TransferTask.decode(task.data) {
            case .workflowTask where workflow, .activityTask where !workflow: break
            default: return
            }
        }
        guard let decoded = try? TransferTask.decode(task.data), let ms = try? await load(task.key, shard: shard) else { return }
        switch decoded {
        case .workflowTask(let id):
            if let wft = ms.workflowTask, wft.scheduledEventID == id, !wft.isStarted, onlyQueue == nil || onlyQueue == wft.taskQueue {
                runEffects([.dispatchWorkflowTask(taskQueue: wft.taskQueue, scheduledEventID: id)], ms: ms, shard: shard)
            }
        case .activityTask(let id, let attempt):
            if let activity = ms.activities[id], activity.attempt == attempt, !activity.isStarted,
                onlyQueue == nil || onlyQueue == activity.taskQueue
            {
                runEffects([.dispatchActivityTask(taskQueue: activity.taskQueue, scheduledEventID: id, attempt: attempt)], ms: ms, shard: shard)
            }
        case .startChild, .recordChildClosed, .externalRequest, .closeChildren:
            guard onlyQueue == nil else { return }
            runEffects([.transfer(TaskRef(fireTime: 0, taskID: task.taskID), decoded)], ms: ms, shard: shard)
        }
    }
}
