public import StorageCodec
public import StorageIO
import Glibc

/// Byte layout of index files (sorted runs). Layout: docs/format/index.md.
public enum IndexFileFormat {
    // Part of the on-disk format. Never change; add a new version instead.
    public static let magic: [UInt8] = Array("ANNALIDX".utf8)
    public static let version: UInt16 = 1
    public static let footerSize = 64
    public static let blockHeaderSize = 17
    /// Data blocks are closed once their raw contents reach this size. 4 KiB (RocksDB's default):
    /// a point read that misses the block cache reads, verifies and decompresses one small block;
    /// with 16 KiB blocks the p99 point read at 1M workflows was 2.2× that at 10k, with 4 KiB 1.3×.
    public static let targetBlockBytes = 4 << 10
    public static let fileExtension = ".sst"

    static let kindInline: UInt8 = 1
    static let kindTombstone: UInt8 = 2
    static let kindPointer: UInt8 = 3

    /// `00000000000000000007.sst` for file id 7.
    public static func fileName(id: UInt64) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + fileExtension
    }

    public static func id(fromFileName name: String) -> UInt64? {
        guard name.hasSuffix(fileExtension) else { return nil }
        let stem = name.dropLast(fileExtension.count)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(stem)
    }

    static func encodeEntry(_ key: [UInt8], _ entry: IndexEntry, into out: inout [UInt8]) {
        out.appendLE(UInt32(key.count))
        out.append(contentsOf: key)
        out.appendLE(entry.lsn)
        switch entry.value {
        case .inline(let bytes):
            out.append(kindInline)
            out.appendLE(UInt32(bytes.count))
            out.append(contentsOf: bytes)
        case .tombstone:
            out.append(kindTombstone)
        case .pointer(let p):
            out.append(kindPointer)
            out.appendLE(p.segmentFirstLSN)
            out.appendLE(UInt64(bitPattern: p.frameOffset))
            out.appendLE(p.writeIndex)
            out.appendLE(p.rowBytes)
        }
    }

    static func decodeEntries(_ raw: [UInt8], path: String, blockOffset: Int64) throws -> [(key: [UInt8], entry: IndexEntry)] {
        var entries: [(key: [UInt8], entry: IndexEntry)] = []
        try raw.withUnsafeBytes { bytes in
            try walkEntries(bytes, path: path, blockOffset: blockOffset) { entry in
                entries.append((Array(bytes[entry.key]), entry.decode(bytes)))
                return true
            }
        }
        return entries
    }

    /// The entry for exactly `key` in a raw data block, found by walking the entries in place
    /// (keys ascend, so the walk stops at the first larger key); only that entry is decoded. The
    /// entries walked over get the same bounds checks as `decodeEntries`.
    static func findEntry(_ raw: [UInt8], key: [UInt8], path: String, blockOffset: Int64) throws -> IndexEntry? {
        try raw.withUnsafeBytes { bytes in
            try key.withUnsafeBytes { wanted in
                var found: IndexEntry?
                try walkEntries(bytes, path: path, blockOffset: blockOffset) { entry in
                    let order = compareBytes(UnsafeRawBufferPointer(rebasing: bytes[entry.key]), wanted)
                    if order == 0 { found = entry.decode(bytes) }
                    return order < 0
                }
                return found
            }
        }
    }

    /// One entry of a raw data block, located but not decoded.
    private struct RawEntry {
        var key: Range<Int>
        var lsn: UInt64
        var kind: UInt8
        /// The payload after the kind byte (for inline rows, the row bytes after their length).
        var payload: Range<Int>

        func decode(_ bytes: UnsafeRawBufferPointer) -> IndexEntry {
            switch kind {
            case kindInline:
                return IndexEntry(lsn: lsn, value: .inline(Array(bytes[payload])))
            case kindTombstone:
                return IndexEntry(lsn: lsn, value: .tombstone)
            default:
                let p = payload.lowerBound
                return IndexEntry(lsn: lsn, value: .pointer(ValuePointer(
                    lsn: lsn, segmentFirstLSN: bytes.loadLE(UInt64.self, at: p),
                    frameOffset: Int64(bitPattern: bytes.loadLE(UInt64.self, at: p + 8)),
                    writeIndex: bytes.loadLE(UInt32.self, at: p + 16), rowBytes: bytes.loadLE(UInt32.self, at: p + 20))))
            }
        }
    }

    /// Locates the block's entries in order, checking every length against the block, until
    /// `body` returns false.
    private static func walkEntries(
        _ bytes: UnsafeRawBufferPointer, path: String, blockOffset: Int64, _ body: (RawEntry) throws -> Bool
    ) throws {
        var p = 0
        func need(_ n: Int) throws {
            guard n >= 0, p + n <= bytes.count else {
                throw StorageError(.corruption, "index block entry overruns the block (at \(p) of \(bytes.count))", path: path, offset: blockOffset)
            }
        }
        while p < bytes.count {
            try need(4)
            let keyLength = Int(bytes.loadLE(UInt32.self, at: p))
            p += 4
            try need(keyLength + 9)
            let key = p..<(p + keyLength)
            p += keyLength
            let lsn = bytes.loadLE(UInt64.self, at: p)
            let kind = bytes[p + 8]
            p += 9
            let payload: Range<Int>
            switch kind {
            case kindInline:
                try need(4)
                let n = Int(bytes.loadLE(UInt32.self, at: p))
                p += 4
                try need(n)
                payload = p..<(p + n)
            case kindTombstone:
                payload = p..<p
            case kindPointer:
                try need(24)
                payload = p..<(p + 24)
            default:
                throw StorageError(.corruption, "index entry has unknown kind \(kind)", path: path, offset: blockOffset)
            }
            p = payload.upperBound
            if try !body(RawEntry(key: key, lsn: lsn, kind: kind, payload: payload)) { return }
        }
    }

    /// Frames a block: header (codec, raw length, stored length, XXH3 of stored) + stored bytes.
    static func frameBlock(_ raw: [UInt8], compress: Bool, into out: inout [UInt8]) {
        var stored = raw
        var codec: UInt8 = 0
        if compress && raw.count >= 64 {
            let compressed = LZ4.compress(raw)
            if !compressed.isEmpty && compressed.count < raw.count {
                stored = compressed
                codec = 1
            }
        }
        out.append(codec)
        out.appendLE(UInt32(raw.count))
        out.appendLE(UInt32(stored.count))
        out.appendLE(Checksum.xxh3(stored))
        out.append(contentsOf: stored)
    }

    /// Verifies and unpacks a framed block read from `path` at `offset`.
    static func unframeBlock(_ framed: [UInt8], path: String, offset: Int64) throws -> [UInt8] {
        guard framed.count >= blockHeaderSize else {
            throw StorageError(.corruption, "index block is shorter than its header", path: path, offset: offset)
        }
        return try framed.withUnsafeBytes { bytes in
            let codec = bytes[0]
            let rawLength = Int(bytes.loadLE(UInt32.self, at: 1))
            let storedLength = Int(bytes.loadLE(UInt32.self, at: 5))
            let sum = bytes.loadLE(UInt64.self, at: 9)
            guard storedLength == framed.count - blockHeaderSize else {
                throw StorageError(.corruption, "index block length \(storedLength) does not match its extent", path: path, offset: offset)
            }
            let stored = UnsafeRawBufferPointer(rebasing: bytes[blockHeaderSize...])
            let computed = Checksum.xxh3(stored)
            guard computed == sum else {
                throw StorageError(.corruption, "index block checksum mismatch (stored \(hex(sum)), computed \(hex(computed)))", path: path, offset: offset)
            }
            switch codec {
            case 0:
                guard rawLength == storedLength else {
                    throw StorageError(.corruption, "raw index block with mismatched lengths", path: path, offset: offset)
                }
                return Array(stored)
            case 1:
                var raw = [UInt8](repeating: 0, count: rawLength)
                let ok = raw.withUnsafeMutableBytes { LZ4.decompress(stored, into: $0) }
                guard ok else { throw StorageError(.corruption, "index block does not decompress", path: path, offset: offset) }
                return raw
            default:
                throw StorageError(.corruption, "index block has unknown codec \(codec)", path: path, offset: offset)
            }
        }
    }
}

/// The fixed-size trailer of an index file.
struct IndexFooter: Equatable {
    var bloomLength: UInt32
    var indexOffset: UInt64
    var indexLength: UInt32
    var bloomOffset: UInt64
    var entryCount: UInt64
    var maxLSN: UInt64

    func encoded() -> [UInt8] {
        var out = IndexFileFormat.magic
        out.appendLE(IndexFileFormat.version)
        out.appendLE(UInt16(0))
        out.appendLE(bloomLength)
        out.appendLE(indexOffset)
        out.appendLE(indexLength)
        out.appendLE(UInt32(0))
        out.appendLE(bloomOffset)
        out.appendLE(entryCount)
        out.appendLE(maxLSN)
        out.appendLE(Checksum.xxh3(out))
        return out
    }

    static func decode(_ bytes: [UInt8], path: String, fileSize: Int64) throws -> IndexFooter {
        let at = fileSize - Int64(IndexFileFormat.footerSize)
        guard bytes.count == IndexFileFormat.footerSize else {
            throw StorageError(.corruption, "index file is too short for its footer", path: path, offset: max(0, at))
        }
        guard Array(bytes[0..<8]) == IndexFileFormat.magic else {
            throw StorageError(.corruption, "index file footer has a bad magic number", path: path, offset: at)
        }
        return try bytes.withUnsafeBytes { b in
            let sum = b.loadLE(UInt64.self, at: 56)
            let computed = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: b[0..<56]))
            guard sum == computed else {
                throw StorageError(.corruption, "index file footer checksum mismatch", path: path, offset: at + 56)
            }
            let version = b.loadLE(UInt16.self, at: 8)
            guard version == IndexFileFormat.version else {
                throw StorageError(.corruption, "index file version \(version) is not supported", path: path, offset: at + 8)
            }
            let footer = IndexFooter(
                bloomLength: b.loadLE(UInt32.self, at: 12), indexOffset: b.loadLE(UInt64.self, at: 16),
                indexLength: b.loadLE(UInt32.self, at: 24), bloomOffset: b.loadLE(UInt64.self, at: 32),
                entryCount: b.loadLE(UInt64.self, at: 40), maxLSN: b.loadLE(UInt64.self, at: 48))
            guard footer.indexOffset + UInt64(footer.indexLength) <= UInt64(at),
                footer.bloomOffset + UInt64(footer.bloomLength) <= UInt64(at)
            else {
                throw StorageError(.corruption, "index file footer points past the end of the file", path: path, offset: at)
            }
            return footer
        }
    }
}

/// Compares byte strings as unsigned bytes, a proper prefix first (the order of index keys).
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let r = memcmp(a.baseAddress!, b.baseAddress!, n)
        if r != 0 { return r < 0 ? -1 : 1 }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}
