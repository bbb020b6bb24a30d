import ArgumentParser
import Testing
@testable import LoadGenerator

@Suite("Options")
struct OptionsTests {
    @Test(arguments: [
        ("127.0.0.1:7233", "127.0.0.1", 7233),
        ("localhost:1", "localhost", 1),
        ("[::1]:7233", "::1", 7233),
    ])
    func validTargets(text: String, host: String, port: Int) {
        #expect(Target(parsing: text) == Target(host: host, port: port))
    }

    @Test(arguments: ["", "localhost", ":7233", "host:", "host:0", "host:65536", "host:abc", "::1:7233", "[::1]7233"])
    func invalidTargets(text: String) {
        #expect(Target(parsing: text) == nil)
    }

    @Test func ipv6TargetsPrintWithBrackets() {
        #expect(Target(host: "::1", port: 7233).description == "[::1]:7233")
    }

    func configuration(
        workload: Workload = .empty,
        workflows: Int = 10,
        concurrency: Int = 5,
        warmup: Int = 0,
        timeout: Int = 60,
        pollers: Int? = nil
    ) -> BenchConfiguration {
        BenchConfiguration(
            target: Target(host: "localhost", port: 7233),
            workload: workload,
            workflows: workflows,
            concurrency: concurrency,
            warmupWorkflows: warmup,
            workflowTimeoutSeconds: timeout,
            workflowPollers: pollers
        )
    }

    @Test func defaultsAreValid() {
        #expect(configuration().problems().isEmpty)
    }

    @Test func badCountsAreReported() {
        #expect(configuration(workflows: 0).problems().count == 1)
        #expect(configuration(concurrency: 0).problems().count == 1)
        #expect(configuration(concurrency: BenchLimits.maxConcurrency + 1).problems().count == 1)
        #expect(configuration(warmup: -1).problems().count == 1)
        #expect(configuration(pollers: 0).problems().count == 1)
        #expect(configuration(pollers: BenchLimits.maxPollers + 1).problems().count == 1)
        #expect(configuration(workflows: 0, concurrency: 0).problems().count == 2)
    }

    @Test func timerNeedsATimeoutLongerThanTheTimer() {
        #expect(configuration(workload: .timer, timeout: 1).problems().count == 1)
        #expect(configuration(workload: .timer, timeout: 2).problems().isEmpty)
    }

    @Test func defaultPollersFollowConcurrencyWithinBounds() {
        #expect(BenchLimits.defaultPollers(concurrency: 1) == 4)
        #expect(BenchLimits.defaultPollers(concurrency: 20) == 20)
        #expect(BenchLimits.defaultPollers(concurrency: 100) == 64)
        #expect(BenchLimits.defaultPollers(concurrency: 10_000) == 64)
    }

    @Test func commandLineParsesAndValidates() throws {
        let command = try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "timer", "--workflows", "5"])
        let configuration = try command.benchConfiguration()
        #expect(configuration.workload == .timer)
        #expect(configuration.workflows == 5)
        #expect(configuration.namespace == "default")
        #expect(throws: (any Error).self) {
            try BenchCommand.parse(["--target", "nope", "--workload", "timer"])
        }
        #expect(throws: (any Error).self) {
            try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "nope"])
        }
        #expect(throws: (any Error).self) {
            try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "empty", "--concurrency", "0"])
        }
    }

    @Test func externalWorkerNeedsATaskQueue() throws {
        #expect(throws: (any Error).self) {
            try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "empty", "--external-worker"])
        }
        #expect(throws: (any Error).self) {
            try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "empty", "--task-queue", ""])
        }
        let command = try BenchCommand.parse([
            "--target", "127.0.0.1:7233", "--workload", "signal", "--external-worker", "--task-queue", "sdk-queue",
        ])
        let configuration = try command.benchConfiguration()
        #expect(configuration.externalWorker)
        #expect(configuration.taskQueue == "sdk-queue")
        #expect(try BenchCommand.parse(["--target", "127.0.0.1:7233", "--workload", "empty"]).benchConfiguration().taskQueue == nil)
    }

    @Test func nominalTransitionsMatchTheDocumentedCounts() {
        #expect(Workload.allCases.map(\.nominalTransitions) == [3, 7, 43, 6, 4])
    }
}
