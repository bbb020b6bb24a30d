import SwiftProtobuf
import Testing
import TemporalAPI
@testable import LoadGenerator

@Suite("Workload scripts")
struct WorkloadScriptTests {
    let workflowID = "bench-1-run-7"

    func expectedCompletion(_ workload: Workload) -> ScriptCommand {
        .complete(result: WorkloadScript.expectedResult(workload: workload, workflowID: workflowID))
    }

    @Test func emptyCompletesInTheFirstTask() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        #expect(history.next(.empty) == [expectedCompletion(.empty)])
    }

    @Test func activityRunsOneActivityThenCompletes() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        let input = WorkloadScript.activityInput(workflowID: workflowID, step: 1)
        #expect(history.next(.activity) == [.scheduleActivity(activityID: "1", input: input)])

        history.workflowTaskCompleted()
        let scheduled = history.scheduleActivity(id: "1")
        history.completeActivity(scheduledEventID: scheduled, result: WorkloadScript.activityResult(input: input))
        history.workflowTask()
        #expect(history.next(.activity) == [expectedCompletion(.activity)])
    }

    @Test func activities10RunsTenActivitiesInOrder() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        for step in 1...10 {
            let input = WorkloadScript.activityInput(workflowID: workflowID, step: step)
            #expect(history.next(.activities10) == [.scheduleActivity(activityID: String(step), input: input)])
            history.workflowTaskCompleted()
            let scheduled = history.scheduleActivity(id: String(step))
            history.completeActivity(scheduledEventID: scheduled, result: WorkloadScript.activityResult(input: input))
            history.workflowTask()
        }
        #expect(history.next(.activities10) == [expectedCompletion(.activities10)])
    }

    @Test func waitsWhileAnActivityIsOutstanding() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        history.workflowTaskCompleted()
        history.scheduleActivity(id: "1")
        // A task without a new completion (e.g. after a workflow task timeout): nothing to do.
        history.workflowTask()
        #expect(history.next(.activity).isEmpty)
    }

    @Test func wrongActivityResultFailsTheWorkflow() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        history.workflowTaskCompleted()
        let scheduled = history.scheduleActivity(id: "1")
        history.completeActivity(scheduledEventID: scheduled, result: "something else")
        history.workflowTask()
        guard case .fail(let reason)? = history.next(.activity).first else {
            Issue.record("expected a fail command")
            return
        }
        #expect(reason.contains("result mismatch"))
    }

    @Test func timerStartsOneTimerThenCompletesWhenItFires() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        #expect(history.next(.timer) == [.startTimer(timerID: "1", seconds: 1)])
        history.workflowTaskCompleted()
        history.add(.timerStarted)
        history.workflowTask()
        #expect(history.next(.timer).isEmpty)
        history.workflowTaskCompleted()
        history.add(.timerFired)
        history.workflowTask()
        #expect(history.next(.timer) == [expectedCompletion(.timer)])
    }

    @Test func signalWaitsForTheSignal() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        #expect(history.next(.signal).isEmpty)
        history.workflowTaskCompleted()
        history.signal(name: WorkloadScript.signalName, payload: WorkloadScript.signalPayload(workflowID: workflowID))
        history.workflowTask()
        #expect(history.next(.signal) == [expectedCompletion(.signal)])
    }

    @Test func signalBeforeTheFirstTaskCompletesAtOnce() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.add(.workflowTaskScheduled)
        history.signal(name: WorkloadScript.signalName, payload: WorkloadScript.signalPayload(workflowID: workflowID))
        history.add(.workflowTaskStarted)
        #expect(history.next(.signal) == [expectedCompletion(.signal)])
    }

    @Test func wrongSignalFailsTheWorkflow() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.signal(name: WorkloadScript.signalName, payload: "signal:someone-else")
        history.workflowTask()
        guard case .fail? = history.next(.signal).first else {
            Issue.record("expected a fail command")
            return
        }
    }

    @Test(arguments: Workload.allCases)
    func wrongInputFailsEveryWorkload(workload: Workload) {
        var history = HistoryBuilder(workflowID: workflowID, input: "input:another-workflow")
        history.workflowTask()
        guard case .fail(let reason)? = history.next(workload).first else {
            Issue.record("expected a fail command")
            return
        }
        #expect(reason.contains("input mismatch"))
    }

    @Test(arguments: [
        Temporal_Api_Enums_V1_EventType.activityTaskFailed, .activityTaskTimedOut, .timerCanceled,
        .workflowExecutionCancelRequested,
    ])
    func unexpectedEventsFailTheWorkflow(type: Temporal_Api_Enums_V1_EventType) {
        var history = HistoryBuilder(workflowID: workflowID)
        history.workflowTask()
        history.workflowTaskCompleted()
        history.add(type)
        history.workflowTask()
        guard case .fail(let reason)? = history.next(.activity).first else {
            Issue.record("expected a fail command")
            return
        }
        #expect(reason.contains("unexpected event"))
    }

    @Test func completionOfAnUnknownActivityIsAProblem() {
        var history = HistoryBuilder(workflowID: workflowID)
        history.completeActivity(scheduledEventID: 99, result: "x")
        #expect(history.progress.problems.count == 1)
    }

    @Test(arguments: Workload.allCases)
    func expectedResultsAreDistinctPerWorkflow(workload: Workload) {
        let a = WorkloadScript.expectedResult(workload: workload, workflowID: "a")
        let b = WorkloadScript.expectedResult(workload: workload, workflowID: "b")
        #expect(a != b)
    }

    @Test func commandsMapToTheirWireTypes() {
        let schedule = ScriptCommand.scheduleActivity(activityID: "3", input: "in")
            .command(taskQueue: "tq", activityScheduleToCloseSeconds: 60)
        #expect(schedule.commandType == .scheduleActivityTask)
        #expect(schedule.scheduleActivityTaskCommandAttributes.activityID == "3")
        #expect(schedule.scheduleActivityTaskCommandAttributes.taskQueue.name == "tq")
        #expect(schedule.scheduleActivityTaskCommandAttributes.retryPolicy.maximumAttempts == 1)
        #expect(Payloads.string(from: schedule.scheduleActivityTaskCommandAttributes.input) == "in")

        let timer = ScriptCommand.startTimer(timerID: "1", seconds: 1).command(taskQueue: "tq", activityScheduleToCloseSeconds: 60)
        #expect(timer.commandType == .startTimer)
        #expect(timer.startTimerCommandAttributes.startToFireTimeout.seconds == 1)

        let complete = ScriptCommand.complete(result: "r").command(taskQueue: "tq", activityScheduleToCloseSeconds: 60)
        #expect(complete.commandType == .completeWorkflowExecution)
        #expect(Payloads.string(from: complete.completeWorkflowExecutionCommandAttributes.result) == "r")

        let fail = ScriptCommand.fail(reason: "why").command(taskQueue: "tq", activityScheduleToCloseSeconds: 60)
        #expect(fail.commandType == .failWorkflowExecution)
        #expect(fail.failWorkflowExecutionCommandAttributes.failure.message == "why")
    }
}
