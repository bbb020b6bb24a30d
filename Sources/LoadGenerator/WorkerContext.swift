/// What both scripted workers need to know about the run.
struct WorkerContext: Sendable {
    var namespace: String
    var taskQueue: String
    var identity: String
    var workload: Workload
    var workflowTimeoutSeconds: Int
    /// Workflows in flight (bounds the sticky cache).
    var concurrency: Int = 1
    /// This worker's sticky queue; nil: no sticky execution (`BenchConfiguration.sticky`).
    var stickyQueue: String? = nil
    /// No scripted worker runs in this process (see `BenchConfiguration.externalWorker`).
    var externalWorker = false
    /// Ask for activities eagerly (`BenchConfiguration.eagerActivities`).
    var eagerActivities = true
    var stats: RunStats
}

/// Doubling pause after consecutive poll failures, so an unreachable server is not hammered.
struct PollBackoff: Sendable {
    private(set) var next = BenchLimits.pollErrorBackoffInitial

    mutating func reset() {
        next = BenchLimits.pollErrorBackoffInitial
    }

    /// The pause to take now; the following one is twice as long, up to the maximum.
    mutating func take() -> Duration {
        let pause = next
        next = min(next * 2, BenchLimits.pollErrorBackoffMax)
        return pause
    }
}
