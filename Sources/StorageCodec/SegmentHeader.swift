import StorageIO

/// The first 32 bytes of every log segment file. Layout: docs/format/log.md.
public struct SegmentHeader: Equatable, Sendable {
    // Part of the on-disk format. Never change; add a new version instead.
    public enum Format {
        public static let magic: [UInt8] = Array("ANNALSEG".utf8)
        public static let version: UInt16 = 1
        public static let size = 32
        /// Bytes 0..<checksummedBytes are covered by the checksum stored at that offset.
        public static let checksummedBytes = 24
        public static let fileExtension = ".log"
        /// Digits of the zero-padded decimal first LSN in a segment's file name.
        public static let nameDigits = 20
    }

    public var version: UInt16
    public var firstLSN: UInt64

    public init(firstLSN: UInt64, version: UInt16 = Format.version) {
        self.version = version
        self.firstLSN = firstLSN
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Format.size)
        bytes.append(contentsOf: Format.magic)
        bytes.appendLE(version)
        bytes.appendLE(UInt16(Format.size))
        bytes.appendLE(UInt32(0))
        bytes.appendLE(firstLSN)
        bytes.appendLE(Checksum.xxh3(bytes))
        return bytes
    }

    /// Decodes and validates a header; `path` only labels errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> SegmentHeader {
        guard bytes.count >= Format.size else {
            throw StorageError(
                .tornTail, "segment header is \(bytes.count) bytes, expected \(Format.size)", path: path, offset: 0)
        }
        return try bytes.withUnsafeBytes { raw in
            guard Array(raw[0..<8]) == Format.magic else {
                throw StorageError(.corruption, "segment header has a bad magic number", path: path, offset: 0)
            }
            let stored = raw.loadLE(UInt64.self, at: Format.checksummedBytes)
            let computed = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[0..<Format.checksummedBytes]))
            guard stored == computed else {
                throw StorageError(
                    .corruption,
                    "segment header checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))",
                    path: path, offset: Int64(Format.checksummedBytes))
            }
            let version = raw.loadLE(UInt16.self, at: 8)
            guard version == Format.version else {
                throw StorageError(
                    .corruption, "segment format version \(version) is not supported (this build reads \(Format.version))",
                    path: path, offset: 8)
            }
            let size = raw.loadLE(UInt16.self, at: 10)
            guard Int(size) == Format.size else {
                throw StorageError(.corruption, "segment header size \(size), expected \(Format.size)", path: path, offset: 10)
            }
            return SegmentHeader(firstLSN: raw.loadLE(UInt64.self, at: 16), version: version)
        }
    }

    /// `00000000000000000001.log` for first LSN 1.
    public static func fileName(firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return String(repeating: "0", count: max(0, Format.nameDigits - digits.count)) + digits + Format.fileExtension
    }

    /// The first LSN named by a segment file name, or nil if the name is not a segment's.
    public static func firstLSN(fromFileName name: String) -> UInt64? {
        guard name.hasSuffix(Format.fileExtension) else { return nil }
        let stem = name.dropLast(Format.fileExtension.count)
        guard stem.count == Format.nameDigits, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(stem)
    }
}

/// `0x0123456789abcdef`
public func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}
