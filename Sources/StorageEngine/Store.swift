public import StorageIO
public import StorageLog
import StorageIndex
import Synchronization

/// Tables of rows in partitions, ordered by clustering key, with Cassandra's lightweight
/// transactions, over the log.
///
/// - Every batch is one log record, durable before the call returns; a batch is atomic.
/// - `compareAndSet` evaluates its conditions against every batch accepted before it (durable or
///   still in the log's queue), so batches on one partition are linearizable yet pipelined: many
///   of them share one group commit.
/// - Reads see every acknowledged write (and nothing that is not durable).
///
/// This first version keeps the index in memory (rebuilt from the log on open); sorted index
/// files, a manifest with a checkpoint, compaction and log cleaning come next.
public final class Store: @unchecked Sendable {
    public let log: Log
    public let options: StoreOptions
    let state = Mutex(State())

    struct PartitionID: Hashable {
        let table: String
        let key: [UInt8]
    }

    /// The latest accepted (not yet durable) value of a row, and how many in-flight batches wrote it.
    struct Pending {
        var row: Row?
        var references: Int
    }

    struct State {
        /// Durable rows, visible to readers.
        var partitions: [PartitionID: SortedKeyMap<Row>] = [:]
        /// Effects of batches queued in the log but not yet durable, seen only by later batches.
        var overlay: [PartitionID: [[UInt8]: Pending]] = [:]
        var indexBytes = 0
        var rows = 0
        /// Set when a batch failed to become durable: later batches may have been validated
        /// against it, so the store accepts no more writes until reopened.
        var failure: StorageError?
    }

    /// Opens (creating if needed) the store in `directory`, replaying the log.
    public static func open(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(), options: StoreOptions = StoreOptions()
    ) throws -> Store {
        var logOptions = options.log
        logOptions.stopOnWriteError = true
        let log = try Log.open(directory: directory, fileSystem: fileSystem, options: logOptions)
        let store = Store(log: log, options: options)
        do {
            try store.replay()
        } catch {
            let log = store.log
            Task { await log.close() }
            throw error
        }
        return store
    }

    private init(log: Log, options: StoreOptions) {
        self.log = log
        self.options = options
    }

    private func replay() throws {
        try state.withLock { state in
            try log.scan(from: 1) { lsn, bytes in
                let record = try BatchRecord.decode(Array(bytes), lsn: lsn)
                Store.apply(record.writes, to: &state)
                return true
            }
        }
    }

    /// Waits for in-flight batches, then closes the log.
    public func close() async {
        await log.close()
    }

    /// Rows and bytes held by the in-memory index.
    public var indexStatistics: (rows: Int, bytes: Int, partitions: Int) {
        state.withLock { ($0.rows, $0.indexBytes, $0.partitions.count) }
    }

    /// Applies durable writes to the visible index. Call with the state locked.
    static func apply(_ writes: [BatchRecord.Write], to state: inout State) {
        for write in writes {
            let id = PartitionID(table: write.table, key: write.partition)
            var rows = state.partitions[id] ?? SortedKeyMap()
            if let old = rows[write.clustering] {
                state.indexBytes -= old.byteCount + write.clustering.count
                state.rows -= 1
            }
            if let row = write.row {
                rows.set(write.clustering, row)
                state.indexBytes += row.byteCount + write.clustering.count
                state.rows += 1
            } else {
                rows.remove(write.clustering)
            }
            state.partitions[id] = rows.isEmpty ? nil : rows
        }
    }
}
