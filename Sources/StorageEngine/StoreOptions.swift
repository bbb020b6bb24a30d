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
    /// Memory held by the in-memory index until sorted index files exist (see docs/architecture.md).
    public static let defaultMaxIndexBytes = 1 << 30
}

public struct StoreOptions: Sendable {
    public var log: LogOptions
    /// Writes fail with `.limitExceeded` once the in-memory index holds this many bytes.
    public var maxIndexBytes: Int

    public init(log: LogOptions = LogOptions(), maxIndexBytes: Int = StoreLimits.defaultMaxIndexBytes) {
        self.log = log
        self.maxIndexBytes = maxIndexBytes
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
