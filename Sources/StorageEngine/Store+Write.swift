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
        // Puts and deletes (all the history service sends) need nothing from the store's state:
        // their row images and the log record are made here, outside the lock every writer takes.
        let prepared = try Store.prepare(mutations).map { writes in (writes, try Store.encodeRecord(writes)) }
        await waitForRoom()
        return try await withCheckedThrowingContinuation { continuation in
            // The overlay's lock orders writers (log order = overlay order) and is held
            // throughout; the index's lock only while conditions and updates read rows.
            let immediate: Result<CASOutcome, any Error>? = overlay.withLock { overlay in
                do {
                    let outcome: CASOutcome? = try state.withLock { state in
                        if let failure = state.failure {
                            throw StorageError(
                                .closed, "the store stopped accepting writes after a failed write (\(failure)); reopen it to recover")
                        }
                        if let (id, conditions) = cas, let current = try Store.failedConditions(id, conditions, overlay: overlay, in: state) {
                            return .notApplied(current: current)
                        }
                        return nil
                    }
                    if let outcome { return .success(outcome) }
                    if let (writes, record) = prepared {
                        try enqueue(writes, record: record, overlay: &overlay, continuation)
                    } else {
                        let writes = try state.withLock { state in try Store.materialize(mutations, overlay: overlay, in: state) }
                        try enqueue(writes, record: try Store.encodeRecord(writes), overlay: &overlay, continuation)
                    }
                    return nil
                } catch {
                    return .failure(error)
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    /// nil when every condition holds for the latest rows; otherwise each conditioned row's
    /// current value (in the order of the conditions, without duplicates). Call with the state locked.
    private static func failedConditions(
        _ id: PartitionID, _ conditions: [Condition], overlay: [RowAddress: Pending], in state: State
    ) throws -> [ConditionedRow]? {
        var holds = true
        for condition in conditions where holds {
            let row = try Store.latestEncodedRow(RowAddress(id, condition.clustering.bytes), overlay: overlay, in: state)
            holds = try condition.holds(forEncoded: row)
        }
        if holds { return nil }
        // Not applied (the uncommon case): read each conditioned row again for the answer.
        var current: [(clustering: Key, encoded: [UInt8]?)] = []
        for condition in conditions where !current.contains(where: { $0.clustering == condition.clustering }) {
            current.append((condition.clustering, try Store.latestEncodedRow(RowAddress(id, condition.clustering.bytes), overlay: overlay, in: state)))
        }
        return try current.map { clustering, encoded in
            ConditionedRow(clustering: clustering, row: try encoded.map { try Row(encoded: $0, what: "the row of a condition") })
        }
    }

    /// The encoded log record for `writes`, or `.limitExceeded` when it is too large.
    private static func encodeRecord(_ writes: [BatchRecord.Write]) throws -> [UInt8] {
        let record = BatchRecord(writes: writes).encoded()
        guard record.count <= StoreLimits.maxBatchBytes else {
            throw StorageError(.limitExceeded, "batch of \(record.count) bytes exceeds the limit of \(StoreLimits.maxBatchBytes) bytes")
        }
        return record
    }

    /// Queues one batch record for `writes` and records it in the overlay. Call with the overlay locked.
    private func enqueue(
        _ writes: [BatchRecord.Write], record: [UInt8], overlay: inout [RowAddress: Pending],
        _ continuation: CheckedContinuation<CASOutcome, any Error>
    ) throws {
        let recordBytes = record.count
        // The memtable writes are made here, on the caller's thread; the completion thread, one
        // for the whole store, only applies them at the record's LSN. The batch's writes (and
        // their rows' dictionaries) are then released here too, not there.
        let entries = Store.entries(writes)
        try log.enqueue(record) { [self] result in complete(entries, recordBytes: recordBytes, result, continuation) }
        for write in writes {
            Store.notePending(write.encodedRow, at: RowAddress(PartitionID(table: write.table, key: write.partition), write.clustering), in: &overlay)
        }
    }

    private static func notePending(_ encodedRow: [UInt8]?, at address: RowAddress, in overlay: inout [RowAddress: Pending]) {
        func note(_ pending: inout Pending) {
            pending.encodedRow = encodedRow
            pending.references += 1
        }
        note(&overlay[address, default: Pending(encodedRow: nil, references: 0)])
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
            let immediate: Result<CASOutcome, any Error>? = overlay.withLock { overlay in
                do {
                    let writes: [BatchRecord.Write] = try state.withLock { state in
                        if let failure = state.failure { throw failure }
                        var writes: [BatchRecord.Write] = []
                        for row in rows where overlay[RowAddress(row.partition, row.clustering)] == nil {
                            guard let entry = try Store.indexedEntry(
                                row.partition, row.clustering, memtable: state.memtable, frozen: state.frozen, files: state.files),
                                entry.lsn == row.lsn
                            else { continue }
                            writes.append(BatchRecord.Write(
                                table: row.partition.table, partition: row.partition.key, clustering: row.clustering, row: row.row))
                        }
                        return writes
                    }
                    relocated = writes.count
                    if writes.isEmpty { return .success(.applied) }
                    let sorted = writes.sorted { Store.compareRows($0, $1) < 0 }
                    try enqueue(sorted, record: try Store.encodeRecord(sorted), overlay: &overlay, continuation)
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

    /// Runs on the log's completion thread once the batch is durable (or failed). Durable batches wait
    /// for the end of their group (`applyDurableGroup`), so the lock is taken once per group.
    private func complete(
        _ entries: [Memtable.Write], recordBytes: Int, _ result: Result<LogPosition, any Error>,
        _ continuation: CheckedContinuation<CASOutcome, any Error>
    ) {
        switch result {
        case .success(let position):
            durableGroup.append(DurableBatch(recordBytes: recordBytes, entries: entries, lsn: position.lsn, continuation: continuation))
        case .failure(let error):
            applyDurableGroup()
            let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
                if state.failure == nil {
                    state.failure = (error as? StorageError) ?? StorageError(.io, "\(error)")
                }
                let waiters = state.roomWaiters
                state.roomWaiters.removeAll()
                return waiters
            }
            overlay.withLock { $0.removeAll() }
            for waiter in waiters { waiter.resume() }
            continuation.resume(throwing: error)
        }
    }

    /// Applies the group's durable batches to the memtable in LSN order, resuming each caller as
    /// soon as its batch is readable, then drops the group from the overlay. The index lock is
    /// taken per batch, so a writer reading a row for its conditions waits for one batch at most.
    func applyDurableGroup() {
        guard !durableGroup.isEmpty else { return }
        let group = durableGroup
        durableGroup.removeAll(keepingCapacity: true)
        var froze = false
        for batch in group {
            let frozeNow: Bool = state.withLock { state in
                let frozenBefore = state.frozen.count
                Store.apply(batch.entries, lsn: batch.lsn, recordBytes: batch.recordBytes, to: &state, options: options)
                if state.frozen.count != frozenBefore { frozenCount.store(state.frozen.count) }
                return state.frozen.count > frozenBefore
            }
            froze = froze || frozeNow
            batch.continuation.resume(returning: .applied)
        }
        // Until here a batch's rows were in the overlay and (now) in the memtable: writers see
        // them either way.
        overlay.withLock { overlay in
            for batch in group {
                for entry in batch.entries {
                    guard let index = overlay.index(forKey: RowAddress(entry.partition, entry.clustering)) else { continue }
                    if overlay.values[index].references > 1 {
                        overlay.values[index].references -= 1
                    } else {
                        overlay.remove(at: index)
                    }
                }
            }
        }
        if froze { wakeBackground() }
    }

    /// The latest accepted value of a row, encoded (nil: absent): in-flight batches first, then the index.
    static func latestEncodedRow(_ address: RowAddress, overlay: [RowAddress: Pending], in state: State) throws -> [UInt8]? {
        if let pending = overlay[address] { return pending.encodedRow }
        return try Store.indexedEntry(
            address.partition, address.clustering, memtable: state.memtable, frozen: state.frozen, files: state.files
        ).flatMap { try Store.encodedRow(of: $0) }
    }

    /// The latest accepted value of a row.
    static func latestRow(_ id: PartitionID, _ clustering: [UInt8], overlay: [RowAddress: Pending], in state: State) throws -> Row? {
        try latestEncodedRow(RowAddress(id, clustering), overlay: overlay, in: state).map { try Row(encoded: $0, subject: .text("a row of table \(id.table)")) }
    }

    /// The whole-row writes of a batch of puts and deletes (nil when it has other mutations), as
    /// `materialize` would make them: one per row (the last mutation of a row wins), in key order.
    static func prepare(_ mutations: [Mutation]) throws -> [BatchRecord.Write]? {
        var writes: [(index: Int, write: BatchRecord.Write)] = []
        writes.reserveCapacity(mutations.count)
        for (index, mutation) in mutations.enumerated() {
            let row: Row?
            switch mutation.operation {
            case .put(let put): row = put
            case .delete: row = nil
            case .update, .deleteRange: return nil
            }
            writes.append((index, BatchRecord.Write(
                table: mutation.table, partition: mutation.partition.bytes, clustering: mutation.clustering.bytes, row: row)))
        }
        writes.sort { a, b in
            let order = Store.compareRows(a.write, b.write)
            return order != 0 ? order < 0 : a.index < b.index
        }
        var unique: [BatchRecord.Write] = []
        unique.reserveCapacity(writes.count)
        for (position, (_, write)) in writes.enumerated() {
            if position + 1 < writes.count && Store.compareRows(write, writes[position + 1].write) == 0 { continue }
            unique.append(write)
        }
        return unique
    }

    /// Orders writes by table, partition key, clustering key (the order of a batch record).
    static func compareRows(_ a: BatchRecord.Write, _ b: BatchRecord.Write) -> Int {
        if a.table != b.table { return a.table < b.table ? -1 : 1 }
        let partition = compareKeys(a.partition, b.partition)
        return partition != 0 ? partition : compareKeys(a.clustering, b.clustering)
    }

    /// Turns mutations into whole-row writes (one per row, in key order) against the latest state.
    static func materialize(_ mutations: [Mutation], overlay: [RowAddress: Pending], in state: State) throws -> [BatchRecord.Write] {
        var effects: [PartitionID: [ByteKey: Row?]] = [:]
        func current(_ id: PartitionID, _ key: [UInt8]) throws -> Row? {
            if let local = effects[id]?[ByteKey(key)] { return local }
            return try latestRow(id, key, overlay: overlay, in: state)
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
                for doomed in try liveKeys(id, from: key, to: end.bytes, overlay: overlay, in: state, effects: effects[id] ?? [:]) {
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
        _ id: PartitionID, from start: [UInt8], to end: [UInt8], overlay: [RowAddress: Pending], in state: State,
        effects: [ByteKey: Row?]
    ) throws -> [[UInt8]] {
        var keys = Set<[UInt8]>()
        var merge = try MergedScan(
            id, from: start, to: end, reverse: false,
            memory: memoryMaps(id, memtable: state.memtable, frozen: state.frozen), files: state.files)
        while let (key, _) = try merge.next() { keys.insert(key) }
        func inRange(_ key: [UInt8]) -> Bool { compareKeys(key, start) >= 0 && compareKeys(key, end) < 0 }
        for (address, pending) in overlay where address.partition == id && inRange(address.clustering) {
            if pending.encodedRow == nil { keys.remove(address.clustering) } else { keys.insert(address.clustering) }
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
            let longestKey = max(mutation.partition.bytes.count, mutation.clustering.bytes.count)
            if longestKey > StoreLimits.maxKeyBytes {
                throw StorageError(.limitExceeded, "key of \(longestKey) bytes exceeds the limit of \(StoreLimits.maxKeyBytes) bytes")
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
            let longName: Bool
            switch mutation.operation {
            case .put(let row): longName = row.columns.keys.contains { $0.utf8.count > Int(UInt16.max) }
            case .update(let columns): longName = columns.keys.contains { $0.utf8.count > Int(UInt16.max) }
            case .delete, .deleteRange: longName = false
            }
            if longName { throw StorageError(.invalidArgument, "column name longer than \(UInt16.max) bytes") }
        }
        for condition in conditions where condition.clustering.bytes.count > StoreLimits.maxKeyBytes {
            throw StorageError(.limitExceeded, "condition key exceeds the limit of \(StoreLimits.maxKeyBytes) bytes")
        }
    }
}
