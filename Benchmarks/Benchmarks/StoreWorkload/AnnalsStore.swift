import Foundation
import StorageEngine
import StorageCodec
import StorageLog

/// Annals' store: a compare-and-set in the shard partition carrying the history append in the
/// same log record (`alsoWriting`, as the history service writes), or, with
/// `separateHistoryAppend`, an unconditional append first and then the CAS (Temporal's Cassandra
/// pattern: two durable records).
public final class AnnalsStore: @unchecked Sendable {
    public let name = "annals"
    public let store: Store
    public let separateHistoryAppend: Bool

    public init(directory: String, separateHistoryAppend: Bool = false) throws {
        var options = StoreOptions()
        if ProcessInfo.processInfo.environment["ANNALS_NOSYNC"] == "1" { options.log.durability = .noSyncUnsafeForTests }
        store = try Store.open(directory: directory, options: options)
        self.separateHistoryAppend = separateHistoryAppend
    }

    public func transaction(workflow: Int, version: Int) async throws {
        let shard = Key(.int(Int64(Workload.shard(of: workflow))))
        let tree = Key(.int(Int64(workflow)))
        var events: [Mutation] = []
        for i in 0..<Workload.eventsPerTransaction {
            let node = version * Workload.eventsPerTransaction + i
            events.append(.put("history_node", tree, Key([.string("branch"), .int(Int64(node))]),
                               Row(["data": Workload.events[(workflow + node) % Workload.events.count]])))
        }
        if separateHistoryAppend { try await store.write(events) }
        let stateKey = Key(.string("wf-\(workflow)"))
        let outcome = try await store.compareAndSet(
            table: "executions", partition: shard,
            conditions: [version == 0 ? .rowAbsent(stateKey) : .columnEquals(stateKey, column: "version", value: Array("\(version)".utf8))],
            mutations: [
                .put("executions", shard, stateKey, Row(["version": Array("\(version + 1)".utf8), "data": Workload.states[(workflow + version) % Workload.states.count]])),
                .put("executions", shard, Key(.string("task"), .int(Int64(workflow)), .int(Int64(version))), Row(["data": Workload.tasks[version % Workload.tasks.count]])),
            ],
            alsoWriting: separateHistoryAppend ? [] : events)
        guard outcome.applied else { throw BenchmarkFailure(description: "annals: CAS failed for workflow \(workflow) version \(version)") }
    }

    public func readState(workflow: Int) async throws -> Int {
        // One column, as the RocksDB and SQLite sides read one value.
        try store.readColumn(
            table: "executions", partition: Key(.int(Int64(Workload.shard(of: workflow)))), clustering: Key(.string("wf-\(workflow)")),
            column: "data")?.count ?? 0
    }

    public func readHistory(workflow: Int, limit: Int) async throws -> Int {
        try store.scan(table: "history_node", partition: Key(.int(Int64(workflow))), limit: limit).rows.count
    }

    public func close() async { await store.close() }
}
