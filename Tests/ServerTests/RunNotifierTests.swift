import History
import Persistence
import Synchronization
import Testing

final class Woken: Sendable {
    private let names = Mutex<[String]>([])
    func append(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
}

@Suite("Run notifier")
struct RunNotifierTests {
    let key = WorkflowKey(namespaceID: "ns", workflowID: "wf", runID: "run")

    @Test func closeOnlyWaitersSleepThroughChangesThatDoNotCloseTheRun() async throws {
        let notifier = RunNotifier()
        let woken = Woken()
        let key = self.key
        let seen = notifier.version(key)
        // Timeouts far beyond the test's run, so only notifications end the waits (the suite
        // runs beside others on 2 cores; nothing here depends on how fast it goes).
        let closeWaiter = Task {
            await notifier.wait(key, after: seen, timeout: .seconds(600), closeOnly: true)
            woken.append("close")
        }
        let anyWaiter = Task {
            await notifier.wait(key, after: seen, timeout: .seconds(600))
            woken.append("any")
        }
        while notifier.waiting(key) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        notifier.notify(key, closed: false)
        await anyWaiter.value
        notifier.notify(key, closed: false)
        #expect(notifier.waiting(key) == 1, "the close-only waiter is still registered")
        #expect(woken.all == ["any"], "a change that keeps the run open wakes only the plain waiter")
        notifier.notify(key, closed: true)
        await closeWaiter.value
        #expect(woken.all == ["any", "close"])
    }

    @Test func aChangeBeforeTheWaitIsNotMissed() async {
        let notifier = RunNotifier()
        let seen = notifier.version(key)
        notifier.notify(key, closed: false)
        // Registered after the change: returns at once, even for a close-only waiter (it then
        // looks at the run again), and never registers. (The bound only tells a return from the
        // 600 s timeout.)
        let start = ContinuousClock.now
        await notifier.wait(key, after: seen, timeout: .seconds(600), closeOnly: true)
        #expect(ContinuousClock.now - start < .seconds(300))
        #expect(notifier.waiting(key) == 0)
    }
}
