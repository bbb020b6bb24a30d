/// Little-endian byte writer and reader for the history service's small encodings (task data,
/// task tokens, page tokens). Readers fail with `HistoryError.invalidArgument` naming what was
/// being read, so a malformed token from a client becomes a clear INVALID_ARGUMENT.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func data(_ v: [UInt8]) {
        i32(Int32(v.count))
        bytes.append(contentsOf: v)
    }
    mutating func string(_ v: String) { data(Array(v.utf8)) }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    let what: String

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var atEnd: Bool { offset == bytes.count }

    private func fail(_ reason: String) -> HistoryError {
        .invalidArgument("malformed \(what): \(reason) at byte \(offset) of \(bytes.count)")
    }

    mutating func u8() throws(HistoryError) -> UInt8 {
        guard offset < bytes.count else { throw fail("ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func i32() throws(HistoryError) -> Int32 {
        guard bytes.count - offset >= 4 else { throw fail("ends early") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return Int32(bitPattern: v)
    }

    mutating func i64() throws(HistoryError) -> Int64 {
        guard bytes.count - offset >= 8 else { throw fail("ends early") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return Int64(bitPattern: v)
    }

    mutating func data() throws(HistoryError) -> [UInt8] {
        let n = Int(try i32())
        guard n >= 0, bytes.count - offset >= n else { throw fail("length \(n) runs past the end") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func string() throws(HistoryError) -> String {
        let raw = try data()
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("text is not UTF-8") }
        return s
    }

    func finish() throws(HistoryError) {
        guard atEnd else { throw fail("\(bytes.count - offset) trailing bytes") }
    }
}
