public import Persistence

/// What the history service reports to the frontend, in the terms of Temporal's gRPC errors.
public enum HistoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case notFound(String)
    /// A start found a running run with the same workflow id.
    case workflowAlreadyStarted(message: String, startRequestID: String, runID: String)
    case failedPrecondition(String)
    /// A namespace with this name exists.
    case namespaceAlreadyExists(String)
    /// Too many requests or pending items (a limit with its unit in the message).
    case resourceExhausted(String)
    /// The caller should retry (ownership churn, a lost write race after retries, shutdown).
    case unavailable(String)
    case `internal`(String)
    /// A query the worker answered with a failure.
    case queryFailed(String)
    case deadlineExceeded(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m), .notFound(let m), .failedPrecondition(let m), .namespaceAlreadyExists(let m),
            .resourceExhausted(let m), .unavailable(let m), .internal(let m), .queryFailed(let m), .deadlineExceeded(let m):
            return m
        case .workflowAlreadyStarted(let m, _, _): return m
        }
    }

    public static func from(_ error: any Error) -> HistoryError {
        if let e = error as? HistoryError { return e }
        if let e = error as? PersistenceError {
            switch e {
            case .notFound(let m): return .notFound(m)
            case .invalidArgument(let m): return .invalidArgument(m)
            default: return .unavailable("persistence: \(e)")
            }
        }
        return .internal("\(error)")
    }
}
