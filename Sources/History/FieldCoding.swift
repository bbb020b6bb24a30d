/// A tagged binary encoding for the history service's records (mutable state v2): a sequence of
/// fields, each `varint key | value`, where key = field number << 3 | wire type and the value is a
/// varint (wire type 0) or `varint length | bytes` (wire type 2: text, bytes, nested records).
/// Signed integers are zigzag varints. The same wire rules as protocol buffers, so a field can be
/// added without a new format version (older records lack it and decode to its default) and a
/// reader skips fields it does not know. Fields holding their default value are not written.
struct FieldWriter {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wire: UInt64) { varint(UInt64(field) << 3 | wire) }

    /// Writes the field even when it is 0 (for optionals, whose presence matters).
    mutating func int(_ field: Int, always value: Int64) {
        key(field, wire: 0)
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func int(_ field: Int, _ value: Int64) {
        if value != 0 { int(field, always: value) }
    }

    mutating func int(_ field: Int, _ value: Int32) { int(field, Int64(value)) }
    mutating func int(_ field: Int, _ value: Int) { int(field, Int64(value)) }

    mutating func bool(_ field: Int, _ value: Bool) {
        if value { int(field, always: 1) }
    }

    mutating func data(_ field: Int, always value: [UInt8]) {
        key(field, wire: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func data(_ field: Int, _ value: [UInt8]) {
        if !value.isEmpty { data(field, always: value) }
    }

    mutating func string(_ field: Int, always value: String) {
        key(field, wire: 2)
        var text = value
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func string(_ field: Int, _ value: String) {
        if !value.isEmpty { string(field, always: value) }
    }

    /// A nested record, always written (an empty one marks presence).
    mutating func record(_ field: Int, _ write: (inout FieldWriter) -> Void) {
        var nested = FieldWriter()
        write(&nested)
        data(field, always: nested.bytes)
    }
}

/// Reads what `FieldWriter` wrote. Errors name the record and the byte offset.
struct FieldReader {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    private let bytes: ArraySlice<UInt8>
    private var offset: Int
    let what: String

    init(_ bytes: ArraySlice<UInt8>, what: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.what = what
    }

    func fail(_ reason: String) -> HistoryError {
        .internal("malformed \(what): \(reason) at byte \(offset - bytes.startIndex) of \(bytes.count)")
    }

    private mutating func varint() throws(HistoryError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.endIndex else { throw fail("varint ends early") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// The next field, or nil at the end.
    mutating func next() throws(HistoryError) -> (field: Int, value: Value)? {
        guard offset < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0, field < 1 << 29 else { throw fail("field number \(key >> 3)") }
        switch key & 7 {
        case 0:
            return (field, .varint(try varint()))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - offset) else { throw fail("length \(length) runs past the end") }
            let start = offset
            offset += Int(length)
            return (field, .bytes(bytes[start..<offset]))
        default:
            throw fail("wire type \(key & 7)")
        }
    }

    // Typed views of a value; a wrong wire type for a known field is corruption.

    func int(_ value: Value) throws(HistoryError) -> Int64 {
        guard case .varint(let v) = value else { throw fail("expected an integer") }
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    func int32(_ value: Value) throws(HistoryError) -> Int32 {
        let v = try int(value)
        guard let narrow = Int32(exactly: v) else { throw fail("\(v) does not fit 32 bits") }
        return narrow
    }

    func bool(_ value: Value) throws(HistoryError) -> Bool { try int(value) != 0 }

    func data(_ value: Value) throws(HistoryError) -> [UInt8] {
        guard case .bytes(let b) = value else { throw fail("expected bytes") }
        return Array(b)
    }

    func string(_ value: Value) throws(HistoryError) -> String {
        guard case .bytes(let b) = value else { throw fail("expected text") }
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("text is not UTF-8") }
        return s
    }

    func record(_ value: Value, _ what: String) throws(HistoryError) -> FieldReader {
        guard case .bytes(let b) = value else { throw fail("expected a nested \(what)") }
        return FieldReader(b, what: "\(self.what) \(what)")
    }

    /// A map entry `{1: key, 2: value record}` (both must be there).
    func entry<Key: FieldKey, Item>(
        _ value: Value, _ what: String, key: Key.Type, item: (FieldReader) throws(HistoryError) -> Item
    ) throws(HistoryError) -> (Key, Item) {
        var e = try record(value, "\(what) entry")
        var k: Key?
        var i: Item?
        while let (field, v) = try e.next() {
            if field == 1 { k = try Key.read(v, from: e) } else if field == 2 { i = try item(try e.record(v, what)) }
        }
        guard let k, let i else { throw e.fail("\(what) entry without its key or its \(what)") }
        return (k, i)
    }
}

/// A type that keys a map in the tagged encoding.
protocol FieldKey {
    static func read(_ value: FieldReader.Value, from reader: FieldReader) throws(HistoryError) -> Self
}

extension Int64: FieldKey {
    static func read(_ value: FieldReader.Value, from reader: FieldReader) throws(HistoryError) -> Int64 { try reader.int(value) }
}

extension String: FieldKey {
    static func read(_ value: FieldReader.Value, from reader: FieldReader) throws(HistoryError) -> String { try reader.string(value) }
}
