/// Every bound the load generator works within, in one place. Units are in the names.
enum BenchLimits {
    // MARK: Option ranges (checked by `BenchConfiguration.validate()`)

    /// Most workflows one run may start (warmup excluded).
    static let maxWorkflows = 10_000_000
    /// Most workflows in flight at once (started and not yet closed).
    static let maxConcurrency = 10_000
    /// Most pollers of one kind (workflow or activity task queue).
    static let maxPollers = 512

    // MARK: Defaults

    static let defaultNamespace = "default"
    static let defaultWorkflows = 1_000
    static let defaultConcurrency = 50
    static let defaultWarmupWorkflows = 0
    /// A workflow that has not closed this long after it started counts as stuck (an error).
    static let defaultWorkflowTimeoutSeconds = 60
    /// Pollers per task queue kind when not given: a quarter of the concurrency, clamped.
    static func defaultPollers(concurrency: Int) -> Int {
        min(max(concurrency / 4, 4), 64)
    }

    // MARK: RPC deadlines

    /// Long polls (PollWorkflowTaskQueue, PollActivityTaskQueue): what the SDKs use. Servers answer
    /// an idle poll with an empty response before this.
    static let pollTimeout = Duration.seconds(70)
    /// GetWorkflowExecutionHistory with wait_new_event: servers answer an idle wait before this.
    static let historyLongPollTimeout = Duration.seconds(70)
    /// Every other RPC.
    static let rpcTimeout = Duration.seconds(10)
    /// Best-effort TerminateWorkflowExecution of a stuck workflow after the run.
    static let cleanupTimeout = Duration.seconds(5)

    /// Concurrent RPCs per HTTP/2 connection; more concurrency opens more connections.
    static let maxStreamsPerConnection = 90

    // MARK: Retry pacing

    /// Pause after a failed poll before the next one, doubling up to the maximum.
    static let pollErrorBackoffInitial = Duration.milliseconds(50)
    static let pollErrorBackoffMax = Duration.seconds(1)
    /// Attempts for a start, signal or respond call that failed with a retryable code.
    static let maxRpcAttempts = 3

    // MARK: Workflow shape

    /// The timer of the `timer` workload.
    static let timerDurationSeconds: Int64 = 1
    /// Sequential activities of the `activities10` workload.
    static let activities10Count = 10
    /// Workflow task start-to-close timeout set on each start.
    static let workflowTaskTimeoutSeconds: Int64 = 10
    /// Activity start-to-close timeout on each ScheduleActivityTask.
    static let activityStartToCloseSeconds: Int64 = 10
    /// Most history pages fetched for one workflow task.
    static let maxHistoryPages = 100

    // MARK: Output

    /// Seconds between progress lines on stderr.
    static let progressInterval = Duration.seconds(1)
    /// Distinct error messages kept for the report (the count is always exact).
    static let maxDistinctErrorMessages = 20
    /// Latencies above this are recorded as this value (HdrHistogram's trackable range).
    static let maxLatencyMicroseconds: UInt64 = 3_600_000_000
}
