import StorageCodec
import StorageEngine
import StorageIO
import StorageLog
import StorageTesting
import Synchronization
import Testing

let storeDirectory = "/data/store"

func value(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("Store")
struct StoreTests {
    let shard = Key(.int(1))

    @Test func putReadUpdateDelete() async throws {
        let fs = MemFileSystem()
        let store = try Store.open(directory: storeDirectory, fileSystem: fs)
        let k = Key(.string("wf-1"))
        try await store.write([.put("executions", shard, k, Row(["state": value("a"), "version": value("1")]))])
        #expect(try store.read(table: "executions", partition: shard, clustering: k) == Row(["state": value("a"), "version": value("1")]))
        try await store.write([.update("executions", shard, k, ["state": value("b"), "version": nil, "extra": value("x")])])
        #expect(try store.read(table: "executions", partition: shard, clustering: k) == Row(["state": value("b"), "extra": value("x")]))
        #expect(try store.read(table: "other", partition: shard, clustering: k) == nil, "tables are separate")
        #expect(try store.read(table: "executions", partition: Key(.int(2)), clustering: k) == nil, "partitions are separate")
        try await store.write([.delete("executions", shard, k)])
        #expect(try store.read(table: "executions", partition: shard, clustering: k) == nil)
        await store.close()
    }

    @Test func scansFollowClusteringOrderWithPages() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        // History-node style clustering: (branch asc, node id asc, txn id desc).
        func key(_ node: Int64, _ txn: Int64) -> Key {
            Key([.string("branch-a"), .int(node), .int(txn)], order: [.ascending, .ascending, .descending])
        }
        var mutations: [Mutation] = []
        for node in Int64(1)...20 {
            for txn in Int64(1)...3 { mutations.append(.put("history_node", shard, key(node, txn), Row(["n": value("\(node)/\(txn)")]))) }
        }
        try await store.write(mutations)
        var seen: [String] = []
        var token: [UInt8]? = nil
        repeat {
            let page = try store.scan(table: "history_node", partition: shard, limit: 7, pageToken: token)
            #expect(page.rows.count <= 7)
            seen += page.rows.map { String(decoding: $0.row["n"]!, as: UTF8.self) }
            token = page.nextPageToken
        } while token != nil
        let expected = (1...20).flatMap { node in [3, 2, 1].map { "\(node)/\($0)" } }
        #expect(seen == expected)
        // A bounded range, reversed.
        let page = try store.scan(table: "history_node", partition: shard, from: key(5, 3), to: key(7, 3), reverse: true)
        #expect(page.rows.map { String(decoding: $0.row["n"]!, as: UTF8.self) } == ["6/1", "6/2", "6/3", "5/1", "5/2", "5/3"])
        #expect(page.nextPageToken == nil)
        // Range delete of node 10's transactions.
        try await store.write([.deleteRange("history_node", shard, from: key(10, Int64.max), to: key(11, Int64.max))])
        let after = try store.scan(table: "history_node", partition: shard, limit: 100)
        #expect(after.rows.count == 57)
        #expect(!after.rows.contains { String(decoding: $0.row["n"]!, as: UTF8.self).hasPrefix("10/") })
        await store.close()
    }

    @Test func badPageTokensAreRejected() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        for token: [UInt8] in [[], [9, 0], [1, 7], [1, 0, 0x99]] {
            #expect(throws: StorageError.self) { _ = try store.scan(table: "t", partition: shard, pageToken: token) }
        }
        #expect(throws: StorageError.self) { _ = try store.scan(table: "t", partition: shard, limit: 0) }
        await store.close()
    }

    @Test func compareAndSetAppliesAllOrNothing() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        let shardRow = Key.empty
        let run = Key(.string("run-1"))
        // Create: shard row absent → insert with range 1.
        var outcome = try await store.compareAndSet(
            table: "executions", partition: shard, conditions: [.rowAbsent(shardRow)],
            mutations: [.put("executions", shard, shardRow, Row(["range_id": value("1")]))])
        #expect(outcome == .applied)
        // Fenced update: range_id == 1 and the run row absent.
        outcome = try await store.compareAndSet(
            table: "executions", partition: shard,
            conditions: [.columnEquals(shardRow, column: "range_id", value: value("1")), .rowAbsent(run)],
            mutations: [.put("executions", shard, run, Row(["db_record_version": value("1")]))])
        #expect(outcome == .applied)
        // A stale fence fails and returns the current conditioned rows; nothing is written.
        outcome = try await store.compareAndSet(
            table: "executions", partition: shard,
            conditions: [.columnEquals(shardRow, column: "range_id", value: value("0")), .rowPresent(run)],
            mutations: [.put("executions", shard, run, Row(["db_record_version": value("2")])),
                        .delete("executions", shard, shardRow)])
        #expect(outcome == .notApplied(current: [
            ConditionedRow(clustering: shardRow, row: Row(["range_id": value("1")])),
            ConditionedRow(clustering: run, row: Row(["db_record_version": value("1")])),
        ]))
        #expect(try store.read(table: "executions", partition: shard, clustering: run) == Row(["db_record_version": value("1")]))
        #expect(try store.read(table: "executions", partition: shard, clustering: shardRow) != nil)
        // Mutations outside the partition are refused.
        await #expect(throws: StorageError.self) {
            _ = try await store.compareAndSet(
                table: "executions", partition: shard, conditions: [],
                mutations: [.put("executions", Key(.int(2)), run, Row())])
        }
        await store.close()
    }

    /// Column conditions are read from the row's encoding in place: every column position, a
    /// name that is a prefix of another, empty values, absent columns, pending and durable rows.
    @Test func columnConditionsReadTheEncodedRow() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        let k = Key(.string("wf"))
        let row = Row(["a": value("1"), "ver": value("short"), "version": value("7"), "empty": [], "z": value("last")])
        try await store.write([.put("executions", shard, k, row)])
        func check(_ column: String, _ expected: [UInt8]?) async throws -> Bool {
            try await store.compareAndSet(
                table: "executions", partition: shard, conditions: [.columnEquals(k, column: column, value: expected)],
                mutations: [.put("executions", shard, Key(.string("probe")), Row())]
            ).applied
        }
        for (column, expected) in row.columns {
            #expect(try await check(column, expected), "column \(column) holds its value")
            #expect(try await !check(column, expected + [0]), "column \(column) is not a longer value")
        }
        #expect(try await check("versio", nil), "a prefix of a column's name is another column")
        #expect(try await check("missing", nil))
        #expect(try await !check("missing", []), "an absent column is not an empty one")
        #expect(try await !check("empty", nil), "an empty column is present")
        // After an overwrite the conditions see the new row only.
        try await store.write([.put("executions", shard, k, Row(["version": value("8")]))])
        #expect(try await check("version", value("8")))
        #expect(try await check("a", nil))
        await store.close()
    }

    /// `readColumn` answers as `read(...)?[column]` does: from the memtable, after a flush from an
    /// index file, and for absent rows, absent columns and deleted rows.
    @Test func readColumnAnswersAsReadingTheRowDoes() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        let rows: [(Key, Row)] = [
            (Key(.string("a")), Row(["data": value("state-a"), "version": value("3"), "empty": []])),
            (Key(.string("b")), Row(["version": value("9")])),
        ]
        for (key, row) in rows { try await store.write([.put("executions", shard, key, row)]) }
        try await store.write([.put("executions", shard, Key(.string("c")), Row(["data": value("x")])), .delete("executions", shard, Key(.string("c")))])
        func check(_ stage: String) throws {
            for key in ["a", "b", "c", "missing"].map({ Key(.string($0)) }) {
                let row = try store.read(table: "executions", partition: shard, clustering: key)
                for column in ["data", "version", "empty", "absent"] {
                    #expect(try store.readColumn(table: "executions", partition: shard, clustering: key, column: column) == row?[column],
                            "\(stage): \(key) \(column)")
                }
            }
        }
        try check("memtable")
        #expect(try store.readColumn(table: "executions", partition: shard, clustering: Key(.string("a")), column: "data") == value("state-a"))
        try await store.flush()
        #expect(store.statistics.indexFiles > 0)
        try check("index file")
        await store.close()
    }

    /// Column names round-trip whatever their script, from the memtable and from an index file.
    @Test func columnNamesBeyondASCIIRoundTrip() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        let row = Row(["état": value("1"), "名前": value("2"), "plain": value("3"), "": value("4")])
        try await store.write([.put("t", shard, Key(.string("k")), row)])
        #expect(try store.read(table: "t", partition: shard, clustering: Key(.string("k"))) == row)
        try await store.flush()
        #expect(try store.read(table: "t", partition: shard, clustering: Key(.string("k"))) == row)
        #expect(try store.readColumn(table: "t", partition: shard, clustering: Key(.string("k")), column: "名前") == value("2"))
        await store.close()
    }

    /// A batch that writes one row several times keeps the last write, conditional or not.
    @Test func theLastWriteOfARowInABatchWins() async throws {
        let fs = MemFileSystem()
        let store = try Store.open(directory: storeDirectory, fileSystem: fs)
        let a = Key(.string("a"))
        let b = Key(.string("b"))
        try await store.write([
            .put("t", shard, b, Row(["n": value("1")])), .put("t", shard, a, Row(["n": value("1")])),
            .delete("t", shard, b), .put("t", shard, a, Row(["n": value("2")])),
        ])
        #expect(try store.read(table: "t", partition: shard, clustering: a) == Row(["n": value("2")]))
        #expect(try store.read(table: "t", partition: shard, clustering: b) == nil)
        let outcome = try await store.compareAndSet(
            table: "t", partition: shard, conditions: [.columnEquals(a, column: "n", value: value("2"))],
            mutations: [.delete("t", shard, a), .put("t", shard, b, Row(["n": value("3")])), .put("t", shard, a, Row(["n": value("4")]))])
        #expect(outcome == .applied)
        #expect(try store.read(table: "t", partition: shard, clustering: a) == Row(["n": value("4")]))
        #expect(try store.read(table: "t", partition: shard, clustering: b) == Row(["n": value("3")]))
        await store.close()
        // The same after replay from the log.
        let reopened = try Store.open(directory: storeDirectory, fileSystem: fs)
        #expect(try reopened.read(table: "t", partition: shard, clustering: a) == Row(["n": value("4")]))
        #expect(try reopened.read(table: "t", partition: shard, clustering: b) == Row(["n": value("3")]))
        await reopened.close()
    }

    @Test func compareAndSetAlsoWritingOtherPartitionsAppliesOnlyWithTheBatch() async throws {
        let fileSystem = MemFileSystem()
        var store = try Store.open(directory: storeDirectory, fileSystem: fileSystem)
        let run = Key(.string("run-1"))
        let history = Key(.string("tree-1"))
        try await store.write([.put("executions", shard, run, Row(["v": value("1")]))])
        // Condition fails: neither the partition's write nor the other partition's write lands.
        var outcome = try await store.compareAndSet(
            table: "executions", partition: shard, conditions: [.columnEquals(run, column: "v", value: value("0"))],
            mutations: [.put("executions", shard, run, Row(["v": value("2")]))],
            alsoWriting: [.put("history_node", history, Key(.int(1)), Row(["events": value("lost")]))])
        #expect(outcome == .notApplied(current: [ConditionedRow(clustering: run, row: Row(["v": value("1")]))]))
        #expect(try store.read(table: "history_node", partition: history, clustering: Key(.int(1))) == nil)
        // Condition holds: both land, in one record, and survive a reopen.
        outcome = try await store.compareAndSet(
            table: "executions", partition: shard, conditions: [.columnEquals(run, column: "v", value: value("1"))],
            mutations: [.put("executions", shard, run, Row(["v": value("2")]))],
            alsoWriting: [
                .put("history_node", history, Key(.int(1)), Row(["events": value("e1")])),
                .put("visibility", Key(.string("ns")), run, Row(["status": value("running")])),
            ])
        #expect(outcome == .applied)
        let durableLSN = store.log.lastDurableLSN
        await store.close()
        store = try Store.open(directory: storeDirectory, fileSystem: fileSystem)
        #expect(try store.read(table: "executions", partition: shard, clustering: run) == Row(["v": value("2")]))
        #expect(try store.read(table: "history_node", partition: history, clustering: Key(.int(1))) == Row(["events": value("e1")]))
        #expect(try store.read(table: "visibility", partition: Key(.string("ns")), clustering: run) == Row(["status": value("running")]))
        #expect(durableLSN == 2, "the put and the one conditional record (the refused batch wrote nothing)")
        await store.close()
    }

    @Test func racingCASOnOneVersionHasExactlyOneWinnerPerRound() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        let row = Key(.string("mutable-state"))
        try await store.write([.put("executions", shard, row, Row(["version": value("0")]))])
        for round in 0..<25 {
            let winners = await withTaskGroup(of: Bool.self) { group in
                for contender in 0..<16 {
                    group.addTask {
                        let outcome = try? await store.compareAndSet(
                            table: "executions", partition: shard,
                            conditions: [.columnEquals(row, column: "version", value: value("\(round)"))],
                            mutations: [.put("executions", shard, row, Row(["version": value("\(round + 1)"), "by": value("\(contender)")]))])
                        return outcome == .applied
                    }
                }
                var count = 0
                for await won in group where won { count += 1 }
                return count
            }
            #expect(winners == 1, "round \(round): \(winners) winners")
        }
        #expect(try store.read(table: "executions", partition: shard, clustering: row)?["version"] == value("25"))
        await store.close()
    }

    @Test func pipelinedCASOnOnePartitionSharesGroupCommits() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        // 64 workflows in one shard, each advancing its own version 20 times concurrently.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for workflow in 0..<64 {
                group.addTask {
                    let key = Key(.string("wf-\(workflow)"))
                    for version in 0..<20 {
                        let outcome = try await store.compareAndSet(
                            table: "executions", partition: shard,
                            conditions: version == 0 ? [.rowAbsent(key)] : [.columnEquals(key, column: "v", value: value("\(version)"))],
                            mutations: [.put("executions", shard, key, Row(["v": value("\(version + 1)")]))])
                        #expect(outcome == .applied)
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = store.log.stats()
        #expect(stats.records == 64 * 20)
        #expect(stats.segments.reduce(0) { $0 + $1.frames } < 64 * 20, "batches on one partition shared frames")
        await store.close()
    }

    @Test func reopenReplaysTheLog() async throws {
        let fs = MemFileSystem()
        var store = try Store.open(directory: storeDirectory, fileSystem: fs)
        for i in 0..<50 {
            try await store.write([.put("t", Key(.int(Int64(i % 5))), Key(.int(Int64(i))), Row(["i": value("\(i)")]))])
        }
        try await store.write([.deleteRange("t", Key(.int(0)), from: Key(.int(0)), to: Key(.int(100)))])
        await store.close()
        store = try Store.open(directory: storeDirectory, fileSystem: fs)
        var total = 0
        for p in 0..<5 { total += try store.scan(table: "t", partition: Key(.int(Int64(p)))).rows.count }
        #expect(total == 40)
        #expect(try store.scan(table: "t", partition: Key(.int(0))).rows.isEmpty)
        #expect(try store.scan(table: "t", partition: Key(.int(3))).rows.count == 10)
        await store.close()
    }

    @Test func aRecordThatIsNotABatchRefusesToOpenNamingItsLSN() async throws {
        let fs = MemFileSystem()
        let log = try Log.open(directory: storeDirectory, fileSystem: fs)
        _ = try await log.append([1, 0, 0, 0, 0])  // version 1, zero writes: valid
        _ = try await log.append([7, 7, 7])
        await log.close()
        do {
            _ = try Store.open(directory: storeDirectory, fileSystem: fs)
            Issue.record("opened a store whose log holds a malformed batch")
        } catch let error as StorageError {
            #expect(error.code == .corruption)
            #expect(error.message.contains("LSN 2"))
        }
    }

    @Test func limitsAreEnforced() async throws {
        let store = try Store.open(directory: storeDirectory, fileSystem: MemFileSystem())
        await #expect(throws: StorageError.self) { try await store.write([]) }
        await #expect(throws: StorageError.self) {
            try await store.write([.put("t", shard, Key(.bytes([UInt8](repeating: 1, count: StoreLimits.maxKeyBytes + 1))), Row())])
        }
        await #expect(throws: StorageError.self) {
            try await store.write([.put("t", shard, Key.empty, Row(["big": [UInt8](repeating: 0, count: StoreLimits.maxRowBytes)]))])
        }
        try await store.write([.put("t", shard, Key.empty, Row(["small": [1]]))])
        await store.close()
    }
}
