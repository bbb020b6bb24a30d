import Foundation

/// The outcome of one run, as printed (text on stdout, or one JSON object with `--json`).
public struct BenchReport: Sendable, Codable, Equatable {
    public var target: String
    public var namespace: String
    public var workload: String
    public var workflows: Int
    public var concurrency: Int
    public var warmup: Int
    public var completed: Int
    public var errors: Int
    public var warmupErrors: Int
    public var errorsByKind: [String: Int]
    public var errorSamples: [String: Int]
    public var durationSeconds: Double
    public var workflowsPerSecond: Double
    public var stateTransitions: Int
    public var stateTransitionsPerSecond: Double
    /// Activity tasks received eagerly (in workflow task completions) rather than polled.
    public var eagerActivityTasks: Int
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double
    public var maxMs: Double
    public var meanMs: Double

    init(configuration: BenchConfiguration, snapshot: RunStats.Snapshot, elapsed: Duration) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        target = configuration.target.description
        namespace = configuration.namespace
        workload = configuration.workload.rawValue
        workflows = configuration.workflows
        concurrency = configuration.concurrency
        warmup = configuration.warmupWorkflows
        completed = snapshot.completed
        errors = snapshot.errors
        warmupErrors = snapshot.warmupErrors
        errorsByKind = Dictionary(uniqueKeysWithValues: snapshot.errorsByKind.map { ($0.key.rawValue, $0.value) })
        errorSamples = snapshot.errorMessages
        durationSeconds = seconds
        workflowsPerSecond = seconds > 0 ? Double(snapshot.completed) / seconds : 0
        stateTransitions = snapshot.stateTransitions
        stateTransitionsPerSecond = seconds > 0 ? Double(snapshot.stateTransitions) / seconds : 0
        eagerActivityTasks = snapshot.eagerActivityTasks
        p50Ms = snapshot.latency.milliseconds(atPercentile: 50)
        p95Ms = snapshot.latency.milliseconds(atPercentile: 95)
        p99Ms = snapshot.latency.milliseconds(atPercentile: 99)
        maxMs = snapshot.latency.maxMilliseconds
        meanMs = snapshot.latency.meanMilliseconds
    }

    /// One JSON object on one line, keys sorted.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The human-readable summary.
    public func text() -> String {
        var lines = [
            "workload     \(workload) against \(target) (namespace \(namespace))",
            "workflows    \(completed) completed of \(workflows), concurrency \(concurrency), warmup \(warmup)",
            "duration     \(format(durationSeconds)) s",
            "throughput   \(format(workflowsPerSecond)) workflows/s, \(format(stateTransitionsPerSecond)) state transitions/s",
            "latency ms   p50 \(format(p50Ms))  p95 \(format(p95Ms))  p99 \(format(p99Ms))  max \(format(maxMs))  (start to close)",
            "errors       \(errors)" + (warmupErrors > 0 ? " (+\(warmupErrors) during warmup)" : ""),
        ]
        if eagerActivityTasks > 0 { lines.insert("eager        \(eagerActivityTasks) activity tasks received with workflow task completions", at: 5) }
        for (kind, count) in errorsByKind.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(kind): \(count)")
        }
        for (message, count) in errorSamples.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
            lines.append("  \(count)x \(message)")
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
