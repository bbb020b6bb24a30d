import StorageCodec
import StorageIO

/// A row: named columns holding bytes. Rows are stored and logged whole.
public struct Row: Equatable, Sendable, CustomStringConvertible {
    public var columns: [String: [UInt8]]

    public init(_ columns: [String: [UInt8]] = [:]) {
        self.columns = columns
    }

    public subscript(column: String) -> [UInt8]? {
        get { columns[column] }
        set { columns[column] = newValue }
    }

    /// Bytes this row occupies in memory and in its encoding, roughly.
    var byteCount: Int { columns.reduce(4) { $0 + 6 + $1.key.utf8.count + $1.value.count } }

    public var description: String {
        "{" + columns.keys.sorted().map { "\($0): \(columns[$0]!.count) B" }.joined(separator: ", ") + "}"
    }

    /// `u32 count, then per column sorted by name: u16 name length, name, u32 value length, value`.
    func encode(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + byteCount)
        out.appendLE(UInt32(columns.count))
        func append(_ name: String, _ value: [UInt8]) {
            out.appendLE(UInt16(name.utf8.count))
            out.append(contentsOf: name.utf8)
            out.appendLE(UInt32(value.count))
            out.append(contentsOf: value)
        }
        // Rows of one or two columns (most of what the history service writes) skip the sorted copy.
        if columns.count <= 2 {
            var iterator = columns.makeIterator()
            guard let first = iterator.next() else { return }
            guard let second = iterator.next() else { return append(first.key, first.value) }
            let (a, b) = Row.precedes(first.key, second.key) ? (first, second) : (second, first)
            append(a.key, a.value)
            append(b.key, b.value)
            return
        }
        for (name, value) in columns.sorted(by: { Row.precedes($0.key, $1.key) }) { append(name, value) }
    }

    /// The order of columns in an encoded row: by the bytes of their names.
    private static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The value of one column of an encoded row (nil when the row has no such column), read in
    /// place: conditions and `readColumn` use it without building the row's dictionary. Errors
    /// name the offset of the defect, as `decode` does.
    static func column(_ name: String, inEncoded bytes: [UInt8], subject: ByteSubject) throws -> [UInt8]? {
        try columnBytes(name, inEncoded: bytes, subject: subject).map { Array($0) }
    }

    /// Whether the encoded row's column `name` holds exactly `value` (nil: the column is absent),
    /// compared in place.
    static func column(_ name: String, inEncoded bytes: [UInt8], equals value: [UInt8]?, subject: ByteSubject) throws -> Bool {
        let found = try columnBytes(name, inEncoded: bytes, subject: subject)
        switch (found, value) {
        case (nil, nil): return true
        case (let found?, let value?): return found.elementsEqual(value)
        default: return false
        }
    }

    private static func columnBytes(_ name: String, inEncoded bytes: [UInt8], subject: ByteSubject) throws -> ArraySlice<UInt8>? {
        var reader = ByteReader(bytes, subject: subject)
        for _ in 0..<(try reader.u32()) {
            let nameBytes = try reader.slice(Int(try reader.u16()))
            let value = try reader.slice(Int(try reader.u32()))
            if nameBytes.withUnsafeBufferPointer({ $0.elementsEqual(name.utf8) }) { return value }
        }
        return nil
    }

    static func decode(_ reader: inout ByteReader) throws -> Row {
        let count = try reader.u32()
        var columns: [String: [UInt8]] = [:]
        for _ in 0..<count {
            let nameLength = Int(try reader.u16())
            let name = try reader.string(nameLength)
            let value = try reader.bytes(Int(try reader.u32()))
            columns[name] = value
        }
        return Row(columns)
    }
}

/// What a `ByteReader` reads, for its error messages: kept unformatted, since only an error
/// needs the text and a scan makes one reader per row.
enum ByteSubject {
    case text(String)
    /// "<prefix> <lsn>", e.g. "row written at LSN 42".
    case atLSN(StaticString, UInt64)

    var description: String {
        switch self {
        case .text(let text): return text
        case .atLSN(let prefix, let lsn): return "\(prefix) \(lsn)"
        }
    }
}

/// Reads the engine's little-endian encodings, failing with `.corruption` at the offset of the defect.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    let subject: ByteSubject

    init(_ bytes: [UInt8], what: String) {
        self.init(bytes, subject: .text(what))
    }

    init(_ bytes: [UInt8], subject: ByteSubject) {
        self.bytes = bytes
        self.subject = subject
    }

    var what: String { subject.description }
    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset == bytes.count }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else {
            throw StorageError(.corruption, "\(what) ends early: needs \(n) bytes at offset \(offset) of \(bytes.count)", offset: Int64(offset))
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() throws -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
    mutating func u32() throws -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    private func need(_ n: Int) throws {
        guard n <= bytes.count - offset else {
            throw StorageError(.corruption, "\(what) ends early: needs \(n) bytes at offset \(offset) of \(bytes.count)", offset: Int64(offset))
        }
    }
    mutating func bytes(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    /// The next `n` bytes, not copied.
    mutating func slice(_ n: Int) throws -> ArraySlice<UInt8> { try take(n) }
    mutating func string(_ n: Int) throws -> String {
        let raw = try take(n)
        // ASCII (every column name the store's users write) is valid UTF-8 as it stands.
        let text = raw.withUnsafeBufferPointer { buffer in
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
        }
        guard let text else {
            throw StorageError(.corruption, "\(what) has a name that is not UTF-8 at offset \(offset - n)", offset: Int64(offset - n))
        }
        return text
    }
}

extension Row {
    /// Decodes a row from its encoding (an index entry's inline value). `package` for the recovery
    /// tools, which read index files without opening the store.
    package init(encoded bytes: [UInt8], what: String) throws {
        try self.init(encoded: bytes, subject: .text(what))
    }

    init(encoded bytes: [UInt8], subject: ByteSubject) throws {
        var reader = ByteReader(bytes, subject: subject)
        self = try Row.decode(&reader)
        guard reader.atEnd else {
            throw StorageError(.corruption, "\(reader.what) has \(bytes.count - reader.offset) trailing bytes", offset: Int64(reader.offset))
        }
    }
}
