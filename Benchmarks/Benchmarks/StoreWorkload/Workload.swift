import StorageTesting

/// The workflow-task transaction Temporal's history service puts on its store: append 3 events
/// (~300 B each) to the workflow's history partition, then compare-and-set the ~1 KiB mutable-state
/// row in the shard partition (condition: version == v) together with 1 task row (~200 B).
/// 64 workflows in flight across 4 shard partitions, fsync on.
public enum Workload {
    public static let workflows = 64
    public static let shards = 4
    public static let stateBytes = 1024
    public static let eventBytes = 300
    public static let eventsPerTransaction = 3
    public static let taskBytes = 200

    public static func shard(of workflow: Int) -> Int { workflow % shards }

    /// Payload pools (JSON-shaped, distinct), indexed by a counter.
    public static let states: [[UInt8]] = { var r = SeededRandom(seed: 1); return (0..<256).map { _ in r.historyEventsJSON(count: stateBytes) } }()
    public static let events: [[UInt8]] = { var r = SeededRandom(seed: 2); return (0..<1024).map { _ in r.historyEventsJSON(count: eventBytes) } }()
    public static let tasks: [[UInt8]] = { var r = SeededRandom(seed: 3); return (0..<256).map { _ in r.bytes(count: taskBytes) } }()
}

/// A store under test driven from OS threads (its calls block). `transaction` runs workflow
/// `workflow`'s transaction number `version` (its state row holds `version` before and
/// `version + 1` after) and throws if the check fails.
public protocol BlockingStore: Sendable {
    var name: String { get }
    func transaction(workflow: Int, version: Int) throws
    /// Reads the state row of a workflow (point read); returns its size.
    func readState(workflow: Int) throws -> Int
    /// Reads up to `limit` events of a workflow's history in order; returns the count.
    func readHistory(workflow: Int, limit: Int) throws -> Int
    func close()
}

public struct BenchmarkFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
