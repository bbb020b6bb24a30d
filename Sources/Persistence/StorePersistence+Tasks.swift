import StorageEngine
import StorageCodec

/// Matching's task queues: `tasks` (partition = namespace, queue name, type: the queue row with
/// its `range_id` and the backlog tasks) and `task_queues` (one partition listing every queue).
extension StorePersistence {
    static func queueRow(_ record: TaskQueueRecord) -> Row {
        Row([Schema.rangeID: littleEndian(record.rangeID), Schema.queue: RowCodec.encode(record)])
    }

    func readQueue(_ key: TaskQueueKey, known: KnownRows = KnownRows()) throws -> TaskQueueRecord? {
        guard let row = try read(Schema.tasks, Schema.queuePartition(key), Schema.queueRow, known: known) else { return nil }
        return try RowCodec.decodeTaskQueue(try column(row, Schema.queue, "task queue"))
    }

    func queueConditionFailed(_ key: TaskQueueKey, expected: Int64, _ rows: [ConditionedRow]) -> PersistenceError {
        taskQueueConditionFailed(key, expected: expected, current: int64(littleEndian: row(rows, Schema.queueRow)?[Schema.rangeID]))
    }

    public func leaseTaskQueue(_ key: TaskQueueKey) async throws -> TaskQueueRecord {
        // The listing row first: a listing skips index rows whose queue row is absent.
        try await write([.put(Schema.taskQueues, Schema.taskQueueIndexPartition, Schema.taskQueueIndexRow(key), Row([Schema.present: [1]]))])
        let partition = Schema.queuePartition(key)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            let stored = try readQueue(key, known: known)
            var record = stored ?? TaskQueueRecord(key: key, rangeID: 0)
            record.rangeID += 1
            let condition: Condition = stored.map { .columnEquals(Schema.queueRow, column: Schema.rangeID, value: littleEndian($0.rangeID)) }
                ?? .rowAbsent(Schema.queueRow)
            guard let rows = try await cas(Schema.tasks, partition, [condition], [.put(Schema.tasks, partition, Schema.queueRow, Self.queueRow(record))]) else {
                return record
            }
            known.learn(rows)
        }
        throw PersistenceError.storage("lease of task queue \(key.name) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func updateTaskQueue(_ record: TaskQueueRecord) async throws {
        let partition = Schema.queuePartition(record.key)
        if let rows = try await cas(
            Schema.tasks, partition, [.columnEquals(Schema.queueRow, column: Schema.rangeID, value: littleEndian(record.rangeID))],
            [.put(Schema.tasks, partition, Schema.queueRow, Self.queueRow(record))])
        {
            throw queueConditionFailed(record.key, expected: record.rangeID, rows)
        }
    }

    public func listTaskQueues(namespaceID: String?, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<TaskQueueRecord> {
        try scanItems(
            Schema.taskQueues, Schema.taskQueueIndexPartition, from: namespaceID.map { Key(.string($0)) } ?? Key(.int(Int64.min)),
            to: Key(.uuid([UInt8](repeating: 0xFF, count: 16))), pageSize: pageSize, pageToken: pageToken
        ) { clustering, _ in
            let components = clustering.components
            guard components.count == 3, case .string(let ns) = components[0],
                case .string(let name) = components[1], case .int(let type) = components[2],
                let queueType = Int32(exactly: type).flatMap(TaskQueueType.init(rawValue:))
            else { throw PersistenceError.storage("task_queues row with a malformed key \(clustering)") }
            if let namespaceID, ns != namespaceID { return nil }
            return try readQueue(TaskQueueKey(namespaceID: ns, name: name, type: queueType))
        }
    }

    public func deleteTaskQueue(_ key: TaskQueueKey, rangeID: Int64) async throws {
        let partition = Schema.queuePartition(key)
        if let rows = try await cas(
            Schema.tasks, partition, [.columnEquals(Schema.queueRow, column: Schema.rangeID, value: littleEndian(rangeID))],
            [.delete(Schema.tasks, partition, Schema.queueRow), .deleteRange(Schema.tasks, partition, from: Schema.queueTasksStart, to: Schema.queueTasksEnd)])
        {
            throw queueConditionFailed(key, expected: rangeID, rows)
        }
        try await write([.delete(Schema.taskQueues, Schema.taskQueueIndexPartition, Schema.taskQueueIndexRow(key))])
    }

    public func createTasks(_ key: TaskQueueKey, rangeID: Int64, tasks: [TaskQueueTask]) async throws {
        try checkTaskCount(tasks.count)
        let partition = Schema.queuePartition(key)
        if tasks.isEmpty {
            // Nothing to write (the store takes no empty batch): only the lease is checked.
            let current = try readQueue(key)?.rangeID
            if current != rangeID { throw taskQueueConditionFailed(key, expected: rangeID, current: current) }
            return
        }
        let mutations = tasks.map { Mutation.put(Schema.tasks, partition, Schema.queueTaskRow($0.taskID), Row([Schema.task: RowCodec.encode($0)])) }
        if let rows = try await cas(
            Schema.tasks, partition, [.columnEquals(Schema.queueRow, column: Schema.rangeID, value: littleEndian(rangeID))], mutations)
        {
            throw queueConditionFailed(key, expected: rangeID, rows)
        }
    }

    /// The clustering bound just above task id `id`.
    static func taskBound(above id: Int64) -> Key {
        id == Int64.max ? Schema.queueTasksEnd : Schema.queueTaskRow(id + 1)
    }

    public func getTasks(_ key: TaskQueueKey, minTaskID: Int64, maxTaskID: Int64, limit: Int) async throws -> [TaskQueueTask] {
        try checkPageSize(limit, max: PersistenceLimits.maxTaskQueueReadTasks)
        guard minTaskID < maxTaskID else { return [] }
        let page = try scan(
            Schema.tasks, Schema.queuePartition(key), from: Self.taskBound(above: minTaskID), to: Self.taskBound(above: maxTaskID),
            limit: limit, token: nil)
        return try page.rows.map { try RowCodec.decodeTaskQueueTask(try column($0.row, Schema.task, "task queue task")) }
    }

    public func completeTasks(_ key: TaskQueueKey, upToTaskID maxTaskID: Int64) async throws {
        try await write([
            .deleteRange(Schema.tasks, Schema.queuePartition(key), from: Schema.queueTasksStart, to: Self.taskBound(above: maxTaskID))
        ])
    }
}
