import Dispatch
import Glibc
@testable import StorageLog
import Synchronization
import Testing

/// The writer thread runs a group's completions itself only when no earlier item is queued or
/// running on the completion thread; otherwise they wait their turn.
@Suite("Completion queue")
struct CompletionQueueTests {
    @Test func runOrPushRunsOnTheCallerWhenIdleAndWaitsItsTurnOtherwise() async throws {
        let queue = CompletionQueue(capacity: 4)
        queue.start()
        let events = Mutex<[String]>([])
        @Sendable func note(_ event: String) { events.withLock { $0.append(event) } }

        // Idle: runs at once, on the calling thread.
        let caller = pthread_self()
        let ranHere = Mutex(false)
        queue.runOrPush(.barrier { ranHere.withLock { $0 = pthread_equal(pthread_self(), caller) != 0 } })
        #expect(ranHere.withLock { $0 })

        // Busy: an item is running on the completion thread, so the next one waits for it.
        let gate = DispatchSemaphore(value: 0)
        queue.push(.barrier {
            note("first started")
            gate.wait()
            note("first ended")
        })
        while events.withLock({ $0.isEmpty }) { usleep(100) }
        queue.runOrPush(.barrier { note("second") })
        usleep(20_000)
        #expect(events.withLock { $0 } == ["first started"])
        gate.signal()
        let done = DispatchSemaphore(value: 0)
        queue.push(.barrier { done.signal() })
        done.wait()
        #expect(events.withLock { $0 } == ["first started", "first ended", "second"])
        queue.stop()
    }
}
