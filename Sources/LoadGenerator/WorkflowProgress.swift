import TemporalAPI

/// What a workflow's history says happened so far, reduced to what the scripts decide on.
struct WorkflowProgress: Equatable, Sendable {
    struct ActivityCompletion: Equatable, Sendable {
        var activityID: String
        var result: String?
    }

    struct Signal: Equatable, Sendable {
        var name: String
        var payload: String?
    }

    var workflowID: String
    var started = false
    var input: String?
    /// Activity ids in the order their ActivityTaskScheduled events appear.
    var scheduledActivityIDs: [String] = []
    /// Completions in history order.
    var completedActivities: [ActivityCompletion] = []
    var timersStarted = 0
    var timersFired = 0
    var signals: [Signal] = []
    /// Events that no script expects (failures, timeouts, cancellations, ...). Any of them fails
    /// the workflow, so the starter counts it as an error.
    var problems: [String] = []

    init(workflowID: String) {
        self.workflowID = workflowID
    }

    init(workflowID: String, events: [Temporal_Api_History_V1_HistoryEvent]) {
        self.init(workflowID: workflowID)
        for event in events {
            apply(event)
        }
    }

    mutating func apply(_ event: Temporal_Api_History_V1_HistoryEvent) {
        switch event.eventType {
        case .workflowExecutionStarted:
            started = true
            input = Payloads.string(from: event.workflowExecutionStartedEventAttributes.input)
        case .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted,
            .workflowTaskFailed, .workflowTaskTimedOut, .activityTaskStarted:
            // Bookkeeping of the task loop itself; a failed or timed-out workflow task is retried by
            // the server and does not change what the script does next.
            break
        case .activityTaskScheduled:
            let activityID = event.activityTaskScheduledEventAttributes.activityID
            scheduledActivityIDs.append(activityID)
            scheduledByEventID[event.eventID] = activityID
        case .activityTaskCompleted:
            let attributes = event.activityTaskCompletedEventAttributes
            guard let activityID = activityID(scheduledEventID: attributes.scheduledEventID, in: event) else {
                return
            }
            completedActivities.append(.init(activityID: activityID, result: Payloads.string(from: attributes.result)))
        case .timerStarted:
            timersStarted += 1
        case .timerFired:
            timersFired += 1
        case .workflowExecutionSignaled:
            let attributes = event.workflowExecutionSignaledEventAttributes
            signals.append(.init(name: attributes.signalName, payload: Payloads.string(from: attributes.input)))
        default:
            problems.append("unexpected event \(event.eventType) (id \(event.eventID))")
        }
    }

    // Scheduled events are kept by id so completions can be matched to their activity.
    private var scheduledByEventID: [Int64: String] = [:]

    private mutating func activityID(
        scheduledEventID: Int64,
        in event: Temporal_Api_History_V1_HistoryEvent
    ) -> String? {
        guard let activityID = scheduledByEventID[scheduledEventID] else {
            problems.append("ActivityTaskCompleted \(event.eventID) refers to unknown scheduled event \(scheduledEventID)")
            return nil
        }
        return activityID
    }
}
