public import StorageLog

/// The store's limits. Requests over them fail with `.limitExceeded` or `.invalidArgument`.
public enum StoreLimits {
    public static let maxTableNameBytes = 255
    public static let maxKeyBytes = 64 << 10
    /// Encoded row size; keeps every batch record well under the log's 16 MiB record limit.
    public static let maxRowBytes = 4 << 20
    public static let maxBatchMutations = 10_000
    /// Encoded batch size (the log record).
    public static let maxBatchBytes = 12 << 20
    /// Rows returned by one scan page.
    public static let maxScanRows = 10_000
    /// A memtable is frozen and flushed to an index file once it holds this many bytes.
    public static let defaultMemtableBytes = 64 << 20
    /// Frozen memtables waiting for their flush; writers wait beyond this.
    public static let maxFrozenMemtables = 2
    /// A compaction merges every index file into one once there are this many.
    public static let defaultCompactionTrigger = 6
    /// Log cleaning runs while the log's segment bytes exceed this multiple of the index's bytes
    /// (index files plus memtables: roughly the live data).
    public static let defaultCleaningRatio = 2.0
    /// Rows relocated per log record during cleaning.
    public static let maxRelocationBatchRows = 512
    /// Decompressed index blocks kept in memory (`BlockCache`), in bytes.
    public static let defaultBlockCacheBytes = 64 << 20
}

public struct StoreOptions: Sendable {
    public var log: LogOptions
    public var memtableBytes: Int
    public var compactionTrigger: Int
    /// Clean the oldest log segment while log bytes > `cleaningRatio` × index bytes; nil disables
    /// cleaning (the log then keeps every record).
    public var cleaningRatio: Double?
    /// The memtable is also frozen and flushed once the log records applied to it reach this many
    /// bytes, so a small, hot working set (which never fills the memtable) still advances the
    /// checkpoint: replay after a crash stays short and cleaning can reclaim the log.
    public var maxLogBytesPerMemtable: Int
    /// Bytes of decompressed index blocks cached for reads (0: none).
    public var blockCacheBytes: Int

    public init(
        log: LogOptions = LogOptions(), memtableBytes: Int = StoreLimits.defaultMemtableBytes,
        compactionTrigger: Int = StoreLimits.defaultCompactionTrigger,
        cleaningRatio: Double? = StoreLimits.defaultCleaningRatio, maxLogBytesPerMemtable: Int? = nil,
        blockCacheBytes: Int = StoreLimits.defaultBlockCacheBytes
    ) {
        self.log = log
        self.memtableBytes = memtableBytes
        self.compactionTrigger = max(2, compactionTrigger)
        self.cleaningRatio = cleaningRatio.map { max(1.1, $0) }
        self.maxLogBytesPerMemtable = maxLogBytesPerMemtable ?? 4 * memtableBytes
        self.blockCacheBytes = max(0, blockCacheBytes)
    }
}

/// One page of a partition scan.
public struct ScanPage: Sendable, Equatable {
    public var rows: [(clustering: Key, row: Row)]
    /// Pass to the next `scan` call to continue after the last row; nil when the range is exhausted.
    public var nextPageToken: [UInt8]?

    public static func == (a: ScanPage, b: ScanPage) -> Bool {
        a.nextPageToken == b.nextPageToken && a.rows.map(\.clustering) == b.rows.map(\.clustering)
            && a.rows.map(\.row) == b.rows.map(\.row)
    }
}
