/// Little-endian writer and reader for the persistence row encodings (docs/data-model.md).
/// Strings and byte strings are `u32 length | bytes`.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init(version: UInt8) { bytes = [version] }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }
    package mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    package mutating func u64(_ v: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
    package mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    package mutating func raw(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }
    package mutating func string(_ v: String) { raw(Array(v.utf8)) }
}

/// Reads what `ByteWriter` wrote; every defect is `PersistenceError.storage` naming the row kind
/// and the byte offset.
package struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    let what: String

    /// Checks the version byte.
    package init(_ bytes: [UInt8], what: String, version: UInt8) throws {
        self.bytes = bytes
        self.what = what
        guard let first = bytes.first else { throw PersistenceError.storage("\(what) row is empty") }
        guard first == version else {
            throw PersistenceError.storage("\(what) row has unknown encoding version \(first) (expected \(version))")
        }
        offset = 1
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else {
            throw PersistenceError.storage("\(what) row ends early: needs \(n) bytes at offset \(offset) of \(bytes.count)")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    package mutating func u8() throws -> UInt8 { try take(1).first! }
    package mutating func u32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    package mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    package mutating func u64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    package mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    package mutating func raw() throws -> [UInt8] { Array(try take(Int(try u32()))) }
    package mutating func string() throws -> String {
        let at = offset
        guard let text = String(validating: try raw(), as: UTF8.self) else {
            throw PersistenceError.storage("\(what) row has a string that is not UTF-8 at offset \(at)")
        }
        return text
    }

    package func finish() throws {
        guard offset == bytes.count else {
            throw PersistenceError.storage("\(what) row has \(bytes.count - offset) trailing bytes at offset \(offset)")
        }
    }

    package func enumValue<E: RawRepresentable>(_ raw: E.RawValue, _ type: E.Type) throws -> E {
        guard let value = E(rawValue: raw) else {
            throw PersistenceError.storage("\(what) row has an unknown \(E.self) value \(raw) before offset \(offset)")
        }
        return value
    }
}

/// An `Int64` as 8 little-endian bytes (integer columns that conditions compare).
package func littleEndian(_ v: Int64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64($0))) }
}

package func int64(littleEndian bytes: [UInt8]?) -> Int64? {
    guard let bytes, bytes.count == 8 else { return nil }
    return Int64(bitPattern: bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) })
}
