import Testing
@testable import LoadGenerator

@Suite("Stats and report")
struct StatsTests {
    @Test func percentilesOfAUniformSpread() {
        var recorder = LatencyRecorder()
        for millis in 1...1_000 {
            recorder.record(.milliseconds(millis))
        }
        #expect(recorder.count == 1_000)
        // HdrHistogram with 3 significant digits: within 0.1 %.
        #expect(abs(recorder.milliseconds(atPercentile: 50) - 500) <= 0.5)
        #expect(abs(recorder.milliseconds(atPercentile: 95) - 950) <= 1)
        #expect(abs(recorder.milliseconds(atPercentile: 99) - 990) <= 1)
        #expect(abs(recorder.maxMilliseconds - 1_000) <= 1)
    }

    @Test func emptyRecorderReportsZero() {
        let recorder = LatencyRecorder()
        #expect(recorder.milliseconds(atPercentile: 99) == 0)
        #expect(recorder.maxMilliseconds == 0)
    }

    @Test func hugeLatenciesAreClamped() {
        var recorder = LatencyRecorder()
        recorder.record(.seconds(10 * 3_600))
        #expect(recorder.maxMilliseconds >= 3_599_000)
    }

    @Test func warmupIsLeftOutOfTheNumbers() {
        let stats = RunStats(measuring: false)
        stats.recordStarted()
        stats.recordCompleted(latency: .milliseconds(5), extraTransitions: 0)
        stats.recordError(.stuck, "warm")
        stats.startMeasuring()
        stats.recordStarted()
        stats.recordCompleted(latency: .milliseconds(7), extraTransitions: 1)
        stats.recordError(.resultMismatch, "x")
        let snapshot = stats.snapshot()
        #expect(snapshot.completed == 1)
        #expect(snapshot.stateTransitions == 2)
        #expect(snapshot.errors == 1)
        #expect(snapshot.warmupErrors == 1)
        #expect(snapshot.finished == 2)
    }

    @Test func workerErrorsCountButDoNotFinishWorkflows() {
        let stats = RunStats()
        stats.recordError(.worker, "poll failed")
        #expect(stats.snapshot().errors == 1)
        #expect(stats.snapshot().finished == 0)
    }

    @Test func distinctErrorMessagesAreBoundedButCountsExact() {
        let stats = RunStats()
        for index in 0..<(BenchLimits.maxDistinctErrorMessages + 10) {
            stats.recordError(.stuck, "workflow \(index)")
        }
        let snapshot = stats.snapshot()
        #expect(snapshot.errors == BenchLimits.maxDistinctErrorMessages + 10)
        #expect(snapshot.errorMessages.count == BenchLimits.maxDistinctErrorMessages)
    }

    @Test func reportComputesRatesAndRendersJSON() throws {
        let stats = RunStats()
        for _ in 0..<10 {
            stats.recordStarted()
            stats.recordCompleted(latency: .milliseconds(20), extraTransitions: 2)
        }
        let configuration = BenchConfiguration(target: Target(host: "127.0.0.1", port: 7233), workload: .empty, workflows: 10)
        let report = BenchReport(configuration: configuration, snapshot: stats.snapshot(), elapsed: .seconds(2))
        #expect(report.workflowsPerSecond == 5)
        #expect(report.stateTransitionsPerSecond == 15)
        #expect(abs(report.p99Ms - 20) < 0.1)
        let json = report.json()
        for key in ["workflowsPerSecond", "p50Ms", "p95Ms", "p99Ms", "errors", "stateTransitionsPerSecond"] {
            #expect(json.contains("\"\(key)\""))
        }
        #expect(!json.contains("\n"))
        #expect(report.text().contains("workflows/s"))
        #expect(report.eagerActivityTasks == 0 && !report.text().contains("eager"))
    }

    @Test func eagerActivityTasksAreCountedOnlyWhileMeasuring() {
        let stats = RunStats(measuring: false)
        stats.recordEagerActivityTask()  // warmup: dropped
        stats.startMeasuring()
        for _ in 0..<3 { stats.recordEagerActivityTask() }
        let configuration = BenchConfiguration(target: Target(host: "127.0.0.1", port: 7233), workload: .activity, workflows: 3)
        let report = BenchReport(configuration: configuration, snapshot: stats.snapshot(), elapsed: .seconds(1))
        #expect(report.eagerActivityTasks == 3)
        #expect(report.json().contains("\"eagerActivityTasks\":3"))
        #expect(report.text().contains("eager        3 activity tasks"))
    }

    @Test func backoffDoublesUpToTheMaximum() {
        var backoff = PollBackoff()
        var pauses: [Duration] = []
        for _ in 0..<10 {
            pauses.append(backoff.take())
        }
        #expect(pauses.first == BenchLimits.pollErrorBackoffInitial)
        #expect(pauses.last == BenchLimits.pollErrorBackoffMax)
        #expect(zip(pauses, pauses.dropFirst()).allSatisfy { $0 <= $1 })
        backoff.reset()
        #expect(backoff.take() == BenchLimits.pollErrorBackoffInitial)
    }

    @Test func connectionsKeepStreamsUnderTheCap() {
        #expect(ClientPool.connections(forStreams: 1) == 1)
        #expect(ClientPool.connections(forStreams: BenchLimits.maxStreamsPerConnection) == 1)
        #expect(ClientPool.connections(forStreams: BenchLimits.maxStreamsPerConnection + 1) == 2)
    }
}
