import StorageIO

/// The 48-byte header in front of every frame of a log segment. Layout: docs/format/log.md.
///
/// A frame holds `recordCount` records with consecutive LSNs starting at `firstLSN`. Its payload is
/// the records, each a u32 length then its bytes, stored LZ4-compressed (`codec == .lz4`) or raw.
public struct FrameHeader: Equatable, Sendable {
    // Part of the on-disk format. Never change; add a new version instead.
    public enum Format {
        public static let magic: UInt32 = 0x4D52_4641  // "AFRM" little-endian
        public static let version: UInt8 = 1
        public static let size = 48
        /// Frames start at multiples of this; the padding after a payload is zero bytes.
        public static let alignment = 8
        /// The header checksum covers bytes 0..<headerChecksumOffset, which include the payload checksum.
        public static let payloadChecksumOffset = 32
        public static let headerChecksumOffset = 40
        /// Each record in a payload is preceded by its length as u32.
        public static let recordLengthBytes = 4
        /// Payloads smaller than this are never compressed.
        public static let minCompressBytes = 64
    }

    public enum Kind: UInt8, Sendable {
        /// Carries records.
        case records = 1
        /// Carries no records; written on clean close so a damaged last data frame is detected as corruption.
        case seal = 2
    }

    public enum Codec: UInt8, Sendable {
        case none = 0
        case lz4 = 1
    }

    public var kind: Kind
    public var codec: Codec
    public var firstLSN: UInt64
    public var recordCount: UInt32
    public var storedLength: UInt32
    public var rawLength: UInt32
    public var payloadChecksum: UInt64

    public init(
        kind: Kind, codec: Codec, firstLSN: UInt64, recordCount: UInt32, storedLength: UInt32, rawLength: UInt32,
        payloadChecksum: UInt64
    ) {
        self.kind = kind
        self.codec = codec
        self.firstLSN = firstLSN
        self.recordCount = recordCount
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.payloadChecksum = payloadChecksum
    }

    /// Bytes the whole frame occupies on disk: header, payload and padding.
    public var frameLength: Int { FrameHeader.frameLength(storedLength: Int(storedLength)) }

    public static func frameLength(storedLength: Int) -> Int {
        let unpadded = Format.size + storedLength
        return (unpadded + Format.alignment - 1) / Format.alignment * Format.alignment
    }

    /// The LSN after this frame's last record.
    public var nextLSN: UInt64 { firstLSN + UInt64(recordCount) }

    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Format.size)
        buffer.storeLE(Format.magic, at: 0)
        buffer[4] = Format.version
        buffer[5] = kind.rawValue
        buffer[6] = codec.rawValue
        buffer[7] = 0
        buffer.storeLE(firstLSN, at: 8)
        buffer.storeLE(recordCount, at: 16)
        buffer.storeLE(storedLength, at: 20)
        buffer.storeLE(rawLength, at: 24)
        buffer.storeLE(UInt32(0), at: 28)
        buffer.storeLE(payloadChecksum, at: Format.payloadChecksumOffset)
        let sum = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: buffer[0..<Format.headerChecksumOffset]))
        buffer.storeLE(sum, at: Format.headerChecksumOffset)
    }

    /// Why 48 bytes are not a valid frame header.
    public enum Defect: Equatable, Sendable {
        /// Every byte is zero: never-written space (end of data).
        case zeroes
        case badMagic(UInt32)
        case badChecksum(stored: UInt64, computed: UInt64)
        case badVersion(UInt8)
        case badField(String)

        public var explanation: String {
            switch self {
            case .zeroes: return "frame header is all zero bytes"
            case .badMagic(let m): return "frame header has a bad magic number \(hex(UInt64(m)))"
            case .badChecksum(let s, let c): return "frame header checksum mismatch (stored \(hex(s)), computed \(hex(c)))"
            case .badVersion(let v): return "frame format version \(v) is not supported"
            case .badField(let what): return "frame header field is invalid: \(what)"
            }
        }
    }

    /// Decodes a header from exactly `Format.size` bytes.
    public static func decode(_ raw: UnsafeRawBufferPointer) -> Result<FrameHeader, DefectError> {
        precondition(raw.count >= Format.size)
        let magic = raw.loadLE(UInt32.self, at: 0)
        if magic != Format.magic {
            if raw[0..<Format.size].allSatisfy({ $0 == 0 }) { return .failure(DefectError(.zeroes)) }
            return .failure(DefectError(.badMagic(magic)))
        }
        let stored = raw.loadLE(UInt64.self, at: Format.headerChecksumOffset)
        let computed = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[0..<Format.headerChecksumOffset]))
        guard stored == computed else { return .failure(DefectError(.badChecksum(stored: stored, computed: computed))) }
        guard raw[4] == Format.version else { return .failure(DefectError(.badVersion(raw[4]))) }
        guard let kind = Kind(rawValue: raw[5]) else { return .failure(DefectError(.badField("kind \(raw[5])"))) }
        guard let codec = Codec(rawValue: raw[6]) else { return .failure(DefectError(.badField("codec \(raw[6])"))) }
        let header = FrameHeader(
            kind: kind, codec: codec, firstLSN: raw.loadLE(UInt64.self, at: 8),
            recordCount: raw.loadLE(UInt32.self, at: 16), storedLength: raw.loadLE(UInt32.self, at: 20),
            rawLength: raw.loadLE(UInt32.self, at: 24), payloadChecksum: raw.loadLE(UInt64.self, at: 32))
        if header.codec == .none && header.storedLength != header.rawLength {
            return .failure(DefectError(.badField("raw frame with stored length \(header.storedLength) != raw length \(header.rawLength)")))
        }
        if header.kind == .seal && (header.recordCount != 0 || header.rawLength != 0) {
            return .failure(DefectError(.badField("seal frame carries records")))
        }
        if header.kind == .records && header.recordCount == 0 {
            return .failure(DefectError(.badField("record frame with no records")))
        }
        if UInt64(header.recordCount) * UInt64(Format.recordLengthBytes) > UInt64(header.rawLength) {
            return .failure(DefectError(.badField("\(header.recordCount) records cannot fit in \(header.rawLength) bytes")))
        }
        return .success(header)
    }

    public struct DefectError: Error, Equatable, Sendable {
        public var defect: Defect
        public init(_ defect: Defect) { self.defect = defect }
    }
}
