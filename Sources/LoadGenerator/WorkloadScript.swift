/// A command the scripted workflow sends back in RespondWorkflowTaskCompleted.
enum ScriptCommand: Equatable, Sendable {
    case scheduleActivity(activityID: String, input: String)
    case startTimer(timerID: String, seconds: Int64)
    case complete(result: String)
    case fail(reason: String)

    /// Completes or fails the workflow.
    var closesWorkflow: Bool {
        switch self {
        case .complete, .fail: return true
        case .scheduleActivity, .startTimer: return false
        }
    }
}

/// The scripted workflows: what every workload sends and expects, as pure functions.
///
/// The reply depends only on the full history (from the task, or the sticky cache plus the task's
/// new events), which `WorkflowProgress` summarises, and `nextCommands` decides the reply from that summary alone (as
/// an SDK does when it replays). Every value a workflow sees is derived from its workflow id, so
/// the worker and the starter can check each other's results without sharing state.
enum WorkloadScript {
    static let activityTypeName = "annals-bench-activity"
    static let signalName = "annals-bench-signal"

    /// The input sent with StartWorkflowExecution.
    static func workflowInput(workflowID: String) -> String { "input:\(workflowID)" }

    /// The input of the activity with 1-based `step`.
    static func activityInput(workflowID: String, step: Int) -> String { "\(workflowID)/step-\(step)" }

    /// The activity id of the activity with 1-based `step`.
    static func activityID(step: Int) -> String { String(step) }

    /// What the scripted activity worker returns for an input.
    static func activityResult(input: String) -> String { "done:\(input)" }

    /// The payload of the signal the starter sends.
    static func signalPayload(workflowID: String) -> String { "signal:\(workflowID)" }

    /// The result every completed workflow must carry in its WorkflowExecutionCompleted event.
    static func expectedResult(workload: Workload, workflowID: String) -> String {
        switch workload {
        case .empty, .timer:
            return "\(workload.rawValue):ok:\(workflowID)"
        case .activity, .activities10:
            let last = activityResult(input: activityInput(workflowID: workflowID, step: workload.activityCount))
            return "\(workload.rawValue):ok:\(last)"
        case .signal:
            return "\(workload.rawValue):ok:\(signalPayload(workflowID: workflowID))"
        }
    }

    /// The commands answering a workflow task, given everything that happened so far. An empty
    /// list means "nothing to do yet" (waiting for an activity, the timer or the signal).
    static func nextCommands(workload: Workload, progress: WorkflowProgress) -> [ScriptCommand] {
        let workflowID = progress.workflowID
        if let problem = progress.problems.first {
            return [.fail(reason: problem)]
        }
        guard progress.started else {
            return [.fail(reason: "history has no WorkflowExecutionStarted event")]
        }
        let expectedInput = workflowInput(workflowID: workflowID)
        guard progress.input == expectedInput else {
            return [.fail(reason: "workflow input mismatch: expected \(expectedInput), got \(progress.input ?? "nil")")]
        }
        let complete = ScriptCommand.complete(result: expectedResult(workload: workload, workflowID: workflowID))
        switch workload {
        case .empty:
            return [complete]
        case .activity, .activities10:
            return nextActivityCommands(workload: workload, progress: progress, complete: complete)
        case .timer:
            if progress.timersFired > 0 { return [complete] }
            if progress.timersStarted == 0 {
                return [.startTimer(timerID: "1", seconds: BenchLimits.timerDurationSeconds)]
            }
            return []
        case .signal:
            guard let signal = progress.signals.first else { return [] }
            let expected = signalPayload(workflowID: workflowID)
            guard signal.name == signalName, signal.payload == expected else {
                return [.fail(reason: "unexpected signal \(signal.name) \(signal.payload ?? "nil"), expected \(expected)")]
            }
            return [complete]
        }
    }

    private static func nextActivityCommands(
        workload: Workload,
        progress: WorkflowProgress,
        complete: ScriptCommand
    ) -> [ScriptCommand] {
        let workflowID = progress.workflowID
        // Activities run one at a time in step order, so the k-th completion must be step k.
        for (index, completion) in progress.completedActivities.enumerated() {
            let step = index + 1
            guard completion.activityID == activityID(step: step) else {
                return [.fail(reason: "activity \(completion.activityID) completed out of order at step \(step)")]
            }
            let expected = activityResult(input: activityInput(workflowID: workflowID, step: step))
            guard completion.result == expected else {
                return [.fail(reason: "activity \(step) result mismatch: expected \(expected), got \(completion.result ?? "nil")")]
            }
        }
        let done = progress.completedActivities.count
        if done >= workload.activityCount {
            return [complete]
        }
        if progress.scheduledActivityIDs.count == done {
            let step = done + 1
            return [
                .scheduleActivity(
                    activityID: activityID(step: step),
                    input: activityInput(workflowID: workflowID, step: step)
                )
            ]
        }
        return []
    }
}
