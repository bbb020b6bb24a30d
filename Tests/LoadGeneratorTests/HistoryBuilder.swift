@testable import LoadGenerator
import TemporalAPI

/// Builds the histories a server would hand the scripted worker, with contiguous event ids.
struct HistoryBuilder {
    let workflowID: String
    private(set) var events: [Temporal_Api_History_V1_HistoryEvent] = []

    init(workflowID: String, input: String? = nil) {
        self.workflowID = workflowID
        add(.workflowExecutionStarted) {
            $0.workflowExecutionStartedEventAttributes.input = Payloads.payloads(
                input ?? WorkloadScript.workflowInput(workflowID: workflowID)
            )
        }
    }

    var lastEventID: Int64 { events.last?.eventID ?? 0 }

    mutating func add(
        _ type: Temporal_Api_Enums_V1_EventType,
        _ configure: (inout Temporal_Api_History_V1_HistoryEvent) -> Void = { _ in }
    ) {
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventID = lastEventID + 1
        event.eventType = type
        configure(&event)
        events.append(event)
    }

    /// WorkflowTaskScheduled + WorkflowTaskStarted (the end of a task's history).
    mutating func workflowTask() {
        add(.workflowTaskScheduled)
        add(.workflowTaskStarted)
    }

    /// WorkflowTaskCompleted after a task.
    mutating func workflowTaskCompleted() {
        add(.workflowTaskCompleted)
    }

    /// Returns the id of the ActivityTaskScheduled event.
    @discardableResult
    mutating func scheduleActivity(id: String) -> Int64 {
        add(.activityTaskScheduled) { $0.activityTaskScheduledEventAttributes.activityID = id }
        return lastEventID
    }

    mutating func completeActivity(scheduledEventID: Int64, result: String) {
        add(.activityTaskStarted)
        add(.activityTaskCompleted) {
            $0.activityTaskCompletedEventAttributes.scheduledEventID = scheduledEventID
            $0.activityTaskCompletedEventAttributes.result = Payloads.payloads(result)
        }
    }

    mutating func signal(name: String, payload: String) {
        add(.workflowExecutionSignaled) {
            $0.workflowExecutionSignaledEventAttributes.signalName = name
            $0.workflowExecutionSignaledEventAttributes.input = Payloads.payloads(payload)
        }
    }

    var progress: WorkflowProgress { WorkflowProgress(workflowID: workflowID, events: events) }

    func next(_ workload: Workload) -> [ScriptCommand] {
        WorkloadScript.nextCommands(workload: workload, progress: progress)
    }
}
