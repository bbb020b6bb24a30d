public import StorageIO
public import StorageLog
import StorageCodec
import StorageIndex
import Synchronization

/// Tables of rows in partitions, ordered by clustering key, with Cassandra's lightweight
/// transactions, over the log and an LSM index.
///
/// - Every batch is one log record, durable before the call returns; a batch is atomic.
/// - `compareAndSet` evaluates its conditions against every batch accepted before it (durable or
///   still in the log's queue), so batches on one partition are linearizable yet pipelined: many
///   of them share one group commit.
/// - Reads see every acknowledged write, and nothing that is not durable.
/// - The index: a memtable, frozen memtables being flushed, and immutable index files named by a
///   manifest whose checkpoint says where log replay starts (docs/format/index.md, manifest.md).
public final class Store: @unchecked Sendable {
    public let directory: String
    public let log: Log
    public let options: StoreOptions
    /// Decompressed index blocks, shared by every index file of this store.
    let blockCache: BlockCache
    let fileSystem: any FileSystem
    /// The index (memtables, files, manifest) and the store's failure. Lock order: `overlay`,
    /// then `state`; never the reverse.
    let state: LockedState<State>
    /// Effects of batches accepted but not yet applied to the memtable (queued in the log, or
    /// durable and being applied), seen only by later writers. Its lock orders the writers.
    let overlay = LockedState<[RowAddress: Pending]>([:])
    /// Batches made durable in the log's current group, applied together at the end of the group.
    /// Touched only by the log's completions (in `complete` and `applyDurableGroup`), which run one at a
    /// time, in log order, on the completion thread or inline on the writer thread.
    var durableGroup: [DurableBatch] = []

    struct DurableBatch {
        var recordBytes: Int
        var entries: [Memtable.Write]
        var lsn: UInt64
        var continuation: CheckedContinuation<CASOutcome, any Error>
    }

    /// Wakes the background thread (flushes and compactions).
    let background = ConditionLock()
    var backgroundWork = BackgroundSignal()

    typealias PartitionID = Memtable.Partition

    /// The latest accepted (not yet durable) value of a row, encoded (nil: deleted), and how many
    /// in-flight batches wrote it.
    struct Pending {
        var encodedRow: [UInt8]?
        var references: Int
    }

    /// A row's place: its partition and clustering key, hashed in one pass over their bytes.
    struct RowAddress: Hashable {
        let partition: PartitionID
        let clustering: [UInt8]

        init(_ partition: PartitionID, _ clustering: [UInt8]) {
            self.partition = partition
            self.clustering = clustering
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(partition)
            clustering.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    struct State {
        var memtable = Memtable()
        /// Bytes of the log records applied to `memtable` (what replay would read for it).
        var memtableLogBytes = 0
        /// Full memtables waiting to be flushed, oldest first; readable meanwhile.
        var frozen: [Memtable] = []
        /// Index files, oldest first (newer ones shadow older ones).
        var files: [IndexFile] = []
        var manifest: Manifest
        /// Set when a batch failed to become durable: later batches may have been validated
        /// against it, so the store accepts no more writes until reopened.
        var failure: StorageError?
        /// Writers waiting for a flush to make room (bounded frozen memtables).
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var flushes = 0
        var compactions = 0
        var cleanedSegments = 0
        var relocatedRows = 0
        /// Cleaning found the oldest segment mostly live at this checkpoint; it waits for the next.
        var cleaningPausedAtCheckpoint: UInt64?

        /// Moves the memtable to the frozen list (to be flushed) and starts an empty one.
        mutating func freezeMemtable() {
            frozen.append(memtable)
            memtable = Memtable()
            memtableLogBytes = 0
        }
    }

    /// `state.frozen.count`, readable without the lock (writers check it on every batch); updated
    /// under the lock whenever `frozen` changes.
    let frozenCount = FrozenCount()

    final class FrozenCount: Sendable {
        private let value = Atomic<Int>(0)
        func load() -> Int { value.load(ordering: .acquiring) }
        func store(_ new: Int) { value.store(new, ordering: .releasing) }
    }

    struct BackgroundSignal {
        var stop = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        /// Callers of `compact()` waiting for a full compaction.
        var compactionWaiters: [CheckedContinuation<Void, any Error>] = []
        /// Callers of `cleanLog()` waiting for every sealed segment to be cleaned.
        var cleaningWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    /// Opens (creating if needed) the store in `directory`: recovers the log, loads the manifest
    /// and index files, removes files a crashed flush or compaction left behind, and replays the
    /// log after the checkpoint.
    public static func open(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(), options: StoreOptions = StoreOptions()
    ) throws -> Store {
        var logOptions = options.log
        logOptions.stopOnWriteError = true
        let log = try Log.open(directory: directory, fileSystem: fileSystem, options: logOptions)
        do {
            let manifest = try Manifest.load(from: directory, fileSystem: fileSystem) ?? Manifest()
            let live = Set(manifest.files.map(\.id))
            for name in try fileSystem.contentsOfDirectory(directory) {
                if let id = IndexFileFormat.id(fromFileName: name), !live.contains(id) {
                    try fileSystem.removeFile(joinPath(directory, name))
                } else if name == Manifest.Format.temporaryFileName {
                    try fileSystem.removeFile(joinPath(directory, name))
                }
            }
            let blockCache = BlockCache(capacityBytes: options.blockCacheBytes)
            let files = try manifest.files.map {
                try IndexFile(fileSystem: fileSystem, path: joinPath(directory, IndexFileFormat.fileName(id: $0.id)), id: $0.id, cache: blockCache)
            }
            if manifest.checkpointLSN > log.lastDurableLSN {
                throw StorageError(
                    .corruption,
                    "the index checkpoint (LSN \(manifest.checkpointLSN)) is ahead of the log (last LSN \(log.lastDurableLSN)); run `annals store rebuild-index \(directory)`",
                    path: joinPath(directory, Manifest.Format.fileName))
            }
            let store = Store(
                directory: directory, fileSystem: fileSystem, log: log, options: options, manifest: manifest, files: files, blockCache: blockCache)
            try store.replay(after: manifest.checkpointLSN)
            log.onGroupDurable { [store] in store.applyDurableGroup() }
            startThread { [store] in store.backgroundLoop() }
            return store
        } catch {
            log.closeBlocking()
            throw error
        }
    }

    private init(
        directory: String, fileSystem: any FileSystem, log: Log, options: StoreOptions, manifest: Manifest, files: [IndexFile],
        blockCache: BlockCache
    ) {
        self.blockCache = blockCache
        self.directory = directory
        self.fileSystem = fileSystem
        self.log = log
        self.options = options
        self.state = LockedState(State(files: files, manifest: manifest))
    }

    private func replay(after checkpoint: UInt64) throws {
        try state.withLock { state in
            try log.scan(from: checkpoint + 1) { lsn, bytes in
                let record = try BatchRecord.decode(Array(bytes), lsn: lsn)
                Store.apply(Store.entries(record.writes), lsn: lsn, recordBytes: bytes.count, to: &state, options: options)
                return true
            }
            frozenCount.store(state.frozen.count)
        }
        wakeBackground()
    }

    /// Waits for in-flight batches, stops background work, closes the log.
    public func close() async {
        await log.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            background.lock()
            if backgroundWork.stopped {
                background.unlock()
                continuation.resume()
                return
            }
            backgroundWork.stop = true
            backgroundWork.stopWaiters.append(continuation)
            background.broadcast()
            background.unlock()
        }
    }

    /// Memtable writes for a batch's writes (rows as encoded once for the log record); the LSN
    /// is the record's, given when they are applied.
    static func entries(_ writes: [BatchRecord.Write]) -> [Memtable.Write] {
        writes.map { write in
            Memtable.Write(
                partition: PartitionID(table: write.table, key: write.partition), clustering: write.clustering,
                value: write.encodedRow.map { .inline($0) } ?? .tombstone)
        }
    }

    /// Applies durable writes to the memtable (in LSN order), freezing it when full or when the
    /// log records behind it reach `maxLogBytesPerMemtable`.
    static func apply(
        _ entries: [Memtable.Write], lsn: UInt64, recordBytes: Int, to state: inout State, options: StoreOptions
    ) {
        state.memtable.apply(entries, lsn: lsn)
        state.memtableLogBytes += recordBytes
        if state.memtable.bytes >= options.memtableBytes || state.memtableLogBytes >= options.maxLogBytesPerMemtable {
            state.freezeMemtable()
        }
    }

    /// The store's shape, for `annals store stats` and tests.
    public struct Statistics: Sendable {
        public var memtableBytes: Int
        public var memtableEntries: Int
        public var frozenMemtables: Int
        public var indexFiles: Int
        public var indexFileBytes: Int64
        public var indexFileEntries: UInt64
        public var bloomBytes: Int
        public var checkpointLSN: UInt64
        public var flushes: Int
        public var compactions: Int
        /// Log segments cleaned (live rows relocated, segment deleted) and rows relocated.
        public var cleanedSegments: Int
        public var relocatedRows: Int
    }

    public var statistics: Statistics {
        state.withLock { state in
            Statistics(
                memtableBytes: state.memtable.bytes, memtableEntries: state.memtable.entries,
                frozenMemtables: state.frozen.count, indexFiles: state.files.count,
                indexFileBytes: state.files.reduce(0) { $0 + $1.bytes }, indexFileEntries: state.files.reduce(0) { $0 + $1.entryCount },
                bloomBytes: state.files.reduce(0) { $0 + $1.bloomBytes }, checkpointLSN: state.manifest.checkpointLSN,
                flushes: state.flushes, compactions: state.compactions,
                cleanedSegments: state.cleanedSegments, relocatedRows: state.relocatedRows)
        }
    }
}
