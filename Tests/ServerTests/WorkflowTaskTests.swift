import Foundation
import History
import Matching
import Persistence
import SwiftProtobuf
import TemporalAPI
import StorageTesting
import Testing

@Suite struct WorkflowTaskTests {
    @Test func startPollCompleteWritesTheWorkflowTaskShape() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-1")
        let task = try await h.pollWorkflowTask()
        #expect(!task.taskToken.isEmpty)
        #expect(task.startedEventID == 3 && task.previousStartedEventID == 0 && task.attempt == 1)
        #expect(task.history.events.map(\.eventType) == [.workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted])
        #expect(task.history.events[0].workflowExecutionStartedEventAttributes.originalExecutionRunID == key.runID)
        try await h.complete(task, [Commands.complete()])
        #expect(try await h.types(key) == [
            .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .workflowExecutionCompleted,
        ])
        let ms = try await h.engine.describe(key)
        #expect(ms.workflowStatus == .completed)
        await h.engine.shutdown()
    }

    /// A completion that asks for its next workflow task (`return_new_workflow_task`, as the SDKs
    /// do) gets it started in the completion's own commit, as Temporal does: one write, the task
    /// in the response, no transfer row and no offer to matching for it.
    @Test func theNextWorkflowTaskIsStartedInTheCompletionsCommit() async throws {
        for inline in [true, false] {
            let persistence = FailingPersistence(InMemoryPersistence())
            let h = try await EngineHarness.start(persistence)
            let key = try await h.start("wf-inline-\(inline)")
            let first = try await h.pollWorkflowTask()
            try await h.engine.signal(key, name: "go", input: nil, header: nil, identity: "test", requestID: "")
            var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
            request.taskToken = first.taskToken
            request.identity = "test-worker"
            request.returnNewWorkflowTask = inline
            let updatesBefore = persistence.calls("updateWorkflowExecution")
            let response = try await h.engine.completeWorkflowTask(try TaskToken.decode(Array(first.taskToken)), request)
            let next: PollWorkflowTaskResponse
            if inline {
                #expect(persistence.calls("updateWorkflowExecution") - updatesBefore == 1, "one commit for complete + schedule + start")
                #expect(response.hasWorkflowTask)
                next = response.workflowTask
                #expect(try await h.pollWorkflowTask(timeout: .milliseconds(300)).taskToken.isEmpty, "nothing offered to pollers")
            } else {
                #expect(!response.hasWorkflowTask)
                next = try await h.pollWorkflowTask()
            }
            #expect(next.startedEventID == 7)
            #expect(next.history.events.map(\.eventType) == [
                .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted,
                .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted,
            ])
            for shard in Int32(0)...2 {
                let transfer = try await persistence.getHistoryTasks(
                    shardID: shard, category: .transfer, min: HistoryTaskKey(fireTime: 0, taskID: 0),
                    max: HistoryTaskKey(fireTime: .max, taskID: .max), pageSize: 100, pageToken: nil)
                #expect(transfer.items.isEmpty, "no transfer rows left: \(transfer.items)")
            }
            try await h.complete(next, [Commands.complete()])
            #expect(try await h.engine.describe(key).workflowStatus == .completed)
            await h.engine.shutdown()
        }
    }

    /// A full backlog refuses tasks; they wait in their rows and reach pollers once the queue
    /// drains, without a restart. Workflow tasks, then the activity tasks they schedule.
    @Test func tasksRefusedByAFullBacklogAreOfferedAgainOnceItDrains() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence(), maxBacklogPerQueue: 4)
        let count = 11
        var keys: [WorkflowKey] = []
        for i in 0..<count { keys.append(try await h.start("wf-full-\(i)")) }
        #expect(h.engine.workflowMatcher.snapshot(.init(namespaceID: h.namespaceID, name: h.taskQueue, kind: .workflow)).backlog == 4)
        var started = Set<String>()
        for _ in 0..<count {
            let task = try await h.pollWorkflowTask(timeout: .seconds(5))
            #expect(!task.taskToken.isEmpty, "every workflow task is delivered (got \(started.count) of \(count))")
            guard !task.taskToken.isEmpty else { break }
            started.insert(task.workflowExecution.workflowID)
            try await h.complete(task, [Commands.scheduleActivity("a-\(task.workflowExecution.workflowID)")])
        }
        #expect(started.count == count, "each workflow's task once")
        var activities = Set<String>()
        for _ in 0..<count {
            let task = try await h.pollActivityTask(timeout: .seconds(5))
            #expect(!task.taskToken.isEmpty, "every activity task is delivered (got \(activities.count) of \(count))")
            guard !task.taskToken.isEmpty else { break }
            activities.insert(task.activityID)
        }
        #expect(activities.count == count)
        await h.engine.shutdown()
    }

    /// A transfer task that fails (here: the child's creation, twice) is retried with backoff
    /// while the process runs, not only after a restart.
    @Test func aFailedTransferTaskIsRetriedUntilItSucceeds() async throws {
        let persistence = FailingPersistence(InMemoryPersistence())
        let h = try await EngineHarness.start(persistence)
        let parent = try await h.start("wf-parent")
        let task = try await h.pollWorkflowTask()
        persistence.fail("createWorkflowExecution", times: 2)
        try await h.complete(task, [Commands.startChild("wf-child")])
        var childTask = PollWorkflowTaskResponse()
        for _ in 0..<10 where childTask.taskToken.isEmpty {
            let next = try await h.pollWorkflowTask(timeout: .seconds(1))
            if next.workflowExecution.workflowID == "wf-child" { childTask = next }
        }
        #expect(persistence.remaining("createWorkflowExecution") == 0, "both injected failures happened")
        #expect(childTask.workflowExecution.workflowID == "wf-child", "the child started after two failed attempts")
        #expect(try await h.types(parent).contains(.startChildWorkflowExecutionInitiated))
        await h.engine.shutdown()
    }

    /// An update admitted but never taken by a workflow task is dropped when the run closes.
    @Test func updatesAdmittedToARunThatClosesAreDropped() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-update-close")
        let task = try await h.pollWorkflowTask()
        var request = Temporal_Api_Update_V1_Request()
        request.meta.updateID = "u-1"
        request.input.name = "never-handled"
        let (stage, _) = try await h.engine.updateWorkflow(key, request, waitStage: .admitted, timeout: .milliseconds(200))
        #expect(stage == .admitted)
        #expect(h.engine.runsWithPendingUpdates == 1)
        // The task polled before the update carries none; completing the run with it drops it.
        try await h.complete(task, [Commands.complete()])
        #expect(try await h.engine.describe(key).workflowStatus == .completed)
        #expect(h.engine.runsWithPendingUpdates == 0)
        await h.engine.shutdown()
    }

    /// A sticky task carries exactly the events since the worker's last task (read from the node
    /// that begins there), and the close event alone is read from inside its node.
    @Test(arguments: ["memory", "store"])
    func stickyTasksCarryTheNewEventsAndTheCloseEventReadsAlone(_ kind: String) async throws {
        let persistence: any Persistence = kind == "memory"
            ? InMemoryPersistence() : try StorePersistence.open(directory: "/data/sticky", fileSystem: MemFileSystem())
        let h = try await EngineHarness.start(persistence)
        let key = try await h.start("wf-sticky")
        let first = try await h.pollWorkflowTask()
        var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        request.taskToken = first.taskToken
        request.commands = [Commands.startTimer("t", seconds: 3600)]
        request.identity = "test-worker"
        request.stickyAttributes.workerTaskQueue.name = "tq-sticky-1"
        request.stickyAttributes.scheduleToStartTimeout = .with { $0.seconds = 10 }
        _ = try await h.engine.completeWorkflowTask(try TaskToken.decode(Array(first.taskToken)), request)
        try await h.engine.signal(key, name: "go", input: nil, header: nil, identity: "me", requestID: "")
        let sticky = try await h.engine.pollWorkflowTask(namespaceID: h.namespaceID, taskQueue: "tq-sticky-1", identity: "test-worker", timeout: .seconds(2))
        #expect(sticky.history.events.map(\.eventID) == [4, 5, 6, 7, 8])
        #expect(sticky.history.events.map(\.eventType) == [
            .workflowTaskCompleted, .timerStarted, .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted,
        ])
        try await h.complete(sticky, [Commands.complete()])
        let all = try await h.events(key)
        #expect(all.map(\.eventID) == Array(1...Int64(all.count)))
        let close = try await h.engine.history(
            HistoryRequest(key: key, pageToken: [], waitNewEvent: false, closeEventOnly: true, maximumPageSize: 0, timeout: .seconds(1)))
        #expect(close.history.events.map(\.eventType) == [.workflowExecutionCompleted])
        #expect(close.history.events.first?.eventID == all.last?.eventID)
        await h.engine.shutdown()
        if let store = persistence as? StorePersistence { await store.close() }
    }

    /// The close event is read from the run's last node alone (one history read, not a second
    /// one over the whole history), and found by the full read when no task ever completed.
    @Test func theCloseEventIsReadFromTheLastNode() async throws {
        let persistence = FailingPersistence(try StorePersistence.open(directory: "/data/close", fileSystem: MemFileSystem()))
        let h = try await EngineHarness.start(persistence)
        func closeEvent(_ key: WorkflowKey) async throws -> (Temporal_Api_History_V1_HistoryEvent?, reads: Int) {
            let before = persistence.calls("readHistoryBranch")
            let close = try await h.engine.history(
                HistoryRequest(key: key, pageToken: [], waitNewEvent: false, closeEventOnly: true, maximumPageSize: 0, timeout: .seconds(1)))
            #expect(close.history.events.count == 1)
            return (close.history.events.first, persistence.calls("readHistoryBranch") - before)
        }
        let key = try await h.start("wf-close")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.startTimer("t", seconds: 3600)])
        try await h.engine.signal(key, name: "go", input: nil, header: nil, identity: "me", requestID: "")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.complete()])
        let all = try await h.events(key)
        let (completed, reads) = try await closeEvent(key)
        #expect(completed?.eventType == .workflowExecutionCompleted)
        #expect(completed?.eventID == all.last?.eventID)
        #expect(reads == 1)

        let terminated = try await h.start("wf-close-terminated")
        try await h.engine.terminate(terminated, reason: "test", details: nil, identity: "me")
        let (event, _) = try await closeEvent(terminated)
        #expect(event?.eventType == .workflowExecutionTerminated)
        #expect(event?.eventID == (try await h.events(terminated)).last?.eventID)
        await h.engine.shutdown()
        await (persistence.base as? StorePersistence)?.close()
    }

    @Test func sameRequestIDReturnsTheSameRunAndOtherwiseAlreadyStarted() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-dup", requestID: "r1")
        let again = try await h.start("wf-dup", requestID: "r1")
        #expect(again == key)
        await #expect(throws: HistoryError.self) { _ = try await h.start("wf-dup", requestID: "r2") }
        do {
            _ = try await h.start("wf-dup", requestID: "r3")
        } catch HistoryError.workflowAlreadyStarted(_, let requestID, let runID) {
            #expect(requestID == "r1" && runID == key.runID)
        }
        await h.engine.shutdown()
    }

    @Test func signalDuringAStartedTaskIsBufferedAndWrittenAfterTheCompletion() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-buffer")
        let task = try await h.pollWorkflowTask()
        try await h.engine.signal(key, name: "go", input: nil, header: nil, identity: "me", requestID: "s1")
        // Retried signal with the same request id: applied once.
        try await h.engine.signal(key, name: "go", input: nil, header: nil, identity: "me", requestID: "s1")
        #expect(try await h.types(key).count == 3, "a buffered event has no id yet")
        try await h.complete(task, [Commands.startTimer("t", seconds: 100)])
        #expect(try await h.types(key) == [
            .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .timerStarted,
            .workflowExecutionSignaled, .workflowTaskScheduled,
        ])
        await h.engine.shutdown()
    }

    @Test func closingWhileEventsAreBufferedIsRejectedAsUnhandledCommand() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-unhandled")
        let task = try await h.pollWorkflowTask()
        try await h.engine.signal(key, name: "late", input: nil, header: nil, identity: "me", requestID: "")
        await #expect(throws: HistoryError.self) { try await h.complete(task, [Commands.complete()]) }
        #expect(try await h.types(key) == [
            .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskFailed, .workflowExecutionSignaled,
            .workflowTaskScheduled,
        ])
        let events = try await h.events(key)
        #expect(events[3].workflowTaskFailedEventAttributes.cause == .unhandledCommand)
        // The next attempt carries the signal and may close the run.
        let next = try await h.pollWorkflowTask()
        #expect(next.attempt == 2)
        try await h.complete(next, [Commands.complete()])
        #expect(try await h.engine.describe(key).workflowStatus == .completed)
        await h.engine.shutdown()
    }

    @Test func staleAndMalformedTokensAreRefused() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        _ = try await h.start("wf-token")
        let task = try await h.pollWorkflowTask()
        try await h.complete(task, [Commands.complete()])
        await #expect(throws: HistoryError.notFound("workflow execution already completed")) { try await h.complete(task, []) }
        #expect(throws: HistoryError.self) { try TaskToken.decode([]) }
        #expect(throws: HistoryError.self) { try TaskToken.decode([1, 2, 3, 4, 5]) }
        await h.engine.shutdown()
    }

    @Test func durableTimerFiresAndDeliversTimerFired() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-timer")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.startTimer("t1", seconds: 30)])
        let empty = try await h.pollWorkflowTask(timeout: .milliseconds(200))
        #expect(empty.taskToken.isEmpty, "the timer must not fire before its time")
        h.clock.advance(seconds: 31)
        let fired = try await h.pollWorkflowTask(timeout: .seconds(5))
        #expect(fired.history.events.map(\.eventType).suffix(3) == [.timerFired, .workflowTaskScheduled, .workflowTaskStarted])
        #expect(fired.previousStartedEventID == 3)
        try await h.complete(fired, [Commands.complete()])
        #expect(try await h.engine.describe(key).workflowStatus == .completed)
        await h.engine.shutdown()
    }

    @Test func workflowTaskTimeoutRetriesTheTask() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-wft-timeout")
        let first = try await h.pollWorkflowTask()
        h.clock.advance(seconds: 11)  // past the default 10 s start-to-close timeout
        let second = try await h.pollWorkflowTask(timeout: .seconds(5))
        #expect(second.attempt == 2)
        #expect(second.history.events.map(\.eventType).suffix(3) == [.workflowTaskTimedOut, .workflowTaskScheduled, .workflowTaskStarted])
        await #expect(throws: HistoryError.self) { try await h.complete(first, [Commands.complete()]) }
        try await h.complete(second, [Commands.complete()])
        #expect(try await h.engine.describe(key).workflowStatus == .completed)
        await h.engine.shutdown()
    }
}
