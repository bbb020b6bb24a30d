/// Whether `append` waits for `fdatasync`.
public enum Durability: Sendable, Equatable {
    /// Every acknowledged record is on stable storage (one `fdatasync` per group of records).
    case fsync
    /// Skips `fdatasync`: acknowledged records can be lost on power failure or kernel crash.
    /// For tests and benchmarks only; spell it out at the call site.
    case noSyncUnsafeForTests
}

/// The log's limits. Every queue and buffer of the log is bounded by one of these.
public enum LogLimits {
    /// The largest record `append` accepts.
    public static let maxRecordBytes = 16 << 20
    /// Default segment roll size.
    public static let defaultSegmentBytes = 64 << 20
    /// Smallest allowed segment roll size (tests use small segments to exercise rolling).
    public static let minSegmentBytes = 4 << 10
    /// Records grouped into one frame (one write, one fdatasync) stop growing past this many raw bytes
    /// (a single larger record still gets a frame of its own).
    public static let defaultMaxBatchBytes = 1 << 20
    /// Appends waiting for the writer; further appenders wait to be admitted.
    public static let defaultMaxPendingRecords = 16_384
    public static let defaultMaxPendingBytes = 64 << 20
    /// The sparse frame index keeps one entry (16 bytes) per this many bytes of segment, so a 64 MiB
    /// segment costs at most 256 KiB of memory.
    public static let sparseIndexIntervalBytes: Int64 = 4 << 10
    /// Durable groups whose completions have not run yet; a writer finding this many waits.
    public static let maxGroupsAwaitingCompletion = 4
    /// Sequential reads (recovery, scans) read this much per call.
    public static let readAheadBytes = 1 << 20
    /// The writer keeps up to this many zero bytes written ahead of the active segment's last
    /// frame (never past the roll size), so a group's `fdatasync` overwrites allocated blocks of a
    /// file whose size does not change and need not write the inode: on ext4 this halves its cost.
    public static let defaultPreallocationBytes = 4 << 20
    /// Zeros are written from a buffer of this many bytes, reused.
    static let zeroBufferBytes = 256 << 10
}

public struct LogOptions: Sendable {
    public var durability: Durability
    /// A segment is closed and a new one started once it reaches this size.
    public var segmentBytes: Int
    /// LZ4-compress frame payloads (stored raw whenever compression does not shrink them).
    public var compression: Bool
    public var maxBatchBytes: Int
    public var maxPendingRecords: Int
    public var maxPendingBytes: Int
    /// Stop the log (like after a failed fsync) when a write fails, instead of undoing it and
    /// carrying on. A caller that validated queued records against earlier ones (the store's
    /// compare-and-set) needs every later record to fail too.
    public var stopOnWriteError: Bool = false
    /// Zero bytes kept written ahead of the last frame (`LogLimits.defaultPreallocationBytes`); 0 turns
    /// preallocation off. A closed log is truncated to its seal frame.
    public var preallocationBytes: Int = LogLimits.defaultPreallocationBytes

    public init(
        durability: Durability = .fsync, segmentBytes: Int = LogLimits.defaultSegmentBytes, compression: Bool = true,
        maxBatchBytes: Int = LogLimits.defaultMaxBatchBytes, maxPendingRecords: Int = LogLimits.defaultMaxPendingRecords,
        maxPendingBytes: Int = LogLimits.defaultMaxPendingBytes
    ) {
        self.durability = durability
        self.segmentBytes = segmentBytes
        self.compression = compression
        self.maxBatchBytes = maxBatchBytes
        self.maxPendingRecords = maxPendingRecords
        self.maxPendingBytes = maxPendingBytes
    }
}

/// Where a record lives: its LSN, the segment holding it and the byte offset of its frame.
/// The index stores these so a point read is one `pread` of one frame.
public struct LogPosition: Hashable, Sendable, CustomStringConvertible {
    public var lsn: UInt64
    public var segmentFirstLSN: UInt64
    public var frameOffset: Int64

    public init(lsn: UInt64, segmentFirstLSN: UInt64, frameOffset: Int64) {
        self.lsn = lsn
        self.segmentFirstLSN = segmentFirstLSN
        self.frameOffset = frameOffset
    }

    public var description: String { "LSN \(lsn) (segment \(segmentFirstLSN), frame at \(frameOffset))" }
}
