/// Persistence failures in Temporal's vocabulary: the history service's retry logic branches on
/// these cases.
public enum PersistenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The shard's `rangeID` is no longer the writer's: another owner took the shard.
    case shardOwnershipLost(shardID: Int32, currentRangeID: Int64?)
    /// The run's `dbRecordVersion` (or the run itself) is not what the writer read.
    case workflowConditionFailed(key: WorkflowKey, currentDBRecordVersion: Int64?)
    /// The workflow id's current-run row is not what the create expected; `current` describes it
    /// (nil when there is none).
    case currentWorkflowConditionFailed(namespaceID: String, workflowID: String, current: CurrentExecution?)
    /// A row that must be new exists (a namespace name, a shard, a task queue).
    case alreadyExists(String)
    case notFound(String)
    /// A lease or version condition on a non-execution row (task queue range, namespace
    /// notification version, cluster metadata version) did not hold.
    case conditionFailed(String)
    case invalidArgument(String)
    /// The store failed (I/O, corruption, closed); `message` is its description.
    case storage(String)

    public var description: String {
        switch self {
        case .shardOwnershipLost(let shard, let range):
            return "shard \(shard) ownership lost" + (range.map { " (current range id \($0))" } ?? "")
        case .workflowConditionFailed(let key, let version):
            return "workflow condition failed for \(key)" + (version.map { " (current db record version \($0))" } ?? " (no such run)")
        case .currentWorkflowConditionFailed(let ns, let wf, let current):
            return "current workflow condition failed for \(ns)/\(wf)"
                + (current.map { " (current run \($0.runID), state \($0.executionState.state), status \($0.executionState.status))" } ?? " (no current run)")
        case .alreadyExists(let what): return "already exists: \(what)"
        case .notFound(let what): return "not found: \(what)"
        case .conditionFailed(let what): return "condition failed: \(what)"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        case .storage(let what): return "storage: \(what)"
        }
    }
}
