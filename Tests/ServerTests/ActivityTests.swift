import Foundation
import History
import Persistence
import SwiftProtobuf
import TemporalAPI
import Testing

@Suite struct ActivityTests {
    @Test func failedAttemptsAreRetriedWithoutEventsAndTheLastOneIsRecorded() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-retry")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.scheduleActivity("a1", maximumAttempts: 5)])
        for attempt in 1...2 {
            let task = try await h.pollActivityTask()
            #expect(task.attempt == Int32(attempt))
            var failure = Temporal_Api_Failure_V1_Failure()
            failure.message = "boom \(attempt)"
            failure.applicationFailureInfo.type = "Boom"
            try await h.engine.failActivity(try TaskToken.decode(Array(task.taskToken)), failure: failure, lastHeartbeatDetails: nil, identity: "w")
            h.clock.advance(seconds: 1)
        }
        let third = try await h.pollActivityTask(timeout: .seconds(5))
        #expect(third.attempt == 3)
        try await h.engine.completeActivity(try TaskToken.decode(Array(third.taskToken)), result: nil, identity: "w")
        #expect(try await h.types(key) == [
            .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .activityTaskScheduled,
            .activityTaskStarted, .activityTaskCompleted, .workflowTaskScheduled,
        ])
        let events = try await h.events(key)
        #expect(events[5].activityTaskStartedEventAttributes.attempt == 3)
        #expect(events[5].activityTaskStartedEventAttributes.lastFailure.message == "boom 2")
        #expect(events[6].activityTaskCompletedEventAttributes.startedEventID == 6)
        await h.engine.shutdown()
    }

    @Test func nonRetryableFailureFailsTheActivityAtOnce() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-nonretry")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.scheduleActivity("a1")])
        let task = try await h.pollActivityTask()
        var failure = Temporal_Api_Failure_V1_Failure()
        failure.message = "fatal"
        failure.applicationFailureInfo.nonRetryable = true
        try await h.engine.failActivity(try TaskToken.decode(Array(task.taskToken)), failure: failure, lastHeartbeatDetails: nil, identity: "w")
        let events = try await h.events(key)
        #expect(events.map(\.eventType).suffix(3) == [.activityTaskStarted, .activityTaskFailed, .workflowTaskScheduled])
        #expect(events[6].activityTaskFailedEventAttributes.retryState == .nonRetryableFailure)
        await h.engine.shutdown()
    }

    @Test func resultDuringAStartedWorkflowTaskKeepsStartedAndCompletedTogether() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-act-buffer")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.scheduleActivity("a1")], force: true)
        let activity = try await h.pollActivityTask()
        let wft = try await h.pollWorkflowTask()  // forced new workflow task, now started
        try await h.engine.completeActivity(try TaskToken.decode(Array(activity.taskToken)), result: nil, identity: "w")
        try await h.complete(wft, [])
        let events = try await h.events(key)
        #expect(events.map(\.eventType).suffix(4) == [.workflowTaskCompleted, .activityTaskStarted, .activityTaskCompleted, .workflowTaskScheduled])
        let started = events.first { $0.eventType == .activityTaskStarted }!
        let completed = events.first { $0.eventType == .activityTaskCompleted }!
        #expect(completed.activityTaskCompletedEventAttributes.startedEventID == started.eventID)
        await h.engine.shutdown()
    }

    @Test func startToCloseTimeoutRetriesTheAttempt() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        _ = try await h.start("wf-act-timeout")
        try await h.complete(try await h.pollWorkflowTask(), [Commands.scheduleActivity("a1", maximumAttempts: 3, startToCloseSeconds: 5)])
        let first = try await h.pollActivityTask()
        #expect(first.attempt == 1)
        h.clock.advance(seconds: 6)
        // The timeout fires, then the retry's backoff (1 ms of the manual clock) must pass.
        let second = try await h.pollActivityRetry()
        #expect(second.attempt == 2)
        await #expect(throws: HistoryError.self) {
            try await h.engine.completeActivity(try TaskToken.decode(Array(first.taskToken)), result: nil, identity: "w")
        }
        await h.engine.shutdown()
    }

    /// Completes `task` with `commands` and returns the engine's response (eager activities).
    static func completeReturningResponse(
        _ h: EngineHarness, _ task: PollWorkflowTaskResponse, _ commands: [Temporal_Api_Command_V1_Command]
    ) async throws -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse {
        var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        request.taskToken = task.taskToken
        request.commands = commands
        request.identity = "eager-worker"
        return try await h.engine.completeWorkflowTask(try TaskToken.decode(Array(task.taskToken)), request)
    }

    static func eager(_ command: Temporal_Api_Command_V1_Command, queue: String? = nil) -> Temporal_Api_Command_V1_Command {
        var c = command
        c.scheduleActivityTaskCommandAttributes.requestEagerExecution = true
        if let queue { c.scheduleActivityTaskCommandAttributes.taskQueue.name = queue }
        return c
    }

    @Test func eagerActivitiesAreStartedForTheCompletingWorkerAndNotDispatched() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-eager")
        let response = try await Self.completeReturningResponse(h, try await h.pollWorkflowTask(), [
            Self.eager(Commands.scheduleActivity("a1", startToCloseSeconds: 5)),
            Commands.scheduleActivity("a2"),  // did not ask: dispatched
            Self.eager(Commands.scheduleActivity("a3"), queue: "elsewhere"),  // another queue: dispatched
        ])
        #expect(response.activityTasks.map(\.activityID) == ["a1"])
        let eager = response.activityTasks[0]
        #expect(eager.attempt == 1 && eager.workflowExecution.runID == key.runID && eager.workflowNamespace == "default")
        // Only a2 reaches the poller (a3 went to its own queue).
        let polled = try await h.pollActivityTask()
        #expect(polled.activityID == "a2")
        #expect(try await h.pollActivityTask(timeout: .milliseconds(200)).taskToken.isEmpty)
        // The eager task completes like a polled one; its Started event names the eager worker.
        try await h.engine.completeActivity(try TaskToken.decode(Array(eager.taskToken)), result: nil, identity: "eager-worker")
        let events = try await h.events(key)
        let started = events.first { $0.eventType == .activityTaskStarted }!
        #expect(started.activityTaskStartedEventAttributes.identity == "eager-worker")
        #expect(events.contains { $0.eventType == .activityTaskCompleted && $0.activityTaskCompletedEventAttributes.startedEventID == started.eventID })
        await h.engine.shutdown()
    }

    @Test func eagerActivityStartToCloseTimeoutRetriesThroughTheQueue() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        _ = try await h.start("wf-eager-timeout")
        let response = try await Self.completeReturningResponse(
            h, try await h.pollWorkflowTask(), [Self.eager(Commands.scheduleActivity("a1", maximumAttempts: 3, startToCloseSeconds: 5))])
        #expect(response.activityTasks.count == 1)
        h.clock.advance(seconds: 6)
        // The eager worker vanished: the attempt times out and the retry is dispatched normally.
        let retry = try await h.pollActivityRetry()
        #expect(retry.attempt == 2)
        await #expect(throws: HistoryError.self) {
            try await h.engine.completeActivity(try TaskToken.decode(Array(response.activityTasks[0].taskToken)), result: nil, identity: "w")
        }
        await h.engine.shutdown()
    }

    @Test func noEagerTaskWhenTheSameCompletionClosesTheRun() async throws {
        let h = try await EngineHarness.start(InMemoryPersistence())
        let key = try await h.start("wf-eager-close")
        let response = try await Self.completeReturningResponse(
            h, try await h.pollWorkflowTask(), [Self.eager(Commands.scheduleActivity("a1")), Commands.complete()])
        #expect(response.activityTasks.isEmpty)
        #expect(try await h.types(key).last == .workflowExecutionCompleted)
        await h.engine.shutdown()
    }
}
