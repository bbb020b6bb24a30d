import StorageEngine
import StorageCodec

/// Namespaces (one partition: a row per name holding the record, a row per id naming it) and
/// cluster metadata (a partition per cluster name).
extension StorePersistence {
    static func namespaceRow(_ record: NamespaceRecord) -> Row {
        Row([Schema.notificationVersion: littleEndian(record.notificationVersion), Schema.namespace: RowCodec.encode(record)])
    }

    func readNamespace(name: String, known: KnownRows = KnownRows()) throws -> NamespaceRecord? {
        guard let row = try read(Schema.namespaces, Schema.namespacePartition, Schema.namespaceByName(name), known: known) else { return nil }
        return try RowCodec.decodeNamespace(try column(row, Schema.namespace, "namespace"))
    }

    func namespaceName(id: String, known: KnownRows = KnownRows()) throws -> [UInt8]? {
        try readColumn(Schema.namespaces, Schema.namespacePartition, Schema.namespaceByID(id), Schema.name, known: known)
    }

    public func createNamespace(_ record: NamespaceRecord) async throws {
        let p = Schema.namespacePartition
        let nameRow = Schema.namespaceByName(record.name)
        let idRow = Schema.namespaceByID(record.id)
        guard let rows = try await cas(
            Schema.namespaces, p, [.rowAbsent(nameRow), .rowAbsent(idRow)],
            [.put(Schema.namespaces, p, nameRow, Self.namespaceRow(record)), .put(Schema.namespaces, p, idRow, Row([Schema.name: Array(record.name.utf8)]))])
        else { return }
        if row(rows, nameRow) != nil { throw PersistenceError.alreadyExists("namespace name \(record.name)") }
        throw PersistenceError.alreadyExists("namespace id \(record.id)")
    }

    public func getNamespace(id: String) async throws -> NamespaceRecord {
        guard let name = try namespaceName(id: id), let text = String(validating: name, as: UTF8.self), let record = try readNamespace(name: text) else {
            throw PersistenceError.notFound("namespace id \(id)")
        }
        return record
    }

    public func getNamespace(name: String) async throws -> NamespaceRecord {
        guard let record = try readNamespace(name: name) else { throw PersistenceError.notFound("namespace name \(name)") }
        return record
    }

    public func listNamespaces(pageSize: Int, pageToken: [UInt8]?) async throws -> Page<NamespaceRecord> {
        try scanItems(
            Schema.namespaces, Schema.namespacePartition, from: Key(.int(0)), to: Key(.int(1)), pageSize: pageSize, pageToken: pageToken
        ) { _, row in try RowCodec.decodeNamespace(try column(row, Schema.namespace, "namespace")) }
    }

    public func updateNamespace(_ record: NamespaceRecord) async throws {
        let p = Schema.namespacePartition
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            guard let name = try namespaceName(id: record.id, known: known), let text = String(validating: name, as: UTF8.self),
                let stored = try readNamespace(name: text, known: known)
            else { throw PersistenceError.notFound("namespace id \(record.id)") }
            try checkNamespaceUpdate(record, stored: stored)
            let nameRow = Schema.namespaceByName(record.name)
            let conditions: [Condition] = [
                .columnEquals(Schema.namespaceByID(record.id), column: Schema.name, value: name),
                .columnEquals(nameRow, column: Schema.notificationVersion, value: littleEndian(stored.notificationVersion)),
            ]
            guard let rows = try await cas(Schema.namespaces, p, conditions, [.put(Schema.namespaces, p, nameRow, Self.namespaceRow(record))]) else { return }
            known.learn(rows)
        }
        throw PersistenceError.storage("update of namespace \(record.id) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func deleteNamespace(id: String) async throws {
        let p = Schema.namespacePartition
        var known = KnownRows()
        for _ in 0..<PersistenceLimits.maxConditionalRetries {
            guard let name = try namespaceName(id: id, known: known), let text = String(validating: name, as: UTF8.self) else { return }
            let idRow = Schema.namespaceByID(id)
            guard let rows = try await cas(
                Schema.namespaces, p, [.columnEquals(idRow, column: Schema.name, value: name)],
                [.delete(Schema.namespaces, p, idRow), .delete(Schema.namespaces, p, Schema.namespaceByName(text))])
            else { return }
            known.learn(rows)
        }
        throw PersistenceError.storage("delete of namespace \(id) did not settle after \(PersistenceLimits.maxConditionalRetries) attempts")
    }

    public func getClusterMetadata(clusterName: String) async throws -> ClusterMetadataRecord? {
        guard let row = try read(Schema.clusterMetadata, Key(.string(clusterName)), .empty) else { return nil }
        return try RowCodec.decodeClusterMetadata(try column(row, Schema.record, "cluster metadata"))
    }

    public func saveClusterMetadata(_ record: ClusterMetadataRecord) async throws {
        guard record.version >= 1 else { throw PersistenceError.invalidArgument("cluster metadata version must be >= 1") }
        let p = Key(.string(record.clusterName))
        let condition: Condition = record.version == 1
            ? .rowAbsent(.empty) : .columnEquals(.empty, column: Schema.version, value: littleEndian(record.version - 1))
        let newRow = Row([Schema.version: littleEndian(record.version), Schema.record: RowCodec.encode(record)])
        if let rows = try await cas(Schema.clusterMetadata, p, [condition], [.put(Schema.clusterMetadata, p, .empty, newRow)]) {
            try checkClusterMetadataSave(record, storedVersion: int64(littleEndian: row(rows, .empty)?[Schema.version]))
            throw PersistenceError.conditionFailed("cluster metadata \(record.clusterName) changed concurrently")
        }
    }
}
