import StorageIndex
import Synchronization
import StorageCodec
import StorageIO
import StorageLog

/// Writes: unconditional batches and compare-and-set.
extension Store {
    /// Applies the mutations atomically and durably. They may span tables and partitions.
    public func write(_ mutations: [Mutation]) async throws {
        _ = try await submit(cas: nil, mutations)
    }

    /// Cassandra's lightweight transaction: if every condition holds for the current rows of
    /// (`table`, `partition`), applies all mutations atomically and durably; otherwise applies
    /// nothing and returns the current value of each conditioned row. Every mutation must target
    /// this table and partition.
    ///
    /// `alsoWriting` goes beyond Cassandra: mutations of any table and partition that are applied
    /// in the same log record if, and only if, the conditions hold (conditions still name rows of
    /// this partition only). Everything is one record, so a reader after a crash sees all of it
    /// or none of it; the history service writes a workflow's events and visibility record this
    /// way with its state, where Cassandra needs a separate write before the transaction.
    public func compareAndSet(
        table: String, partition: Key, conditions: [Condition], mutations: [Mutation], alsoWriting: [Mutation] = []
    ) async throws -> CASOutcome {
        for mutation in mutations where mutation.table != table || mutation.partition != partition {
            throw StorageError(
                .invalidArgument,
                "a conditional batch must stay in one partition: \(mutation.table) \(mutation.partition) is not \(table) \(partition)")
        }
        return try await submit(cas: (PartitionID(table: table, key: partition.bytes), conditions), mutations + alsoWriting)
    }

    private func submit(cas: (PartitionID, [Condition])?, _ mutations: [Mutation]) async throws -> CASOutcome {
        try validate(mutations, conditions: cas?.1 ?? [])
        await waitForRoom()
        return try await withCheckedThrowingContinuation { continuation in
            let immediate: Result<CASOutcome, any Error>? = state.withLock { state in
                if let failure = state.failure {
                    return .failure(StorageError(
                        .closed, "the store stopped accepting writes after a failed write (\(failure)); reopen it to recover"))
                }
                do {
                    if let (id, conditions) = cas {
                        var current: [ConditionedRow] = []
                        var holds = true
                        for condition in conditions {
                            let row = try Store.latestRow(id, condition.clustering.bytes, in: state)
                            if !condition.holds(for: row) { holds = false }
                            if !current.contains(where: { $0.clustering == condition.clustering }) {
                                current.append(ConditionedRow(clustering: condition.clustering, row: row))
                            }
                        }
                        if !holds { return .success(.notApplied(current: current)) }
                    }
                    let writes = try Store.materialize(mutations, in: state)
                    try enqueue(writes, in: &state, continuation)
                    return nil
                } catch {
                    return .failure(error)
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    /// Queues one batch record for `writes` and records it in the overlay. Call with the state locked.
    private func enqueue(
        _ writes: [BatchRecord.Write], in state: inout State, _ continuation: CheckedContinuation<CASOutcome, any Error>
    ) throws {
        let record = BatchRecord(writes: writes).encoded()
        guard record.count <= StoreLimits.maxBatchBytes else {
            throw StorageError(.limitExceeded, "batch of \(record.count) bytes exceeds the limit of \(StoreLimits.maxBatchBytes) bytes")
        }
        let recordBytes = record.count
        try log.enqueue(record) { [self] result in complete(writes, recordBytes: recordBytes, result, continuation) }
        for write in writes {
            let id = PartitionID(table: write.table, key: write.partition)
            var pending = state.overlay[id, default: [:]][ByteKey(write.clustering)] ?? Pending(row: nil, references: 0)
            pending.row = write.row
            pending.references += 1
            state.overlay[id, default: [:]][ByteKey(write.clustering)] = pending
        }
    }

    /// A row found in a segment being cleaned, with the LSN of the record that wrote it.
    struct Relocation {
        var partition: PartitionID
        var clustering: [UInt8]
        var row: Row
        var lsn: UInt64
    }

    /// Log cleaning: writes again, in one new record, every row whose current version is still
    /// the one written at its `lsn` (rows changed since, or with a write in flight, are skipped).
    /// Returns how many rows it relocated, once they are durable.
    func relocate(_ rows: [Relocation]) async throws -> Int {
        var relocated = 0
        _ = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CASOutcome, any Error>) in
            let immediate: Result<CASOutcome, any Error>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                do {
                    var writes: [BatchRecord.Write] = []
                    for row in rows where state.overlay[row.partition]?[ByteKey(row.clustering)] == nil {
                        guard let entry = try Store.indexedEntry(
                            row.partition, row.clustering, memtable: state.memtable, frozen: state.frozen, files: state.files),
                            entry.lsn == row.lsn
                        else { continue }
                        writes.append(BatchRecord.Write(
                            table: row.partition.table, partition: row.partition.key, clustering: row.clustering, row: row.row))
                    }
                    relocated = writes.count
                    if writes.isEmpty { return .success(.applied) }
                    writes.sort { a, b in
                        if a.table != b.table { return a.table < b.table }
                        if a.partition != b.partition { return compareKeys(a.partition, b.partition) < 0 }
                        return compareKeys(a.clustering, b.clustering) < 0
                    }
                    try enqueue(writes, in: &state, continuation)
                    return nil
                } catch {
                    return .failure(error)
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
        return relocated
    }

    /// Waits while the frozen memtables waiting for a flush are at their limit.
    private func waitForRoom() async {
        while true {
            // Fast path without the lock; the slow path re-checks under it.
            if frozenCount.load() < StoreLimits.maxFrozenMemtables { return }
            let full = state.withLock { $0.frozen.count >= StoreLimits.maxFrozenMemtables && $0.failure == nil }
            if !full { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.frozen.count < StoreLimits.maxFrozenMemtables || state.failure != nil { return true }
                    state.roomWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Runs on the log's writer thread once the batch is durable (or failed). Durable batches wait
    /// for the end of their group (`applyDurableGroup`), so the lock is taken once per group.
    private func complete(
        _ writes: [BatchRecord.Write], recordBytes: Int, _ result: Result<LogPosition, any Error>,
        _ continuation: CheckedContinuation<CASOutcome, any Error>
    ) {
        switch result {
        case .success(let position):
            durableGroup.append(DurableBatch(
                recordBytes: recordBytes, writes: writes, entries: Store.entries(writes, lsn: position.lsn), lsn: position.lsn, continuation: continuation))
        case .failure(let error):
            applyDurableGroup()
            let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
                if state.failure == nil {
                    state.failure = (error as? StorageError) ?? StorageError(.io, "\(error)")
                }
                state.overlay.removeAll()
                let waiters = state.roomWaiters
                state.roomWaiters.removeAll()
                return waiters
            }
            for waiter in waiters { waiter.resume() }
            continuation.resume(throwing: error)
        }
    }

    /// Applies the group's durable batches in LSN order under one lock, then resumes their callers.
    func applyDurableGroup() {
        guard !durableGroup.isEmpty else { return }
        let group = durableGroup
        durableGroup.removeAll(keepingCapacity: true)
        let froze: Bool = state.withLock { state in
            let frozenBefore = state.frozen.count
            for batch in group {
                Store.apply(batch.entries, lsn: batch.lsn, recordBytes: batch.recordBytes, to: &state, options: options)
                for write in batch.writes {
                    let id = PartitionID(table: write.table, key: write.partition)
                    guard var pending = state.overlay[id]?[ByteKey(write.clustering)] else { continue }
                    pending.references -= 1
                    state.overlay[id]![ByteKey(write.clustering)] = pending.references > 0 ? pending : nil
                    if state.overlay[id]!.isEmpty { state.overlay[id] = nil }
                }
            }
            if state.frozen.count != frozenBefore { frozenCount.store(state.frozen.count) }
            return state.frozen.count > frozenBefore
        }
        if froze { wakeBackground() }
        for batch in group { batch.continuation.resume(returning: .applied) }
    }

    /// The latest accepted value of a row: in-flight batches first, then the index.
    static func latestRow(_ id: PartitionID, _ clustering: [UInt8], in state: State) throws -> Row? {
        if let pending = state.overlay[id]?[ByteKey(clustering)] { return pending.row }
        return try Store.indexedRow(id, clustering, memtable: state.memtable, frozen: state.frozen, files: state.files)
    }

    /// Turns mutations into whole-row writes (one per row, in key order) against the latest state.
    static func materialize(_ mutations: [Mutation], in state: State) throws -> [BatchRecord.Write] {
        var effects: [PartitionID: [ByteKey: Row?]] = [:]
        func current(_ id: PartitionID, _ key: [UInt8]) throws -> Row? {
            if let local = effects[id]?[ByteKey(key)] { return local }
            return try latestRow(id, key, in: state)
        }
        for mutation in mutations {
            let id = PartitionID(table: mutation.table, key: mutation.partition.bytes)
            let key = mutation.clustering.bytes
            switch mutation.operation {
            case .put(let row):
                effects[id, default: [:]][ByteKey(key)] = .some(row)
            case .update(let columns):
                var row = try current(id, key) ?? Row()
                for (name, value) in columns { row.columns[name] = value }
                effects[id, default: [:]][ByteKey(key)] = .some(row)
            case .delete:
                effects[id, default: [:]][ByteKey(key)] = .some(nil)
            case .deleteRange(let end):
                for doomed in try liveKeys(id, from: key, to: end.bytes, in: state, effects: effects[id] ?? [:]) {
                    effects[id, default: [:]][ByteKey(doomed)] = .some(nil)
                }
            }
        }
        var writes: [BatchRecord.Write] = []
        let partitions = effects.keys.sorted { a, b in a.table != b.table ? a.table < b.table : compareKeys(a.key, b.key) < 0 }
        for id in partitions {
            for (key, row) in effects[id]!.sorted(by: { compareKeys($0.key.bytes, $1.key.bytes) < 0 }) {
                writes.append(BatchRecord.Write(table: id.table, partition: id.key, clustering: key.bytes, row: row))
            }
        }
        return writes
    }

    /// Keys with a row in [start, end), counting in-flight batches and this batch's earlier effects.
    static func liveKeys(
        _ id: PartitionID, from start: [UInt8], to end: [UInt8], in state: State, effects: [ByteKey: Row?]
    ) throws -> [[UInt8]] {
        var keys = Set<[UInt8]>()
        var merge = try MergedScan(
            id, from: start, to: end, reverse: false,
            memory: memoryMaps(id, memtable: state.memtable, frozen: state.frozen), files: state.files)
        while let (key, _) = try merge.next() { keys.insert(key) }
        func inRange(_ key: [UInt8]) -> Bool { compareKeys(key, start) >= 0 && compareKeys(key, end) < 0 }
        for (key, pending) in state.overlay[id] ?? [:] where inRange(key.bytes) {
            if pending.row == nil { keys.remove(key.bytes) } else { keys.insert(key.bytes) }
        }
        for (key, row) in effects where inRange(key.bytes) {
            if row == nil { keys.remove(key.bytes) } else { keys.insert(key.bytes) }
        }
        return Array(keys)
    }

    private func validate(_ mutations: [Mutation], conditions: [Condition]) throws {
        guard !mutations.isEmpty else { throw StorageError(.invalidArgument, "a batch needs at least one mutation") }
        guard mutations.count <= StoreLimits.maxBatchMutations else {
            throw StorageError(.limitExceeded, "batch of \(mutations.count) mutations exceeds the limit of \(StoreLimits.maxBatchMutations)")
        }
        for mutation in mutations {
            let tableBytes = mutation.table.utf8.count
            guard tableBytes > 0, tableBytes <= StoreLimits.maxTableNameBytes else {
                throw StorageError(.invalidArgument, "table name must be 1...\(StoreLimits.maxTableNameBytes) bytes")
            }
            for key in [mutation.partition, mutation.clustering] where key.bytes.count > StoreLimits.maxKeyBytes {
                throw StorageError(.limitExceeded, "key of \(key.bytes.count) bytes exceeds the limit of \(StoreLimits.maxKeyBytes) bytes")
            }
            if case .put(let row) = mutation.operation, row.byteCount > StoreLimits.maxRowBytes {
                throw StorageError(.limitExceeded, "row of \(row.byteCount) bytes exceeds the limit of \(StoreLimits.maxRowBytes) bytes")
            }
            if case .update(let columns) = mutation.operation {
                let size = columns.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
                if size > StoreLimits.maxRowBytes {
                    throw StorageError(.limitExceeded, "update of \(size) bytes exceeds the row limit of \(StoreLimits.maxRowBytes) bytes")
                }
            }
            for name in mutation.columnNames where name.utf8.count > Int(UInt16.max) {
                throw StorageError(.invalidArgument, "column name longer than \(UInt16.max) bytes")
            }
        }
        for condition in conditions where condition.clustering.bytes.count > StoreLimits.maxKeyBytes {
            throw StorageError(.limitExceeded, "condition key exceeds the limit of \(StoreLimits.maxKeyBytes) bytes")
        }
    }
}

extension Mutation {
    var columnNames: [String] {
        switch operation {
        case .put(let row): return Array(row.columns.keys)
        case .update(let columns): return Array(columns.keys)
        case .delete, .deleteRange: return []
        }
    }
}
