public import ArgumentParser

/// `annals bench`: a load generator for any Temporal server.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a Temporal server with scripted workflows (no SDK in the loop).",
        discussion: """
            Starts workflows through Temporal's WorkflowService and answers their tasks with a \
            scripted worker, checking that every workflow completes with the expected result. \
            Prints workflows/s, state transitions/s and start-to-close latency. Exits with status 1 \
            if any workflow failed, mismatched or got stuck.
            """
    )

    @Option(name: .long, help: "Server address, HOST:PORT.")
    public var target: String

    @Option(name: .long, help: "Namespace to run in.")
    public var namespace: String = BenchLimits.defaultNamespace

    @Option(name: .long, help: "Workload: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var workload: Workload

    @Option(name: .long, help: "Workflows to run (after the warmup).")
    public var workflows: Int = BenchLimits.defaultWorkflows

    @Option(name: .long, help: "Workflows in flight at once.")
    public var concurrency: Int = BenchLimits.defaultConcurrency

    @Option(name: .long, help: "Workflows to run first and leave out of the numbers.")
    public var warmup: Int = BenchLimits.defaultWarmupWorkflows

    @Option(name: .long, help: "Seconds after its start when a workflow that has not closed counts as stuck.")
    public var workflowTimeout: Int = BenchLimits.defaultWorkflowTimeoutSeconds

    @Option(name: .long, help: "Workflow task pollers (default: concurrency, 4...64).")
    public var workflowPollers: Int?

    @Option(name: .long, help: "Activity task pollers (default: concurrency, 4...64).")
    public var activityPollers: Int?

    @Flag(name: .long, help: "Run no worker: only start workflows and check their results; another process (an SDK worker) must poll --task-queue.")
    public var externalWorker = false

    @Option(name: .long, help: "Task queue to start the workflows on (default: one of this run's own). Required with --external-worker.")
    public var taskQueue: String?

    @Flag(inversion: .prefixedNo, help: "Ask for activities eagerly, as the SDKs do (a server that grants it returns them with the workflow task completion).")
    public var eagerActivities = true

    @Flag(inversion: .prefixedNo, help: "Ask for sticky execution, as the SDKs do (the worker caches histories; tasks then carry only new events).")
    public var sticky = true

    @Flag(name: .long, help: "Print one JSON object on stdout instead of the text summary.")
    public var json = false

    @Flag(name: .long, help: "No progress line on stderr.")
    public var quiet = false

    public init() {}

    /// The validated run description; throws a usage error for bad options.
    public func benchConfiguration() throws -> BenchConfiguration {
        guard let parsedTarget = Target(parsing: target) else {
            throw ValidationError("--target must be HOST:PORT, got '\(target)'")
        }
        let configuration = BenchConfiguration(
            target: parsedTarget,
            namespace: namespace,
            workload: workload,
            workflows: workflows,
            concurrency: concurrency,
            warmupWorkflows: warmup,
            workflowTimeoutSeconds: workflowTimeout,
            workflowPollers: workflowPollers,
            activityPollers: activityPollers,
            taskQueue: taskQueue,
            externalWorker: externalWorker,
            eagerActivities: eagerActivities,
            sticky: sticky
        )
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw ValidationError(problems.joined(separator: "\n"))
        }
        return configuration
    }

    public func validate() throws {
        _ = try benchConfiguration()
    }

    public func run() async throws {
        var runner = BenchRunner(configuration: try benchConfiguration())
        runner.showProgress = !quiet
        let report = try await runner.run()
        print(json ? report.json() : report.text())
        if report.errors > 0 || report.warmupErrors > 0 {
            throw ExitCode(1)
        }
    }
}

extension Workload: ExpressibleByArgument {}
