/// Every bound the load generator works within, in one place. Units are in the names.
public enum BenchLimits {
    // MARK: Option ranges (checked by `BenchConfiguration.validate()`)

    /// Most workflows one run may start (warmup excluded).
    public static let maxWorkflows = 10_000_000
    /// Most workflows in flight at once (started and not yet closed).
    public static let maxConcurrency = 10_000
    /// Most pollers of one kind (workflow or activity task queue).
    public static let maxPollers = 512

    // MARK: Defaults

    public static let defaultNamespace = "default"
    public static let defaultWorkflows = 1_000
    public static let defaultConcurrency = 50
    public static let defaultWarmupWorkflows = 0
    /// A workflow that has not closed this long after it started counts as stuck (an error).
    public static let defaultWorkflowTimeoutSeconds = 60
    /// Pollers per task queue kind when not given: one per workflow in flight, clamped. Each
    /// poller answers one task at a time, so fewer than the concurrency makes the worker, not
    /// the server, the bottleneck (a quarter, the earlier default, capped Annals at concurrency 20).
    public static func defaultPollers(concurrency: Int) -> Int {
        min(max(concurrency, 4), 64)
    }

    // MARK: RPC deadlines

    /// Long polls (PollWorkflowTaskQueue, PollActivityTaskQueue): what the SDKs use. Servers answer
    /// an idle poll with an empty response before this.
    public static let pollTimeout = Duration.seconds(70)
    /// GetWorkflowExecutionHistory with wait_new_event: servers answer an idle wait before this.
    public static let historyLongPollTimeout = Duration.seconds(70)
    /// Every other RPC.
    public static let rpcTimeout = Duration.seconds(10)
    /// Best-effort TerminateWorkflowExecution of a stuck workflow after the run.
    public static let cleanupTimeout = Duration.seconds(5)

    /// Concurrent RPCs per HTTP/2 connection; more concurrency opens more connections.
    public static let maxStreamsPerConnection = 90
    /// HTTP/2 flow-control window and largest frame the generator's connections accept.
    public static let http2WindowBytes = 8 << 20
    public static let http2MaxFrameBytes = 1 << 20
    /// Largest response message accepted (a bigger one fails its call with RESOURCE_EXHAUSTED).
    public static let maxResponseBytes = 64 << 20
    /// PING and SETTINGS frames a connection accepts in 30 s before it closes the connection
    /// (swift-nio-http2's guard; its default, 200, is below what a grpc-go server sends under
    /// load). The guard allocates one 8-byte timestamp per allowed frame up front: 800 KB per
    /// connection (the generator opens a handful).
    public static let maxControlFramesPer30Seconds = 100_000
    /// Largest response header block accepted (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE).
    public static let maxResponseHeaderBytes = 64 << 10

    // MARK: Retry pacing

    /// Pause after a failed poll before the next one, doubling up to the maximum.
    public static let pollErrorBackoffInitial = Duration.milliseconds(50)
    public static let pollErrorBackoffMax = Duration.seconds(1)
    /// Attempts for a start, signal or respond call that failed with a retryable code.
    public static let maxRpcAttempts = 3

    // MARK: Workflow shape

    /// The timer of the `timer` workload.
    public static let timerDurationSeconds: Int64 = 1
    /// Sequential activities of the `activities10` workload.
    public static let activities10Count = 10
    /// Workflow task start-to-close timeout set on each start.
    public static let workflowTaskTimeoutSeconds: Int64 = 10
    /// Activity start-to-close timeout on each ScheduleActivityTask.
    public static let activityStartToCloseSeconds: Int64 = 10
    /// Most history pages fetched for one workflow task.
    public static let maxHistoryPages = 100
    /// The sticky queue's schedule-to-start timeout the scripted worker asks for (what the SDKs
    /// default to): a task no sticky poller takes in time goes back to the normal queue.
    public static let stickyScheduleToStartSeconds: Int64 = 10

    // MARK: Output

    /// Seconds between progress lines on stderr.
    public static let progressInterval = Duration.seconds(1)
    /// Distinct error messages kept for the report (the count is always exact).
    public static let maxDistinctErrorMessages = 20
    /// Latencies above this are recorded as this value (HdrHistogram's trackable range).
    public static let maxLatencyMicroseconds: UInt64 = 3_600_000_000
}
