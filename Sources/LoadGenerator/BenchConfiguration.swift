/// A validated description of one benchmark run, independent of the command line.
public struct BenchConfiguration: Sendable, Equatable {
    public var target: Target
    public var namespace: String
    public var workload: Workload
    public var workflows: Int
    public var concurrency: Int
    public var warmupWorkflows: Int
    public var workflowTimeoutSeconds: Int
    public var workflowPollers: Int
    public var activityPollers: Int
    /// The task queue to start workflows on; nil: a fresh one per run (`annals-bench-<workload>-<run id>`).
    public var taskQueue: String?
    /// No scripted worker: another process (an SDK worker) polls `taskQueue`.
    public var externalWorker: Bool
    /// The scripted worker asks for its activities eagerly (`request_eager_execution`, as the
    /// SDKs do for same-queue activities); a server that grants it returns them in the workflow
    /// task completion's response, saving an activity poll each.
    public var eagerActivities: Bool
    /// The scripted worker asks for sticky execution, as the SDKs do: the next tasks of a run
    /// come to its own queue with only the new events (it caches the rest). Without it every
    /// task carries the whole history.
    public var sticky: Bool

    public init(
        target: Target,
        namespace: String = BenchLimits.defaultNamespace,
        workload: Workload,
        workflows: Int = BenchLimits.defaultWorkflows,
        concurrency: Int = BenchLimits.defaultConcurrency,
        warmupWorkflows: Int = BenchLimits.defaultWarmupWorkflows,
        workflowTimeoutSeconds: Int = BenchLimits.defaultWorkflowTimeoutSeconds,
        workflowPollers: Int? = nil,
        activityPollers: Int? = nil,
        taskQueue: String? = nil,
        externalWorker: Bool = false,
        eagerActivities: Bool = true,
        sticky: Bool = true
    ) {
        self.target = target
        self.namespace = namespace
        self.workload = workload
        self.workflows = workflows
        self.concurrency = concurrency
        self.warmupWorkflows = warmupWorkflows
        self.workflowTimeoutSeconds = workflowTimeoutSeconds
        self.workflowPollers = workflowPollers ?? BenchLimits.defaultPollers(concurrency: concurrency)
        self.activityPollers = activityPollers ?? BenchLimits.defaultPollers(concurrency: concurrency)
        self.taskQueue = taskQueue
        self.externalWorker = externalWorker
        self.eagerActivities = eagerActivities
        self.sticky = sticky
    }

    /// Every problem with the configuration, as user-facing messages; empty when it is valid.
    public func problems() -> [String] {
        var problems: [String] = []
        if namespace.isEmpty {
            problems.append("--namespace must not be empty")
        }
        if !(1...BenchLimits.maxWorkflows).contains(workflows) {
            problems.append("--workflows must be between 1 and \(BenchLimits.maxWorkflows), got \(workflows)")
        }
        if !(1...BenchLimits.maxConcurrency).contains(concurrency) {
            problems.append(
                "--concurrency must be between 1 and \(BenchLimits.maxConcurrency), got \(concurrency)"
            )
        }
        if !(0...BenchLimits.maxWorkflows).contains(warmupWorkflows) {
            problems.append("--warmup must be between 0 and \(BenchLimits.maxWorkflows), got \(warmupWorkflows)")
        }
        if !(1...86_400).contains(workflowTimeoutSeconds) {
            problems.append("--workflow-timeout must be between 1 and 86400 seconds, got \(workflowTimeoutSeconds)")
        }
        if workload == .timer && workflowTimeoutSeconds <= Int(BenchLimits.timerDurationSeconds) {
            problems.append("--workflow-timeout must be longer than the timer (\(BenchLimits.timerDurationSeconds) s)")
        }
        for (name, value) in [("--workflow-pollers", workflowPollers), ("--activity-pollers", activityPollers)]
        where !(1...BenchLimits.maxPollers).contains(value) {
            problems.append("\(name) must be between 1 and \(BenchLimits.maxPollers), got \(value)")
        }
        if let taskQueue, taskQueue.isEmpty {
            problems.append("--task-queue must not be empty")
        }
        if externalWorker && taskQueue == nil {
            problems.append("--external-worker needs --task-queue (the queue the external worker polls)")
        }
        return problems
    }
}

/// A `HOST:PORT` server address.
public struct Target: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT`; nil when malformed.
    public init?(parsing text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (1...65_535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
