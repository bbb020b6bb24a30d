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
}
