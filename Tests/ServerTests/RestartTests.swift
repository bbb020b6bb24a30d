import Foundation
import History
import Persistence
import StorageTesting
import TemporalAPI
import Testing

/// The engine rebuilt from persistence: what was persisted as pending is delivered again.
@Suite struct RestartTests {
    @Test func pendingTasksAndTimersSurviveARestart() async throws {
        let persistence = InMemoryPersistence()
        let clock = ManualClock()
        var h = try await EngineHarness.start(persistence, clock: clock)
        let waiting = try await h.start("wf-never-polled")
        let timed = try await h.start("wf-timer")
        // Complete the timer workflow's first task (poll until we get that one).
        var task = try await h.pollWorkflowTask()
        if task.workflowExecution.workflowID != timed.workflowID {
            let other = try await h.pollWorkflowTask()
            task = other
        }
        try await h.complete(task, [Commands.startTimer("t", seconds: 60)])
        await h.engine.shutdown()

        h = try await EngineHarness.start(persistence, clock: clock)
        clock.advance(seconds: 61)
        var seen: Set<String> = []
        while seen.count < 2 {
            let next = try await h.pollWorkflowTask(timeout: .seconds(5))
            if next.taskToken.isEmpty { break }
            seen.insert(next.workflowExecution.workflowID)
            if next.workflowExecution.workflowID == timed.workflowID {
                #expect(next.history.events.contains { $0.eventType == .timerFired })
            }
            try await h.complete(next, [Commands.complete()])
        }
        #expect(seen.contains(waiting.workflowID), "the unstarted workflow task was re-offered after the restart")
        #expect(seen.contains(timed.workflowID), "the timer fired after the restart")
        await h.engine.shutdown()
    }
}
