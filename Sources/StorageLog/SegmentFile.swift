import StorageCodec
import StorageIO

/// Statistics of one segment, as seen by recovery and kept current by the writer.
public struct SegmentStats: Sendable, Equatable {
    public var firstLSN: UInt64
    /// One past the last record's LSN (== firstLSN when the segment holds no records).
    public var nextLSN: UInt64
    /// Bytes of valid data: header plus frames. Appends continue here.
    public var bytes: Int64
    public var frames: Int
    public var records: Int
    /// Record bytes as appended (with their 4-byte length prefixes), before compression.
    public var rawPayloadBytes: Int64
    /// Payload bytes as stored (after compression).
    public var storedPayloadBytes: Int64

    public init(firstLSN: UInt64) {
        self.firstLSN = firstLSN
        self.nextLSN = firstLSN
        self.bytes = Int64(SegmentHeader.Format.size)
        self.frames = 0
        self.records = 0
        self.rawPayloadBytes = 0
        self.storedPayloadBytes = 0
    }

    public var lastLSN: UInt64? { nextLSN > firstLSN ? nextLSN - 1 : nil }
}

/// One segment file known to an open log: its handle, statistics and sparse frame index.
/// Mutable state is guarded by the log's lock.
final class SegmentFile: @unchecked Sendable {
    let path: String
    let handle: any FileHandle
    var stats: SegmentStats
    /// The file's length as far as the log knows: bytes in [`stats.bytes`, `zeroedEnd`) are zeros
    /// (preallocated, or a tail recovery found zero). Touched by the writer thread only, once open.
    var zeroedEnd: Int64
    /// (first LSN of a frame, its offset), one entry per `sparseIndexIntervalBytes` of file.
    private(set) var sparseIndex: [(lsn: UInt64, offset: Int64)] = []

    init(path: String, handle: any FileHandle, stats: SegmentStats, zeroedEnd: Int64? = nil) {
        self.path = path
        self.handle = handle
        self.stats = stats
        self.zeroedEnd = max(zeroedEnd ?? stats.bytes, stats.bytes)
    }

    var firstLSN: UInt64 { stats.firstLSN }

    /// Adds a sparse index entry if `offset` is far enough past the last one.
    func noteIndexEntry(lsn: UInt64, offset: Int64) {
        if let last = sparseIndex.last, offset - last.offset < LogLimits.sparseIndexIntervalBytes { return }
        sparseIndex.append((lsn, offset))
    }

    /// Records a frame that now lies at `offset`.
    func noteFrame(_ header: FrameHeader, at offset: Int64) {
        noteIndexEntry(lsn: header.firstLSN, offset: offset)
        stats.frames += 1
        stats.records += Int(header.recordCount)
        stats.nextLSN = header.nextLSN
        stats.bytes = offset + Int64(header.frameLength)
        stats.rawPayloadBytes += Int64(header.rawLength)
        stats.storedPayloadBytes += Int64(header.storedLength)
    }

    /// The offset of a frame at or before the frame holding `lsn` (start a forward walk there).
    func walkStart(for lsn: UInt64) -> Int64 {
        var low = 0
        var high = sparseIndex.count
        while low < high {
            let mid = (low + high) / 2
            if sparseIndex[mid].lsn <= lsn { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? Int64(SegmentHeader.Format.size) : sparseIndex[low - 1].offset
    }
}

/// Sequential reads through a window of `LogLimits.readAheadBytes` (grown for larger frames).
struct BufferedReader {
    let handle: any FileHandle
    let end: Int64
    let windowBytes: Int
    private var buffer: [UInt8] = []
    private var bufferStart: Int64 = 0

    init(handle: any FileHandle, end: Int64, windowBytes: Int = LogLimits.readAheadBytes) {
        self.handle = handle
        self.end = end
        self.windowBytes = windowBytes
    }

    /// Calls `body` with the bytes [offset, offset + count), or fewer if the file ends first.
    mutating func withBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let available = Int(max(0, min(Int64(count), end - offset)))
        let bufferEnd = bufferStart + Int64(buffer.count)
        if offset < bufferStart || offset + Int64(available) > bufferEnd {
            let want = max(available, windowBytes)
            let length = Int(min(Int64(want), end - offset))
            if buffer.count != length { buffer = [UInt8](repeating: 0, count: length) }
            let got = try buffer.withUnsafeMutableBytes { try handle.readFully(into: $0, at: offset) }
            if got < length { buffer.removeLast(length - got) }
            bufferStart = offset
        }
        let start = Int(offset - bufferStart)
        let stop = min(start + available, buffer.count)
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<stop])) }
    }
}
