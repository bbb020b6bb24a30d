public import Persistence

/// What a transfer task asks for. Encoded in `HistoryTask.data` as `u8 kind | fields`.
enum TransferTask: Equatable, Sendable {
    case workflowTask(scheduledEventID: Int64)
    case activityTask(scheduledEventID: Int64, attempt: Int32)
    /// Start the child initiated by this event.
    case startChild(initiatedEventID: Int64)
    /// Report this (closed) child run's close to its parent.
    case recordChildClosed
    /// Deliver the signal or cancel request initiated by this event.
    case externalRequest(initiatedEventID: Int64)
    /// Apply the parent close policies of this (closed) run's children.
    case closeChildren

    // Part of the on-disk format. Never change; add a new kind instead.
    private enum Kind: UInt8 {
        case workflowTask = 1
        case activityTask = 2
        case startChild = 3
        case recordChildClosed = 4
        case externalRequest = 5
        case closeChildren = 6
    }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .workflowTask(let id):
            w.u8(Kind.workflowTask.rawValue)
            w.i64(id)
        case .activityTask(let id, let attempt):
            w.u8(Kind.activityTask.rawValue)
            w.i64(id)
            w.i32(attempt)
        case .startChild(let id):
            w.u8(Kind.startChild.rawValue)
            w.i64(id)
        case .recordChildClosed:
            w.u8(Kind.recordChildClosed.rawValue)
        case .externalRequest(let id):
            w.u8(Kind.externalRequest.rawValue)
            w.i64(id)
        case .closeChildren:
            w.u8(Kind.closeChildren.rawValue)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(HistoryError) -> TransferTask {
        var r = ByteReader(bytes, what: "transfer task")
        switch Kind(rawValue: try r.u8()) {
        case .workflowTask: return .workflowTask(scheduledEventID: try r.i64())
        case .activityTask: return .activityTask(scheduledEventID: try r.i64(), attempt: try r.i32())
        case .startChild: return .startChild(initiatedEventID: try r.i64())
        case .recordChildClosed: return .recordChildClosed
        case .externalRequest: return .externalRequest(initiatedEventID: try r.i64())
        case .closeChildren: return .closeChildren
        case nil: throw .internal("unknown transfer task kind \(bytes[0])")
        }
    }
}

/// Temporal's `TimeoutType` numbers.
enum TimeoutKind: Int32, Sendable {
    case startToClose = 1
    case scheduleToStart = 2
    case scheduleToClose = 3
    case heartbeat = 4
}

/// What a timer task does when it fires. Encoded in `HistoryTask.data` as `u8 kind | fields`.
enum TimerTask: Equatable, Sendable {
    case userTimer(timerID: String, startedEventID: Int64)
    case workflowTaskTimeout(scheduledEventID: Int64, attempt: Int32)
    case activityTimeout(scheduledEventID: Int64, attempt: Int32, kind: TimeoutKind)
    case activityRetry(scheduledEventID: Int64, attempt: Int32)
    case workflowRunTimeout
    case stickyScheduleToStart(scheduledEventID: Int64)

    // Part of the on-disk format. Never change; add a new kind instead.
    private enum Kind: UInt8 {
        case userTimer = 1
        case workflowTaskTimeout = 2
        case activityTimeout = 3
        case activityRetry = 4
        case workflowRunTimeout = 5
        case stickyScheduleToStart = 6
    }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .userTimer(let id, let started):
            w.u8(Kind.userTimer.rawValue)
            w.string(id)
            w.i64(started)
        case .workflowTaskTimeout(let id, let attempt):
            w.u8(Kind.workflowTaskTimeout.rawValue)
            w.i64(id)
            w.i32(attempt)
        case .activityTimeout(let id, let attempt, let kind):
            w.u8(Kind.activityTimeout.rawValue)
            w.i64(id)
            w.i32(attempt)
            w.i32(kind.rawValue)
        case .activityRetry(let id, let attempt):
            w.u8(Kind.activityRetry.rawValue)
            w.i64(id)
            w.i32(attempt)
        case .workflowRunTimeout:
            w.u8(Kind.workflowRunTimeout.rawValue)
        case .stickyScheduleToStart(let id):
            w.u8(Kind.stickyScheduleToStart.rawValue)
            w.i64(id)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(HistoryError) -> TimerTask {
        var r = ByteReader(bytes, what: "timer task")
        switch Kind(rawValue: try r.u8()) {
        case .userTimer: return .userTimer(timerID: try r.string(), startedEventID: try r.i64())
        case .workflowTaskTimeout: return .workflowTaskTimeout(scheduledEventID: try r.i64(), attempt: try r.i32())
        case .activityTimeout:
            let id = try r.i64()
            let attempt = try r.i32()
            guard let kind = TimeoutKind(rawValue: try r.i32()) else { throw .internal("unknown activity timeout kind") }
            return .activityTimeout(scheduledEventID: id, attempt: attempt, kind: kind)
        case .activityRetry: return .activityRetry(scheduledEventID: try r.i64(), attempt: try r.i32())
        case .workflowRunTimeout: return .workflowRunTimeout
        case .stickyScheduleToStart: return .stickyScheduleToStart(scheduledEventID: try r.i64())
        case nil: throw .internal("unknown timer task kind \(bytes[0])")
        }
    }
}

/// The opaque task token handed to workers: `u8 version (1) | u8 kind | namespace id | workflow id
/// | run id | scheduled event id | attempt`. Respond* calls decode it; a malformed one is
/// INVALID_ARGUMENT, a stale one NOT_FOUND.
public struct TaskToken: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case workflowTask = 1
        case activityTask = 2
        case query = 3
    }

    public var kind: Kind
    public var key: WorkflowKey
    /// The scheduled event id (workflow/activity tasks) or the query id (queries).
    public var scheduledEventID: Int64
    public var attempt: Int32
    /// Query tasks: the query's id.
    public var queryID: String

    public init(kind: Kind, key: WorkflowKey, scheduledEventID: Int64, attempt: Int32, queryID: String = "") {
        self.kind = kind
        self.key = key
        self.scheduledEventID = scheduledEventID
        self.attempt = attempt
        self.queryID = queryID
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u8(kind.rawValue)
        w.string(key.namespaceID)
        w.string(key.workflowID)
        w.string(key.runID)
        w.i64(scheduledEventID)
        w.i32(attempt)
        w.string(queryID)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(HistoryError) -> TaskToken {
        guard !bytes.isEmpty else { throw .invalidArgument("Task token not set on request.") }
        // Temporal's wording, with what was wrong after it.
        func malformed(_ reason: String) -> HistoryError { .invalidArgument("Error deserializing task token. (\(reason))") }
        var r = ByteReader(bytes, what: "task token")
        do throws(HistoryError) {
            guard try r.u8() == 1 else { throw malformed("unknown version") }
            guard let kind = Kind(rawValue: try r.u8()) else { throw malformed("unknown kind") }
            let key = WorkflowKey(namespaceID: try r.string(), workflowID: try r.string(), runID: try r.string())
            let token = TaskToken(kind: kind, key: key, scheduledEventID: try r.i64(), attempt: try r.i32(), queryID: try r.string())
            try r.finish()
            return token
        } catch .invalidArgument(let m) where !m.hasPrefix("Error deserializing") {
            throw malformed(m)
        }
    }
}
