import StorageCodec
import StorageIO

/// Reads: by LSN, by position, and ordered scans. Readers never block the writer for longer than
/// a lookup under the lock; file reads happen outside it.
extension Log {
    /// Point reads fetch this much around a frame (one `pread` covers a typical frame).
    static let pointReadWindowBytes = 16 << 10

    /// The record with this LSN. Throws `.notFound` if it is not (or not yet durably) in the log.
    public func read(_ lsn: UInt64) throws -> [UInt8] {
        let (segment, start, end) = try locate(lsn)
        var reader = BufferedReader(handle: segment.handle, end: end, windowBytes: Log.pointReadWindowBytes)
        var offset = start
        while offset < end {
            let header = try frameHeader(&reader, at: offset, path: segment.path)
            if lsn < header.nextLSN {
                return try record(lsn, in: header, reader: &reader, at: offset, path: segment.path)
            }
            offset += Int64(header.frameLength)
        }
        throw StorageError(.corruption, "LSN \(lsn) is not in the segment that should hold it", path: segment.path, offset: start)
    }

    /// The record at a position returned by `append` (one read of one frame).
    public func read(at position: LogPosition) throws -> [UInt8] {
        let (segment, end): (SegmentFile, Int64) = try lock.withLock {
            guard position.lsn >= 1, position.lsn <= durableLSN,
                let segment = segments.first(where: { $0.firstLSN == position.segmentFirstLSN })
            else { throw StorageError(.notFound, "\(position) is not in the log") }
            return (segment, segment.stats.bytes)
        }
        var reader = BufferedReader(handle: segment.handle, end: end, windowBytes: Log.pointReadWindowBytes)
        let header = try frameHeader(&reader, at: position.frameOffset, path: segment.path)
        guard position.lsn >= header.firstLSN, position.lsn < header.nextLSN else {
            throw StorageError(.invalidArgument, "\(position) does not point at the frame holding it", path: segment.path, offset: position.frameOffset)
        }
        return try record(position.lsn, in: header, reader: &reader, at: position.frameOffset, path: segment.path)
    }

    /// Visits records in LSN order from `lsn` (or the first present one after it) up to the last
    /// durable record at the time of the call. `body` returns false to stop.
    public func scan(from lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool) throws {
        let (files, limit): ([(SegmentFile, Int64)], UInt64) = lock.withLock {
            (segments.filter { $0.stats.nextLSN > lsn }.map { ($0, $0.stats.bytes) }, durableLSN)
        }
        for (segment, end) in files {
            var reader = BufferedReader(handle: segment.handle, end: end)
            var offset = lock.withLock { segment.walkStart(for: lsn) }
            while offset < end {
                let header = try frameHeader(&reader, at: offset, path: segment.path)
                if header.kind == .records && header.nextLSN > lsn && header.firstLSN <= limit {
                    let raw = try reader.withBytes(at: offset + Int64(FrameHeader.Format.size), count: Int(header.storedLength)) {
                        try FramePayload.rawPayload(header: header, stored: $0, path: segment.path, offset: offset)
                    }
                    var keepGoing = true
                    try raw.withUnsafeBytes { bytes in
                        try FramePayload.forEachRecord(in: bytes, count: Int(header.recordCount), path: segment.path, offset: offset) {
                            index, record in
                            let recordLSN = header.firstLSN + UInt64(index)
                            if keepGoing && recordLSN >= lsn && recordLSN <= limit { keepGoing = try body(recordLSN, record) }
                        }
                    }
                    if !keepGoing { return }
                }
                offset += Int64(header.frameLength)
            }
        }
    }

    /// The segment holding `lsn`, where to start walking frames, and the end of its valid data.
    private func locate(_ lsn: UInt64) throws -> (SegmentFile, Int64, Int64) {
        try lock.withLock {
            guard lsn >= 1, lsn <= durableLSN else {
                throw StorageError(.notFound, "LSN \(lsn) is not in the log (last durable LSN is \(durableLSN))")
            }
            var low = 0
            var high = segments.count
            while low < high {
                let mid = (low + high) / 2
                if segments[mid].firstLSN <= lsn { low = mid + 1 } else { high = mid }
            }
            guard low > 0, lsn < segments[low - 1].stats.nextLSN else {
                if recovery.holes.covers(lsn..<(lsn + 1)) {
                    throw StorageError(.notFound, "LSN \(lsn) was lost (destroyed on disk) and declared in \(LogHoles.Format.fileName) by a repair")
                }
                throw StorageError(.notFound, "LSN \(lsn) was in a deleted segment")
            }
            let segment = segments[low - 1]
            return (segment, segment.walkStart(for: lsn), segment.stats.bytes)
        }
    }

    private func frameHeader(_ reader: inout BufferedReader, at offset: Int64, path: String) throws -> FrameHeader {
        let decoded = try reader.withBytes(at: offset, count: FrameHeader.Format.size) { bytes -> Result<FrameHeader, FrameHeader.DefectError>? in
            bytes.count < FrameHeader.Format.size ? nil : FrameHeader.decode(bytes)
        }
        switch decoded {
        case .none:
            throw StorageError(.corruption, "the file ends inside a frame header", path: path, offset: offset)
        case .failure(let error)?:
            throw StorageError(.corruption, error.defect.explanation, path: path, offset: offset)
        case .success(let header)?:
            return header
        }
    }

    private func record(
        _ lsn: UInt64, in header: FrameHeader, reader: inout BufferedReader, at offset: Int64, path: String
    ) throws -> [UInt8] {
        let payloadOffset = offset + Int64(FrameHeader.Format.size)
        let raw = try reader.withBytes(at: payloadOffset, count: Int(header.storedLength)) { stored in
            guard stored.count == Int(header.storedLength) else {
                throw StorageError(.corruption, "the file ends inside a frame payload", path: path, offset: offset)
            }
            return try FramePayload.rawPayload(header: header, stored: stored, path: path, offset: offset)
        }
        let wanted = Int(lsn - header.firstLSN)
        var result: [UInt8] = []
        try raw.withUnsafeBytes { bytes in
            try FramePayload.forEachRecord(in: bytes, count: Int(header.recordCount), path: path, offset: offset) { index, record in
                if index == wanted { result = Array(record) }
            }
        }
        return result
    }
}
