import StorageTesting

/// The workflow-task transaction Temporal's history service puts on its store: append 3 events
/// (~300 B each) to the workflow's history partition, then compare-and-set the ~1 KiB mutable-state
/// row in the shard partition (condition: version == v) together with 1 task row (~200 B).
/// 64 workflows in flight across 4 shard partitions, fsync on.
enum Workload {
    static let workflows = 64
    static let shards = 4
    static let stateBytes = 1024
    static let eventBytes = 300
    static let eventsPerTransaction = 3
    static let taskBytes = 200

    static func shard(of workflow: Int) -> Int { workflow % shards }

    /// Payload pools (JSON-shaped, distinct), indexed by a counter.
    static let states: [[UInt8]] = { var r = SeededRandom(seed: 1); return (0..<256).map { _ in r.historyEventsJSON(count: stateBytes) } }()
    static let events: [[UInt8]] = { var r = SeededRandom(seed: 2); return (0..<1024).map { _ in r.historyEventsJSON(count: eventBytes) } }()
    static let tasks: [[UInt8]] = { var r = SeededRandom(seed: 3); return (0..<256).map { _ in r.bytes(count: taskBytes) } }()
}

/// A store under test driven from OS threads (its calls block). `transaction` runs workflow
/// `workflow`'s transaction number `version` (its state row holds `version` before and
/// `version + 1` after) and throws if the check fails.
protocol BlockingStore: Sendable {
    var name: String { get }
    func transaction(workflow: Int, version: Int) throws
    /// Reads the state row of a workflow (point read); returns its size.
    func readState(workflow: Int) throws -> Int
    /// Reads up to `limit` events of a workflow's history in order; returns the count.
    func readHistory(workflow: Int, limit: Int) throws -> Int
    func close()
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}
