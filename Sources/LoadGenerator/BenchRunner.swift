import Foundation

/// One run: connect, start the scripted workers, run the warmup, then the measured workflows,
/// stop everything, and report.
public struct BenchRunner: Sendable {
    public let configuration: BenchConfiguration
    /// Print a progress line to stderr while the measured phase runs.
    public var showProgress = true

    public init(configuration: BenchConfiguration) {
        self.configuration = configuration
    }

    public func run() async throws -> BenchReport {
        let runID = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        let stats = RunStats(measuring: configuration.warmupWorkflows == 0)
        let context = WorkerContext(
            namespace: configuration.namespace,
            taskQueue: configuration.taskQueue ?? "annals-bench-\(configuration.workload.rawValue)-\(runID)",
            identity: "annals-bench-\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)",
            workload: configuration.workload,
            workflowTimeoutSeconds: configuration.workflowTimeoutSeconds,
            concurrency: configuration.concurrency,
            stickyQueue: configuration.sticky ? "annals-bench-sticky-\(runID)" : nil,
            externalWorker: configuration.externalWorker,
            eagerActivities: configuration.eagerActivities,
            stats: stats
        )
        let starterClients = ClientPool(
            target: configuration.target,
            connections: ClientPool.connections(forStreams: configuration.concurrency)
        )
        let workflowClients = ClientPool(
            target: configuration.target,
            // Sticky execution doubles the workflow pollers (one set per queue); an eager
            // activity's completion runs on its workflow poller's connection.
            connections: ClientPool.connections(forStreams: configuration.workflowPollers * (configuration.sticky ? 2 : 1))
        )
        let activityClients = ClientPool(
            target: configuration.target,
            connections: ClientPool.connections(forStreams: configuration.activityPollers)
        )
        let report = await runPhases(
            context: context,
            runID: runID,
            starter: Starter(clients: starterClients, context: context, runID: runID, concurrency: configuration.concurrency),
            workflowClients: workflowClients,
            activityClients: activityClients
        )
        for pool in [starterClients, workflowClients, activityClients] {
            await pool.close()
        }
        return report
    }

    private func runPhases(
        context: WorkerContext,
        runID: String,
        starter: Starter,
        workflowClients: ClientPool,
        activityClients: ClientPool
    ) async -> BenchReport {
        await withTaskGroup(of: Void.self) { workers in
            if !configuration.externalWorker {
                workers.addTask {
                    await WorkflowTaskWorker(clients: workflowClients, pollers: configuration.workflowPollers, context: context).run()
                }
            }
            if configuration.workload.usesActivities && !configuration.externalWorker {
                workers.addTask {
                    await ActivityWorker(clients: activityClients, pollers: configuration.activityPollers, context: context).run()
                }
            }
            if configuration.warmupWorkflows > 0 {
                await starter.run(phase: "warmup", count: configuration.warmupWorkflows)
                context.stats.startMeasuring()
            }
            let progress = Task {
                if showProgress {
                    await ProgressLine(stats: context.stats, total: configuration.workflows, label: configuration.workload.rawValue).run()
                }
            }
            let start = ContinuousClock.now
            await starter.run(phase: "run", count: configuration.workflows)
            let elapsed = ContinuousClock.now - start
            progress.cancel()
            // Stop the pollers (their long polls are cancelled) before the connections close.
            workers.cancelAll()
            return BenchReport(configuration: configuration, snapshot: context.stats.snapshot(), elapsed: elapsed)
        }
    }
}
