import Synchronization

/// The kinds of error the report counts separately.
enum BenchErrorKind: String, CaseIterable, Sendable, Codable {
    /// StartWorkflowExecution failed.
    case start
    /// SignalWorkflowExecution failed.
    case signal
    /// The workflow closed, but not as WorkflowExecutionCompleted (failed by the script on a
    /// history mismatch, timed out, terminated, ...).
    case notCompleted
    /// Completed, but the result payload is not the expected one.
    case resultMismatch
    /// Not closed within the workflow timeout.
    case stuck
    /// Waiting for the close event failed (GetWorkflowExecutionHistory error).
    case history
    /// A worker RPC (poll, respond, history page) failed.
    case worker
}

/// Counters shared by starter and workers. Everything recorded while `measuring` is false (the
/// warmup) is dropped.
final class RunStats: Sendable {
    struct Snapshot: Sendable {
        var started = 0
        var completed = 0
        var stateTransitions = 0
        /// Activity tasks the server handed over with a workflow task completion (eager execution).
        var eagerActivityTasks = 0
        var errorsByKind: [BenchErrorKind: Int] = [:]
        var errorMessages: [String: Int] = [:]
        var latency = LatencyRecorder()
        /// Errors during the warmup (not part of `errors`, but reported).
        var warmupErrors = 0

        var errors: Int { errorsByKind.values.reduce(0, +) }
        /// Workflows finished either way (completed or counted as an error by the starter).
        var finished: Int { completed + errorsByKind.filter { $0.key != .worker }.values.reduce(0, +) }
    }

    private struct State {
        var measuring = true
        var warmupErrors = 0
        var snapshot = Snapshot()
    }

    private let state = Mutex(State())

    init(measuring: Bool = true) {
        state.withLock { $0.measuring = measuring }
    }

    /// Clears everything and starts counting (the end of the warmup).
    func startMeasuring() {
        state.withLock {
            $0.snapshot = Snapshot()
            $0.measuring = true
        }
    }

    func recordStarted() {
        update { $0.started += 1; $0.stateTransitions += 1 }
    }

    func recordCompleted(latency: Duration, extraTransitions: Int) {
        update {
            $0.completed += 1
            $0.stateTransitions += extraTransitions
            $0.latency.record(latency)
        }
    }

    /// A server-side state change caused by the generator (a task started or completed, a signal).
    func recordTransition() {
        update { $0.stateTransitions += 1 }
    }

    func recordEagerActivityTask() {
        update { $0.eagerActivityTasks += 1 }
    }

    func recordError(_ kind: BenchErrorKind, _ message: String) {
        state.withLock { if !$0.measuring { $0.warmupErrors += 1 } }
        update {
            $0.errorsByKind[kind, default: 0] += 1
            let key = "\(kind.rawValue): \(message)"
            if $0.errorMessages[key] != nil || $0.errorMessages.count < BenchLimits.maxDistinctErrorMessages {
                $0.errorMessages[key, default: 0] += 1
            }
        }
    }

    func snapshot() -> Snapshot {
        state.withLock {
            var snapshot = $0.snapshot
            snapshot.warmupErrors = $0.warmupErrors
            return snapshot
        }
    }

    private func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { state in
            if state.measuring { body(&state.snapshot) }
        }
    }
}
