import Foundation
import Testing
import TemporalAPI
@testable import LoadGenerator

@Suite("Close event checks")
struct CloseCheckTests {
    func completed(result: String) -> Temporal_Api_History_V1_HistoryEvent {
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventType = .workflowExecutionCompleted
        event.workflowExecutionCompletedEventAttributes.result = Payloads.payloads(result)
        return event
    }

    @Test(arguments: Workload.allCases)
    func expectedResultPasses(workload: Workload) {
        let event = completed(result: WorkloadScript.expectedResult(workload: workload, workflowID: "w"))
        #expect(CloseCheck.problem(with: event, workload: workload, workflowID: "w") == nil)
    }

    @Test func otherResultIsAMismatch() {
        let event = completed(result: WorkloadScript.expectedResult(workload: .empty, workflowID: "other"))
        #expect(CloseCheck.problem(with: event, workload: .empty, workflowID: "w")?.0 == .resultMismatch)
    }

    @Test func failedWorkflowIsNotCompleted() {
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventType = .workflowExecutionFailed
        event.workflowExecutionFailedEventAttributes.failure.message = "boom"
        let problem = CloseCheck.problem(with: event, workload: .empty, workflowID: "w")
        #expect(problem?.0 == .notCompleted)
        #expect(problem?.1.contains("boom") == true)
    }

    @Test func terminatedWorkflowIsNotCompleted() {
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventType = .workflowExecutionTerminated
        #expect(CloseCheck.problem(with: event, workload: .timer, workflowID: "w")?.0 == .notCompleted)
    }

    @Test func payloadsRoundTripAndRejectOtherEncodings() {
        let payload = Payloads.payload("a \"quoted\" \\ string")
        #expect(Payloads.string(from: payload) == "a \"quoted\" \\ string")
        var binary = payload
        binary.metadata["encoding"] = Data("binary/plain".utf8)
        #expect(Payloads.string(from: binary) == nil)
    }
}
