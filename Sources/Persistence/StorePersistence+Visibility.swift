import StorageEngine
import StorageCodec

/// Visibility: partition = namespace id; record rows clustered newest start time first, then
/// run id, then workflow id; a lookup row per run holds its start time, so a record is found
/// (and replaced, and deleted) by its run.
extension StorePersistence {
    public func upsertVisibilityRecord(_ record: VisibilityRecord) async throws {
        let p = Schema.visibilityPartition(record.key.namespaceID)
        let lookup = Schema.visibilityLookupRow(record.key)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            let old = try readColumn(Schema.visibility, p, lookup, Schema.startTime, known: known)
            let mutations = Self.visibilityMutations(record, storedStartTime: old)
            guard let rows = try await cas(Schema.visibility, p, [.columnEquals(lookup, column: Schema.startTime, value: old)], mutations) else { return }
            known.learn(rows)
        }
        throw PersistenceError.storage("upsert of visibility record \(record.key) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    /// The writes that make `record` the run's visibility record, given the start time its lookup
    /// row holds now (the record row is keyed by start time, so a changed one moves).
    static func visibilityMutations(_ record: VisibilityRecord, storedStartTime old: [UInt8]?) -> [Mutation] {
        let p = Schema.visibilityPartition(record.key.namespaceID)
        var mutations: [Mutation] = []
        if let start = int64(littleEndian: old), start != record.startTime {
            mutations.append(.delete(Schema.visibility, p, Schema.visibilityRow(record.key, startTime: start)))
        }
        mutations.append(.put(Schema.visibility, p, Schema.visibilityRow(record.key, startTime: record.startTime), Row([Schema.record: RowCodec.encode(record)])))
        mutations.append(.put(Schema.visibility, p, Schema.visibilityLookupRow(record.key), Row([Schema.startTime: littleEndian(record.startTime)])))
        return mutations
    }

    /// The writes of records attached to a workflow change. The lookup rows are read without a
    /// condition: the history service serializes a run's changes, so no other writer moves them
    /// meanwhile (the standalone upsert keeps its condition).
    func attachedVisibilityMutations(_ records: [VisibilityRecord]) throws -> [Mutation] {
        try records.flatMap { record in
            let old = try readColumn(Schema.visibility, Schema.visibilityPartition(record.key.namespaceID), Schema.visibilityLookupRow(record.key), Schema.startTime)
            return Self.visibilityMutations(record, storedStartTime: old)
        }
    }

    func attachedMutations(_ attached: AttachedWrites) throws -> [Mutation] {
        attached.historyNodes.map { Self.nodeMutation($0.branch, $0.node) } + (try attachedVisibilityMutations(attached.visibility))
    }

    public func deleteVisibilityRecord(_ key: WorkflowKey) async throws {
        let p = Schema.visibilityPartition(key.namespaceID)
        let lookup = Schema.visibilityLookupRow(key)
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            guard let old = try readColumn(Schema.visibility, p, lookup, Schema.startTime, known: known), let start = int64(littleEndian: old) else { return }
            guard let rows = try await cas(
                Schema.visibility, p, [.columnEquals(lookup, column: Schema.startTime, value: old)],
                [.delete(Schema.visibility, p, Schema.visibilityRow(key, startTime: start)), .delete(Schema.visibility, p, lookup)])
            else { return }
            known.learn(rows)
        }
        throw PersistenceError.storage("delete of visibility record \(key) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func listVisibilityRecords(namespaceID: String, query: VisibilityQuery, pageSize: Int, pageToken: [UInt8]?) async throws -> Page<VisibilityRecord> {
        try scanItems(
            Schema.visibility, Schema.visibilityPartition(namespaceID), from: Key(.int(0)), to: Key(.int(1)), pageSize: pageSize,
            pageToken: pageToken
        ) { _, row in
            let record = try RowCodec.decodeVisibility(try column(row, Schema.record, "visibility"))
            return query.matches(record) ? record : nil
        }
    }

    public func countVisibilityRecords(namespaceID: String, query: VisibilityQuery) async throws -> Int64 {
        var count: Int64 = 0
        var token: [UInt8]? = nil
        repeat {
            let page = try scan(Schema.visibility, Schema.visibilityPartition(namespaceID), from: Key(.int(0)), to: Key(.int(1)), limit: 1000, token: token)
            for (_, row) in page.rows where query.matches(try RowCodec.decodeVisibility(try column(row, Schema.record, "visibility"))) {
                count += 1
            }
            token = page.nextPageToken
        } while token != nil
        return count
    }

    public func getVisibilityRecord(_ key: WorkflowKey) async throws -> VisibilityRecord {
        let p = Schema.visibilityPartition(key.namespaceID)
        guard let start = int64(littleEndian: try readColumn(Schema.visibility, p, Schema.visibilityLookupRow(key), Schema.startTime)),
            let row = try read(Schema.visibility, p, Schema.visibilityRow(key, startTime: start))
        else { throw PersistenceError.notFound("visibility record \(key)") }
        return try RowCodec.decodeVisibility(try column(row, Schema.record, "visibility"))
    }
}
