import TemporalAPI

/// Judges a workflow's close event against what its workload must produce.
enum CloseCheck {
    /// nil when the workflow completed with the expected result; otherwise the error to count.
    static func problem(
        with event: Temporal_Api_History_V1_HistoryEvent,
        workload: Workload,
        workflowID: String
    ) -> (BenchErrorKind, String)? {
        switch event.eventType {
        case .workflowExecutionCompleted:
            let attributes = event.workflowExecutionCompletedEventAttributes
            if !attributes.newExecutionRunID.isEmpty {
                return (.notCompleted, "completed with a new run \(attributes.newExecutionRunID)")
            }
            let expected = WorkloadScript.expectedResult(workload: workload, workflowID: workflowID)
            let actual = Payloads.string(from: attributes.result)
            guard actual == expected else {
                return (.resultMismatch, "expected \(expected), got \(actual ?? "a non-string payload")")
            }
            return nil
        case .workflowExecutionFailed:
            return (.notCompleted, "failed: \(event.workflowExecutionFailedEventAttributes.failure.message)")
        default:
            return (.notCompleted, "closed with \(event.eventType)")
        }
    }
}
