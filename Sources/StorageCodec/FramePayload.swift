import StorageIO

/// Builds frames: collects records, then encodes header + (compressed) payload + padding.
///
/// Reuses its buffers across frames, so the log's writer allocates nothing per batch once warm.
public struct FrameBuilder: Sendable {
    /// Length-prefixed records, the raw payload.
    public private(set) var raw: [UInt8] = []
    public private(set) var recordCount = 0
    private var scratch: [UInt8] = []

    public init() {}

    public var isEmpty: Bool { recordCount == 0 }

    public mutating func reset() {
        raw.removeAll(keepingCapacity: true)
        recordCount = 0
    }

    public mutating func add(_ record: UnsafeRawBufferPointer) {
        raw.appendLE(UInt32(record.count))
        raw.append(contentsOf: record)
        recordCount += 1
    }

    public mutating func add(_ record: [UInt8]) {
        record.withUnsafeBytes { add($0) }
    }

    /// Appends the encoded frame to `output`. Compresses with LZ4 when `compress` is set and the
    /// payload shrinks; otherwise stores it raw.
    @discardableResult
    public mutating func encode(
        kind: FrameHeader.Kind = .records, firstLSN: UInt64, compress: Bool, into output: inout [UInt8]
    ) -> FrameHeader {
        precondition(kind == .seal || recordCount > 0, "a record frame needs records")
        precondition(raw.count <= Int(UInt32.max))
        var codec = FrameHeader.Codec.none
        var storedCount = raw.count
        if compress && raw.count >= FrameHeader.Format.minCompressBytes {
            // Capacity one byte below the input: LZ4 fails when the result would not be smaller.
            let capacity = raw.count - 1
            if scratch.count < capacity { scratch = [UInt8](repeating: 0, count: capacity) }
            let n = raw.withUnsafeBytes { src in
                scratch.withUnsafeMutableBytes { dst in
                    LZ4.compress(src, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<capacity]))
                }
            }
            if let n {
                codec = .lz4
                storedCount = n
            }
        }
        let start = output.count
        let frameLength = FrameHeader.frameLength(storedLength: storedCount)
        output.append(contentsOf: repeatElement(0, count: frameLength))
        return output.withUnsafeMutableBytes { out in
            let payload = UnsafeMutableRawBufferPointer(
                rebasing: out[(start + FrameHeader.Format.size)..<(start + FrameHeader.Format.size + storedCount)])
            if codec == .lz4 {
                scratch.withUnsafeBytes { payload.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<storedCount])) }
            } else if storedCount > 0 {
                raw.withUnsafeBytes { payload.copyMemory(from: $0) }
            }
            let header = FrameHeader(
                kind: kind, codec: codec, firstLSN: firstLSN, recordCount: UInt32(recordCount),
                storedLength: UInt32(storedCount), rawLength: UInt32(raw.count),
                payloadChecksum: Checksum.xxh3(UnsafeRawBufferPointer(payload)))
            header.encode(into: UnsafeMutableRawBufferPointer(rebasing: out[start..<(start + FrameHeader.Format.size)]))
            return header
        }
    }
}

/// Reads the records of a frame's payload.
public enum FramePayload {
    /// Verifies the stored payload's checksum and returns the raw (decompressed) payload.
    /// Errors name `path` and `offset` (the frame's offset in its file).
    public static func rawPayload(
        header: FrameHeader, stored: UnsafeRawBufferPointer, path: String, offset: Int64
    ) throws -> [UInt8] {
        precondition(stored.count == Int(header.storedLength))
        let computed = Checksum.xxh3(stored)
        guard computed == header.payloadChecksum else {
            throw StorageError(
                .corruption,
                "frame payload checksum mismatch at LSN \(header.firstLSN) (stored \(hex(header.payloadChecksum)), computed \(hex(computed)))",
                path: path, offset: offset)
        }
        switch header.codec {
        case .none:
            return Array(stored)
        case .lz4:
            var raw = [UInt8](repeating: 0, count: Int(header.rawLength))
            let ok = raw.withUnsafeMutableBytes { LZ4.decompress(stored, into: $0) }
            guard ok else {
                throw StorageError(
                    .corruption, "frame payload at LSN \(header.firstLSN) does not decompress to \(header.rawLength) bytes",
                    path: path, offset: offset)
            }
            return raw
        }
    }

    /// Calls `body(index, record)` for each record of a raw payload, checking the lengths add up.
    public static func forEachRecord(
        in raw: UnsafeRawBufferPointer, count: Int, path: String, offset: Int64,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var position = 0
        for index in 0..<count {
            guard position + FrameHeader.Format.recordLengthBytes <= raw.count else {
                throw StorageError(.corruption, "frame payload ends inside record \(index)'s length", path: path, offset: offset)
            }
            let length = Int(raw.loadLE(UInt32.self, at: position))
            position += FrameHeader.Format.recordLengthBytes
            guard length <= raw.count - position else {
                throw StorageError(
                    .corruption, "record \(index) of \(length) bytes overruns the frame payload", path: path, offset: offset)
            }
            try body(index, UnsafeRawBufferPointer(rebasing: raw[position..<(position + length)]))
            position += length
        }
        guard position == raw.count else {
            throw StorageError(
                .corruption, "frame payload has \(raw.count - position) bytes after its last record", path: path, offset: offset)
        }
    }
}
