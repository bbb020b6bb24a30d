public import StorageEngine
import StorageCodec
public import StorageIO

/// The persistence protocols as tables on the store, the way Temporal lays them out on
/// Cassandra (docs/data-model.md): every execution write is one compare-and-set in the shard's
/// partition, fenced by the shard row's `range_id` and conditioned on the run's
/// `db_record_version` (or its absence) and, where it matters, on the current-run row.
///
/// Semantics are `InMemoryPersistence`'s, checked by the conformance suite and the model test.
public final class StorePersistence: Persistence {
    public let store: Store

    /// Persistence on an open store. The store stays the caller's to close.
    public init(store: Store) {
        self.store = store
    }

    /// Opens (creating if needed) a store in `directory` and wraps it.
    public static func open(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(), options: StoreOptions = StoreOptions()
    ) throws -> StorePersistence {
        do {
            return StorePersistence(store: try Store.open(directory: directory, fileSystem: fileSystem, options: options))
        } catch {
            throw mapStorageError(error)
        }
    }

    /// Closes the underlying store.
    public func close() async {
        await store.close()
    }
}

/// Table and column names, and the clustering kinds of the shared partitions. Part of the
/// on-disk format (docs/data-model.md): never change; add new names instead.
enum Schema {
    static let executions = "executions"
    static let historyNode = "history_node"
    static let historyTree = "history_tree"
    static let tasks = "tasks"
    static let taskQueues = "task_queues"
    static let namespaces = "namespaces"
    static let clusterMetadata = "cluster_metadata"
    static let visibility = "visibility"

    // executions: the first clustering component says what a row is.
    static let shardKind: Int64 = 0
    static let runKind: Int64 = 1
    static let currentKind: Int64 = 2
    static let taskKind: Int64 = 3

    static func shardPartition(_ shardID: Int32) -> Key { Key(.int(Int64(shardID))) }
    static let shardRow = Key(.int(shardKind))
    static func runRow(_ k: WorkflowKey) -> Key { Key(.int(runKind), .string(k.namespaceID), .string(k.workflowID), .string(k.runID)) }
    static func currentRow(_ namespaceID: String, _ workflowID: String) -> Key {
        Key(.int(currentKind), .string(namespaceID), .string(workflowID))
    }
    static func taskRow(_ category: HistoryTaskCategory, _ key: HistoryTaskKey) -> Key {
        Key(.int(taskKind), .int(Int64(category.rawValue)), .timestamp(key.fireTime), .int(key.taskID))
    }

    // history_node / history_tree
    static func treePartition(_ treeID: String) -> Key { Key(.string(treeID)) }
    static func nodeRow(_ branchID: String, _ nodeID: Int64, _ txnID: Int64) -> Key {
        Key([.string(branchID), .int(nodeID), .int(txnID)], order: [.ascending, .ascending, .descending])
    }
    static func nodeBound(_ branchID: String, _ nodeID: Int64) -> Key { Key(.string(branchID), .int(nodeID)) }
    static func branchRow(_ branchID: String) -> Key { Key(.string(branchID)) }

    // tasks / task_queues
    static func queuePartition(_ k: TaskQueueKey) -> Key { Key(.string(k.namespaceID), .string(k.name), .int(Int64(k.type.rawValue))) }
    static let queueRow = Key(.int(0))
    static func queueTaskRow(_ taskID: Int64) -> Key { Key(.int(1), .int(taskID)) }
    static let queueTasksStart = Key(.int(1))
    static let queueTasksEnd = Key(.int(2))
    static let taskQueueIndexPartition = Key(.int(0))
    static func taskQueueIndexRow(_ k: TaskQueueKey) -> Key { queuePartition(k) }

    // namespaces / cluster_metadata
    static let namespacePartition = Key(.int(0))
    static func namespaceByName(_ name: String) -> Key { Key(.int(0), .string(name)) }
    static func namespaceByID(_ id: String) -> Key { Key(.int(1), .string(id)) }

    // visibility
    static func visibilityPartition(_ namespaceID: String) -> Key { Key(.string(namespaceID)) }
    static func visibilityRow(_ k: WorkflowKey, startTime: Int64) -> Key {
        Key([.int(0), .timestamp(startTime), .string(k.runID), .string(k.workflowID)], order: [.ascending, .descending, .ascending, .ascending])
    }
    static func visibilityLookupRow(_ k: WorkflowKey) -> Key { Key(.int(1), .string(k.workflowID), .string(k.runID)) }

    // columns
    static let rangeID = "range_id"
    static let shardData = "shard"
    static let dbRecordVersion = "db_record_version"
    static let execution = "execution"
    static let runID = "run_id"
    static let task = "task"
    static let node = "node"
    static let ancestors = "ancestors"
    static let queue = "queue"
    static let present = "present"
    static let namespace = "namespace"
    static let notificationVersion = "notification_version"
    static let name = "name"
    static let version = "version"
    static let record = "record"
    static let startTime = "start_time"
}

func mapStorageError(_ error: any Error) -> any Error {
    guard let error = error as? StorageError else { return error }
    if error.code == .invalidArgument { return PersistenceError.invalidArgument(error.message) }
    return PersistenceError.storage(error.description)
}

/// Store calls with storage errors mapped to `PersistenceError`.
extension StorePersistence {
    func read(_ table: String, _ partition: Key, _ clustering: Key) throws -> Row? {
        do { return try store.read(table: table, partition: partition, clustering: clustering) } catch { throw mapStorageError(error) }
    }

    func write(_ mutations: [Mutation]) async throws {
        do { try await store.write(mutations) } catch { throw mapStorageError(error) }
    }

    func cas(
        _ table: String, _ partition: Key, _ conditions: [Condition], _ mutations: [Mutation], alsoWriting: [Mutation] = []
    ) async throws -> [ConditionedRow]? {
        let outcome: CASOutcome
        do {
            outcome = try await store.compareAndSet(
                table: table, partition: partition, conditions: conditions, mutations: mutations, alsoWriting: alsoWriting)
        } catch {
            throw mapStorageError(error)
        }
        switch outcome {
        case .applied: return nil
        case .notApplied(let current): return current
        }
    }

    func scan(_ table: String, _ partition: Key, from: Key?, to: Key?, limit: Int, token: [UInt8]?) throws -> ScanPage {
        do {
            return try store.scan(table: table, partition: partition, from: from, to: to, limit: limit, pageToken: token)
        } catch {
            throw mapStorageError(error)
        }
    }

    /// A page of decoded rows of `[from, to)`; `decode` returns nil for rows to skip (filters).
    /// The token is `u8 version (1) | u8 kind | bytes`: kind 0 carries the store's scan token
    /// (continue after the last row scanned), kind 1 the clustering key to continue at.
    func scanItems<T: Sendable>(
        _ table: String, _ partition: Key, from: Key, to: Key, pageSize: Int, pageToken: [UInt8]?,
        decode: (Key, Row) throws -> T?
    ) throws -> Page<T> {
        try checkPageSize(pageSize)
        var lower = from
        var storeToken: [UInt8]? = nil
        if let pageToken {
            guard pageToken.count >= 2, pageToken[0] == 1, pageToken[1] <= 1 else {
                throw PersistenceError.invalidArgument("malformed page token")
            }
            let body = Array(pageToken[2...])
            if pageToken[1] == 0 {
                storeToken = body
            } else {
                guard let key = try? Key(encoded: body) else { throw PersistenceError.invalidArgument("malformed page token") }
                lower = key
            }
        }
        var items: [T] = []
        let chunk = min(StoreLimits.maxScanRows, max(pageSize, 64))
        while true {
            let page = try scan(table, partition, from: lower, to: to, limit: chunk, token: storeToken)
            for (clustering, row) in page.rows {
                if items.count == pageSize { return Page(items: items, nextPageToken: [1, 1] + clustering.bytes) }
                if let item = try decode(clustering, row) { items.append(item) }
            }
            guard let next = page.nextPageToken else { return Page(items: items, nextPageToken: nil) }
            if items.count == pageSize { return Page(items: items, nextPageToken: [1, 0] + next) }
            storeToken = next
        }
    }
}

/// Rows a failed compare-and-set returned. They are at least as new as a read (they include
/// batches accepted but not yet durable), so a retry conditions on them instead of reading again.
struct KnownRows {
    var rows: [Key: Row?] = [:]

    mutating func learn(_ current: [ConditionedRow]) {
        for r in current { rows[r.clustering] = .some(r.row) }
    }
}

extension StorePersistence {
    func read(_ table: String, _ partition: Key, _ clustering: Key, known: KnownRows) throws -> Row? {
        if let row = known.rows[clustering] { return row }
        return try read(table, partition, clustering)
    }

    /// One column of a row (nil: no row, or no such column), without decoding the row's others.
    func readColumn(_ table: String, _ partition: Key, _ clustering: Key, _ column: String, known: KnownRows = KnownRows()) throws -> [UInt8]? {
        if let row = known.rows[clustering] { return row?[column] }
        do {
            return try store.readColumn(table: table, partition: partition, clustering: clustering, column: column)
        } catch {
            throw mapStorageError(error)
        }
    }
}

func column(_ row: Row?, _ name: String, _ what: String) throws -> [UInt8] {
    guard let bytes = row?[name] else { throw PersistenceError.storage("\(what) row lacks its \(name) column") }
    return bytes
}

func row(_ rows: [ConditionedRow], _ clustering: Key) -> Row? {
    rows.first { $0.clustering == clustering }?.row
}
