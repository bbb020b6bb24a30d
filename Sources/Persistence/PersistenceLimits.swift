/// The persistence layer's limits. Requests over them fail with `PersistenceError.invalidArgument`.
public enum PersistenceLimits {
    /// Items in one page of any listing (executions, history tasks, task queues, namespaces,
    /// visibility records).
    public static let maxPageItems = 1000
    /// History batches (nodes) in one page of `readHistoryBranch`.
    public static let maxHistoryPageNodes = 1000
    /// Tasks returned by one `getTasks` call.
    public static let maxTaskQueueReadTasks = 1000
    /// Tasks written by one `createTasks` call or carried by one execution write.
    public static let maxTasksPerWrite = 1000
    /// History nodes, and visibility records, attached to one execution write (`AttachedWrites`).
    public static let maxAttachedWrites = 16
    /// Length of a visibility query text.
    public static let maxQueryBytes = 32 << 10
    /// Nesting depth of a visibility query (parentheses and NOT).
    public static let maxQueryDepth = 64
    /// Bits of a task id below the shard's range id: task ids are `rangeID << 20 | sequence`.
    public static let taskIDSequenceBits = 20
    /// Attempts of a read-then-conditional-write when a concurrent writer changed a row the
    /// operation does not fail on (the current-run row of an update, a visibility lookup row).
    public static let maxConditionalRetries = 32
}

/// Hands out the task ids of one shard range: `rangeID << taskIDSequenceBits | sequence`. When it
/// runs out (`next()` returns nil) the owner renews the range (acquires the shard again with
/// `rangeID + 1` through `updateShard`) and starts a new allocator.
public struct TaskIDAllocator: Sendable, Equatable {
    public let rangeID: Int64
    public private(set) var nextSequence: Int64

    public init(rangeID: Int64, nextSequence: Int64 = 0) {
        precondition(rangeID >= 0 && rangeID < (Int64(1) << (63 - PersistenceLimits.taskIDSequenceBits)), "range id out of range")
        self.rangeID = rangeID
        self.nextSequence = nextSequence
    }

    /// Ids per range.
    public static var idsPerRange: Int64 { Int64(1) << PersistenceLimits.taskIDSequenceBits }

    /// The next task id of the range, or nil when the range is used up.
    public mutating func next() -> Int64? {
        guard nextSequence < Self.idsPerRange else { return nil }
        defer { nextSequence += 1 }
        return rangeID << PersistenceLimits.taskIDSequenceBits | nextSequence
    }
}

extension ExecutionState {
    /// Closed as a create with `CreateWorkflowMode.updateCurrent` requires of the current run:
    /// the run completed, or its status is no longer running.
    public var isClosed: Bool { state == .completed || status.isClosed }
}

func checkPageSize(_ pageSize: Int, max: Int = PersistenceLimits.maxPageItems) throws {
    guard pageSize > 0, pageSize <= max else {
        throw PersistenceError.invalidArgument("page size must be 1...\(max), got \(pageSize)")
    }
}
