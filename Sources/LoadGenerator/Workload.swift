/// The workflow shapes the generator can run. Each is a fixed command script (see `WorkloadScript`).
public enum Workload: String, CaseIterable, Sendable, Codable {
    /// Start, then complete in the first workflow task.
    case empty
    /// One activity, then complete with a result derived from the activity's result.
    case activity
    /// Ten sequential activities, one per workflow task.
    case activities10
    /// One 1-second timer, then complete.
    case timer
    /// Wait for the signal the generator sends right after the start, then complete.
    case signal

    /// The workflow type name sent in StartWorkflowExecution.
    var workflowTypeName: String { "annals-bench-\(rawValue)" }

    /// Activities each workflow runs.
    var activityCount: Int {
        switch self {
        case .empty, .timer, .signal: 0
        case .activity: 1
        case .activities10: BenchLimits.activities10Count
        }
    }

    var usesActivities: Bool { activityCount > 0 }

    /// State transitions of one workflow as the scripted worker runs it (docs/load-generator.md):
    /// the start, each workflow or activity task handed out and completed, the signal, the timer
    /// firing. With an external worker they cannot be counted from here; this is credited instead.
    var nominalTransitions: Int {
        switch self {
        case .empty: 3
        case .activity: 7
        case .activities10: 3 + 4 * BenchLimits.activities10Count
        case .timer: 6
        case .signal: 4
        }
    }
}
