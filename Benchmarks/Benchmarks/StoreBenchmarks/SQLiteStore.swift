import StoreWorkload
import CSQLite
import Synchronization

/// SQLite (libsqlite3): WAL, synchronous=FULL, one transaction per workflow task on one
/// connection (SQLite has one writer at a time), as Temporal's SQLite persistence does.
final class SQLiteStore: BlockingStore, @unchecked Sendable {
    public let name = "sqlite"
    let db: OpaquePointer
    let lock = Mutex(())
    let select, updateState, insertState, insertEvent, insertTask, readStateStatement, readHistoryStatement: OpaquePointer

    init(directory: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(directory + "/sqlite.db", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            let handle
        else { throw BenchmarkFailure(description: "sqlite open failed") }
        db = handle
        for sql in [
            "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
            "CREATE TABLE IF NOT EXISTS executions(shard INTEGER, wf INTEGER, version INTEGER, data BLOB, PRIMARY KEY(shard, wf)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS history(tree INTEGER, node INTEGER, data BLOB, PRIMARY KEY(tree, node)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS tasks(shard INTEGER, wf INTEGER, task INTEGER, data BLOB, PRIMARY KEY(shard, wf, task)) WITHOUT ROWID",
        ] {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchmarkFailure(description: "sqlite: \(sql)") }
        }
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw BenchmarkFailure(description: "sqlite prepare: \(sql)")
            }
            return statement
        }
        select = try prepare("SELECT version FROM executions WHERE shard=? AND wf=?")
        updateState = try prepare("UPDATE executions SET version=?, data=? WHERE shard=? AND wf=? AND version=?")
        insertState = try prepare("INSERT INTO executions(shard, wf, version, data) VALUES(?,?,?,?)")
        insertEvent = try prepare("INSERT INTO history(tree, node, data) VALUES(?,?,?)")
        insertTask = try prepare("INSERT INTO tasks(shard, wf, task, data) VALUES(?,?,?,?)")
        readStateStatement = try prepare("SELECT data FROM executions WHERE shard=? AND wf=?")
        readHistoryStatement = try prepare("SELECT data FROM history WHERE tree=? ORDER BY node LIMIT ?")
    }

    private func run(_ statement: OpaquePointer, _ values: [Any]) throws -> Int64? {
        sqlite3_reset(statement)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            if let v = value as? Int {
                sqlite3_bind_int64(statement, position, Int64(v))
            } else if let bytes = value as? [UInt8] {
                _ = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self)) }
            }
        }
        let rc = sqlite3_step(statement)
        if rc == SQLITE_ROW { return sqlite3_column_int64(statement, 0) }
        guard rc == SQLITE_DONE else { throw BenchmarkFailure(description: "sqlite step: \(String(cString: sqlite3_errmsg(db)))") }
        return nil
    }

    public func transaction(workflow: Int, version: Int) throws {
        try lock.withLock { _ in
            let shard = Workload.shard(of: workflow)
            guard sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw BenchmarkFailure(description: "sqlite begin") }
            do {
                let current = try run(select, [shard, workflow])
                guard (current ?? 0) == Int64(version) else { throw BenchmarkFailure(description: "sqlite: version mismatch") }
                for i in 0..<Workload.eventsPerTransaction {
                    let node = version * Workload.eventsPerTransaction + i
                    _ = try run(insertEvent, [workflow, node, Workload.events[(workflow + node) % Workload.events.count]])
                }
                let state = Workload.states[(workflow + version) % Workload.states.count]
                if current == nil {
                    _ = try run(insertState, [shard, workflow, version + 1, state])
                } else {
                    _ = try run(updateState, [version + 1, state, shard, workflow, version])
                    guard sqlite3_changes(db) == 1 else { throw BenchmarkFailure(description: "sqlite: conditional update lost") }
                }
                _ = try run(insertTask, [shard, workflow, version, Workload.tasks[version % Workload.tasks.count]])
                guard sqlite3_exec(db, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw BenchmarkFailure(description: "sqlite commit") }
            } catch {
                sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }
    }

    public func readState(workflow: Int) throws -> Int {
        lock.withLock { _ in
            sqlite3_reset(readStateStatement)
            sqlite3_bind_int64(readStateStatement, 1, Int64(Workload.shard(of: workflow)))
            sqlite3_bind_int64(readStateStatement, 2, Int64(workflow))
            guard sqlite3_step(readStateStatement) == SQLITE_ROW else { return 0 }
            return Int(sqlite3_column_bytes(readStateStatement, 0))
        }
    }

    public func readHistory(workflow: Int, limit: Int) throws -> Int {
        lock.withLock { _ in
            sqlite3_reset(readHistoryStatement)
            sqlite3_bind_int64(readHistoryStatement, 1, Int64(workflow))
            sqlite3_bind_int64(readHistoryStatement, 2, Int64(limit))
            var rows = 0
            while sqlite3_step(readHistoryStatement) == SQLITE_ROW {
                rows += sqlite3_column_bytes(readHistoryStatement, 0) > 0 ? 1 : 0
            }
            return rows
        }
    }

    public func close() {
        for statement in [select, updateState, insertState, insertEvent, insertTask, readStateStatement, readHistoryStatement] {
            sqlite3_finalize(statement)
        }
        sqlite3_close(db)
    }
}
