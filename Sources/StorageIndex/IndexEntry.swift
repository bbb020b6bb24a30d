/// Where a row's current value is, as the index records it.
public enum IndexValue: Sendable, Equatable {
    /// The encoded row, stored in the index itself.
    case inline([UInt8])
    /// The row lives in the log, in write `writeIndex` of the record at this position.
    case pointer(ValuePointer)
    /// The row was deleted (hides older versions until compaction drops both).
    case tombstone
}

/// A row's location in the log: the frame holding its batch record and its place in the batch.
public struct ValuePointer: Sendable, Hashable {
    public var lsn: UInt64
    public var segmentFirstLSN: UInt64
    public var frameOffset: Int64
    public var writeIndex: UInt32
    /// The encoded row's size (for live-byte accounting per segment).
    public var rowBytes: UInt32

    public init(lsn: UInt64, segmentFirstLSN: UInt64, frameOffset: Int64, writeIndex: UInt32, rowBytes: UInt32) {
        self.lsn = lsn
        self.segmentFirstLSN = segmentFirstLSN
        self.frameOffset = frameOffset
        self.writeIndex = writeIndex
        self.rowBytes = rowBytes
    }
}

/// A version of a row in the index: the LSN that wrote it and its value.
public struct IndexEntry: Sendable, Equatable {
    public var lsn: UInt64
    public var value: IndexValue

    public init(lsn: UInt64, value: IndexValue) {
        self.lsn = lsn
        self.value = value
    }

    /// Approximate memory and file bytes of this entry beyond its key.
    public var byteCount: Int {
        switch value {
        case .inline(let bytes): return 13 + bytes.count
        case .pointer: return 41
        case .tombstone: return 9
        }
    }
}
