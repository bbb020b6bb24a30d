import StorageEngine
import StorageCodec

/// Shards and executions: the `executions` table, one partition per shard.
extension StorePersistence {
    static func encodeShardData(_ data: [UInt8]) -> [UInt8] { [RowCodec.version] + data }

    static func decodeShard(_ shardID: Int32, _ row: Row) throws -> ShardInfo {
        guard let range = int64(littleEndian: row[Schema.rangeID]) else { throw PersistenceError.storage("shard \(shardID) row has no range_id") }
        let data = try column(row, Schema.shardData, "shard")
        guard data.first == RowCodec.version else { throw PersistenceError.storage("shard \(shardID) row has an unknown encoding version") }
        return ShardInfo(shardID: shardID, rangeID: range, data: Array(data.dropFirst()))
    }

    static func shardRow(_ info: ShardInfo) -> Row {
        Row([Schema.rangeID: littleEndian(info.rangeID), Schema.shardData: encodeShardData(info.data)])
    }

    public func getOrCreateShard(_ shardID: Int32) async throws -> ShardInfo {
        let partition = Schema.shardPartition(shardID)
        if let existing = try read(Schema.executions, partition, Schema.shardRow) { return try Self.decodeShard(shardID, existing) }
        let info = ShardInfo(shardID: shardID, rangeID: 1)
        let current = try await cas(
            Schema.executions, partition, [.rowAbsent(Schema.shardRow)],
            [.put(Schema.executions, partition, Schema.shardRow, Self.shardRow(info))])
        guard let current else { return info }
        guard let existing = row(current, Schema.shardRow) else { throw PersistenceError.storage("shard \(shardID) create lost a race to nothing") }
        return try Self.decodeShard(shardID, existing)
    }

    public func updateShard(_ info: ShardInfo, previousRangeID: Int64) async throws {
        let partition = Schema.shardPartition(info.shardID)
        let current = try await cas(
            Schema.executions, partition, [fence(previousRangeID)], [.put(Schema.executions, partition, Schema.shardRow, Self.shardRow(info))])
        if let current { throw ownershipLost(info.shardID, current) }
    }

    func fence(_ rangeID: Int64) -> Condition {
        .columnEquals(Schema.shardRow, column: Schema.rangeID, value: littleEndian(rangeID))
    }

    func ownershipLost(_ shardID: Int32, _ rows: [ConditionedRow]) -> PersistenceError {
        .shardOwnershipLost(shardID: shardID, currentRangeID: int64(littleEndian: row(rows, Schema.shardRow)?[Schema.rangeID]))
    }

    func fenceHeld(_ rows: [ConditionedRow], _ rangeID: Int64) -> Bool {
        row(rows, Schema.shardRow)?[Schema.rangeID] == littleEndian(rangeID)
    }

    static func runRow(_ s: WorkflowSnapshot) -> Row {
        Row([Schema.dbRecordVersion: littleEndian(s.dbRecordVersion), Schema.execution: RowCodec.encode(s)])
    }

    static func currentRow(_ s: WorkflowSnapshot) -> Row {
        Row([Schema.runID: Array(s.key.runID.utf8), Schema.execution: RowCodec.encode(CurrentExecution(runID: s.key.runID, executionState: s.executionState))])
    }

    static func taskMutations(_ shard: Key, _ tasks: [HistoryTask]) -> [Mutation] {
        tasks.map { .put(Schema.executions, shard, Schema.taskRow($0.category, $0.taskKey), Row([Schema.task: RowCodec.encode($0)])) }
    }

    /// The current-run row's encoded execution column and its decoding (nil when absent).
    func readCurrent(_ partition: Key, _ namespaceID: String, _ workflowID: String, known: KnownRows = KnownRows()) throws -> ([UInt8]?, CurrentExecution?) {
        guard let bytes = try readColumn(Schema.executions, partition, Schema.currentRow(namespaceID, workflowID), Schema.execution, known: known) else {
            return (nil, nil)
        }
        return (bytes, try RowCodec.decodeCurrent(bytes))
    }

    public func createWorkflowExecution(
        shardID: Int32, rangeID: Int64, mode: CreateWorkflowMode, snapshot: WorkflowSnapshot, tasks: [HistoryTask],
        attached: AttachedWrites
    ) async throws {
        try checkTaskCount(tasks.count)
        try checkAttached(attached)
        let alsoWriting = try attachedMutations(attached)
        let partition = Schema.shardPartition(shardID)
        let key = snapshot.key
        let runKey = Schema.runRow(key)
        let currentKey = Schema.currentRow(key.namespaceID, key.workflowID)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            var conditions: [Condition] = [fence(rangeID), .rowAbsent(runKey)]
            var readCurrentBytes: [UInt8]? = nil
            switch mode {
            case .brandNew:
                conditions.append(.rowAbsent(currentKey))
            case .updateCurrent:
                // The current run must be closed: read it (fence first, as the reference checks),
                // then condition the batch on it being unchanged.
                let shard = try read(Schema.executions, partition, Schema.shardRow, known: known)
                if shard?[Schema.rangeID] != littleEndian(rangeID) {
                    throw PersistenceError.shardOwnershipLost(shardID: shardID, currentRangeID: int64(littleEndian: shard?[Schema.rangeID]))
                }
                let (bytes, current) = try readCurrent(partition, key.namespaceID, key.workflowID, known: known)
                try checkCreateMode(mode, key: key, current: current)
                readCurrentBytes = bytes
                conditions.append(.columnEquals(currentKey, column: Schema.execution, value: bytes))
            case .bypassCurrent:
                break
            }
            var mutations: [Mutation] = [.put(Schema.executions, partition, runKey, Self.runRow(snapshot))]
            if mode != .bypassCurrent { mutations.append(.put(Schema.executions, partition, currentKey, Self.currentRow(snapshot))) }
            mutations += Self.taskMutations(partition, tasks)
            guard let rows = try await cas(Schema.executions, partition, conditions, mutations, alsoWriting: alsoWriting) else { return }
            known.learn(rows)

            guard fenceHeld(rows, rangeID) else { throw ownershipLost(shardID, rows) }
            let currentRow = row(rows, currentKey)
            switch mode {
            case .brandNew:
                if let bytes = currentRow?[Schema.execution] {
                    throw PersistenceError.currentWorkflowConditionFailed(
                        namespaceID: key.namespaceID, workflowID: key.workflowID, current: try RowCodec.decodeCurrent(bytes))
                }
            case .updateCurrent:
                if currentRow?[Schema.execution] != readCurrentBytes { continue }  // changed since the read: check again
            case .bypassCurrent:
                break
            }
            if let existing = row(rows, runKey) {
                throw PersistenceError.workflowConditionFailed(key: key, currentDBRecordVersion: int64(littleEndian: existing[Schema.dbRecordVersion]))
            }
        }
        throw PersistenceError.storage("create of \(key) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func updateWorkflowExecution(
        shardID: Int32, rangeID: Int64, mutation: WorkflowMutation, newRun: (snapshot: WorkflowSnapshot, tasks: [HistoryTask])?,
        attached: AttachedWrites
    ) async throws {
        let key = mutation.snapshot.key
        try checkNewRun(newRun?.snapshot.key, of: key)
        try checkTaskCount(mutation.newTasks.count + (newRun?.tasks.count ?? 0))
        try checkAttached(attached)
        let alsoWriting = try attachedMutations(attached)
        let partition = Schema.shardPartition(shardID)
        let runKey = Schema.runRow(key)
        let currentKey = Schema.currentRow(key.namespaceID, key.workflowID)
        let expectedVersion = littleEndian(mutation.snapshot.dbRecordVersion - 1)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            let (currentBytes, current) = try readCurrent(partition, key.namespaceID, key.workflowID, known: known)
            let isCurrent = current?.runID == key.runID
            if newRun != nil, !isCurrent {
                // Report the fence and the version first, as the reference does.
                let shard = try read(Schema.executions, partition, Schema.shardRow, known: known)
                if shard?[Schema.rangeID] != littleEndian(rangeID) {
                    throw PersistenceError.shardOwnershipLost(shardID: shardID, currentRangeID: int64(littleEndian: shard?[Schema.rangeID]))
                }
                let run = try read(Schema.executions, partition, runKey, known: known)
                if run?[Schema.dbRecordVersion] != expectedVersion {
                    throw PersistenceError.workflowConditionFailed(key: key, currentDBRecordVersion: int64(littleEndian: run?[Schema.dbRecordVersion]))
                }
                throw PersistenceError.currentWorkflowConditionFailed(namespaceID: key.namespaceID, workflowID: key.workflowID, current: current)
            }
            var conditions: [Condition] = [
                fence(rangeID),
                .columnEquals(runKey, column: Schema.dbRecordVersion, value: expectedVersion),
                .columnEquals(currentKey, column: Schema.execution, value: currentBytes),
            ]
            var mutations: [Mutation] = [.put(Schema.executions, partition, runKey, Self.runRow(mutation.snapshot))]
            if isCurrent, newRun == nil { mutations.append(.put(Schema.executions, partition, currentKey, Self.currentRow(mutation.snapshot))) }
            for (category, taskKey) in mutation.completedTasks {
                mutations.append(.delete(Schema.executions, partition, Schema.taskRow(category, taskKey)))
            }
            mutations += Self.taskMutations(partition, mutation.newTasks)
            if let newRun {
                conditions.append(.rowAbsent(Schema.runRow(newRun.snapshot.key)))
                mutations.append(.put(Schema.executions, partition, Schema.runRow(newRun.snapshot.key), Self.runRow(newRun.snapshot)))
                mutations.append(.put(Schema.executions, partition, currentKey, Self.currentRow(newRun.snapshot)))
                mutations += Self.taskMutations(partition, newRun.tasks)
            }
            guard let rows = try await cas(Schema.executions, partition, conditions, mutations, alsoWriting: alsoWriting) else { return }
            known.learn(rows)

            guard fenceHeld(rows, rangeID) else { throw ownershipLost(shardID, rows) }
            let run = row(rows, runKey)
            if run?[Schema.dbRecordVersion] != expectedVersion {
                throw PersistenceError.workflowConditionFailed(key: key, currentDBRecordVersion: int64(littleEndian: run?[Schema.dbRecordVersion]))
            }
            if row(rows, currentKey)?[Schema.execution] != currentBytes { continue }  // the current row moved: look again
            if let newRun, let existing = row(rows, Schema.runRow(newRun.snapshot.key)) {
                throw PersistenceError.workflowConditionFailed(
                    key: newRun.snapshot.key, currentDBRecordVersion: int64(littleEndian: existing[Schema.dbRecordVersion]))
            }
        }
        throw PersistenceError.storage("update of \(key) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func setWorkflowExecution(shardID: Int32, rangeID: Int64, snapshot: WorkflowSnapshot, tasks: [HistoryTask], makeCurrent: Bool) async throws {
        try checkTaskCount(tasks.count)
        let partition = Schema.shardPartition(shardID)
        var mutations: [Mutation] = [.put(Schema.executions, partition, Schema.runRow(snapshot.key), Self.runRow(snapshot))]
        if makeCurrent {
            mutations.append(.put(Schema.executions, partition, Schema.currentRow(snapshot.key.namespaceID, snapshot.key.workflowID), Self.currentRow(snapshot)))
        }
        mutations += Self.taskMutations(partition, tasks)
        if let rows = try await cas(Schema.executions, partition, [fence(rangeID)], mutations) { throw ownershipLost(shardID, rows) }
    }

    public func getWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws -> WorkflowSnapshot {
        guard let row = try read(Schema.executions, Schema.shardPartition(shardID), Schema.runRow(key)) else {
            throw PersistenceError.notFound("workflow execution \(key) in shard \(shardID)")
        }
        return try RowCodec.decodeSnapshot(try column(row, Schema.execution, "execution"))
    }

    public func getCurrentExecution(shardID: Int32, namespaceID: String, workflowID: String) async throws -> CurrentExecution {
        guard let current = try readCurrent(Schema.shardPartition(shardID), namespaceID, workflowID).1 else {
            throw PersistenceError.notFound("current execution of \(namespaceID)/\(workflowID) in shard \(shardID)")
        }
        return current
    }

    public func deleteWorkflowExecution(shardID: Int32, key: WorkflowKey) async throws {
        let partition = Schema.shardPartition(shardID)
        let currentKey = Schema.currentRow(key.namespaceID, key.workflowID)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            let (bytes, current) = try readCurrent(partition, key.namespaceID, key.workflowID, known: known)
            var mutations: [Mutation] = [.delete(Schema.executions, partition, Schema.runRow(key))]
            if current?.runID == key.runID { mutations.append(.delete(Schema.executions, partition, currentKey)) }
            guard let rows = try await cas(Schema.executions, partition, [.columnEquals(currentKey, column: Schema.execution, value: bytes)], mutations) else {
                return
            }
            known.learn(rows)
        }
        throw PersistenceError.storage("delete of \(key) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func listWorkflowExecutions(shardID: Int32, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<WorkflowSnapshot> {
        try scanItems(
            Schema.executions, Schema.shardPartition(shardID), from: Key(.int(Schema.runKind)), to: Key(.int(Schema.currentKind)),
            pageSize: pageSize, pageToken: pageToken
        ) { _, row in try RowCodec.decodeSnapshot(try column(row, Schema.execution, "execution")) }
    }

    public func getHistoryTasks(
        shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> Page<HistoryTask> {
        try checkPageSize(pageSize)
        guard min < max else { return Page(items: [], nextPageToken: nil) }
        return try scanItems(
            Schema.executions, Schema.shardPartition(shardID), from: Schema.taskRow(category, min), to: Schema.taskRow(category, max),
            pageSize: pageSize, pageToken: pageToken
        ) { _, row in try RowCodec.decodeHistoryTask(try column(row, Schema.task, "history task")) }
    }

    public func completeHistoryTask(shardID: Int32, category: HistoryTaskCategory, key: HistoryTaskKey) async throws {
        try await write([.delete(Schema.executions, Schema.shardPartition(shardID), Schema.taskRow(category, key))])
    }

    public func rangeCompleteHistoryTasks(shardID: Int32, category: HistoryTaskCategory, min: HistoryTaskKey, max: HistoryTaskKey) async throws {
        guard min < max else { return }
        try await write([.deleteRange(Schema.executions, Schema.shardPartition(shardID), from: Schema.taskRow(category, min), to: Schema.taskRow(category, max))])
    }
}
