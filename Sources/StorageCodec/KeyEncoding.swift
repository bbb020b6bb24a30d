import Glibc
import StorageIO

/// One component of a partition or clustering key.
///
/// Keys are encoded so that comparing the encoded bytes (memcmp, shorter first on a common
/// prefix) gives the same order as comparing the components one by one — Cassandra's clustering
/// order — ascending or descending per component. Each component carries a one-byte type tag, so
/// a key can be decoded without a schema (the recovery tools print keys this way).
/// Layout: docs/format/keys.md.
public enum KeyComponent: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case uint(UInt64)
    /// Nanoseconds since the Unix epoch.
    case timestamp(Int64)
    case string(String)
    case bytes([UInt8])
    /// 16 bytes, compared byte by byte.
    case uuid([UInt8])

    // Part of the on-disk format. Never change; add a new tag instead.
    enum Tag: UInt8 {
        case int = 0x10
        case uint = 0x11
        case timestamp = 0x12
        case string = 0x20
        case bytes = 0x21
        case uuid = 0x30
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .uint(let v): return "\(v)u"
        case .timestamp(let v): return "ts:\(v)"
        case .string(let s): return "\"\(s)\""
        case .bytes(let b): return "0x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case .uuid(let b): return "uuid:" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}

public enum KeyOrder: Sendable, Equatable {
    case ascending
    case descending
}

/// Order-preserving encoding of key tuples.
public enum KeyEncoding {
    // Variable-length components escape 0x00 as 0x00 0xFF and end with 0x00 0x01, so no encoding
    // is a prefix of another and a shorter string sorts before its extensions.
    static let escape: UInt8 = 0xFF
    static let terminator: UInt8 = 0x01
    /// Descending components start with this marker (then the inverted ascending bytes), so a
    /// decoder knows to invert; ascending ones start with their tag (always < 0x80).
    static let descendingMarker: UInt8 = 0x80

    public static func encode(_ components: [KeyComponent], order: [KeyOrder] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(components.reduce(0) { $0 + $1.encodedSizeEstimate })
        for (index, component) in components.enumerated() {
            let direction = index < order.count ? order[index] : .ascending
            append(component, direction, to: &out)
        }
        return out
    }

    /// Appends one component's encoding to `out`, written in place (no intermediate buffers).
    public static func append(_ component: KeyComponent, _ order: KeyOrder = .ascending, to out: inout [UInt8]) {
        if order == .descending { out.append(descendingMarker) }
        let start = out.count
        switch component {
        case .int(let v):
            out.append(KeyComponent.Tag.int.rawValue)
            appendBigEndian(UInt64(bitPattern: v) ^ (1 << 63), to: &out)
        case .uint(let v):
            out.append(KeyComponent.Tag.uint.rawValue)
            appendBigEndian(v, to: &out)
        case .timestamp(let v):
            out.append(KeyComponent.Tag.timestamp.rawValue)
            appendBigEndian(UInt64(bitPattern: v) ^ (1 << 63), to: &out)
        case .string(let s):
            out.append(KeyComponent.Tag.string.rawValue)
            appendEscaped(s.utf8, to: &out)
        case .bytes(let b):
            out.append(KeyComponent.Tag.bytes.rawValue)
            appendEscaped(b, to: &out)
        case .uuid(let b):
            precondition(b.count == 16, "a UUID is 16 bytes")
            out.append(KeyComponent.Tag.uuid.rawValue)
            out.append(contentsOf: b)
        }
        if order == .descending {
            // Inverting a prefix-free encoding reverses its order. The tag is inverted too.
            for i in start..<out.count { out[i] = ~out[i] }
        }
    }

    /// Decodes a key written by `encode`; throws `.corruption` naming the byte offset on malformed input.
    public static func decode(_ bytes: [UInt8]) throws -> [(KeyComponent, KeyOrder)] {
        var result: [(KeyComponent, KeyOrder)] = []
        var i = 0
        while i < bytes.count {
            var order = KeyOrder.ascending
            var invert: UInt8 = 0
            if bytes[i] == descendingMarker {
                order = .descending
                invert = 0xFF
                i += 1
            }
            func byte(_ at: Int) throws -> UInt8 {
                guard at < bytes.count else { throw StorageError(.corruption, "key ends inside a component", offset: Int64(at)) }
                return bytes[at] ^ invert
            }
            let tagOffset = i
            guard let tag = KeyComponent.Tag(rawValue: try byte(i)) else {
                throw StorageError(.corruption, "key has an unknown component tag \(try byte(i))", offset: Int64(i))
            }
            i += 1
            switch tag {
            case .int, .uint, .timestamp:
                var v: UInt64 = 0
                for k in 0..<8 { v = v << 8 | UInt64(try byte(i + k)) }
                i += 8
                switch tag {
                case .int: result.append((.int(Int64(bitPattern: v ^ (1 << 63))), order))
                case .timestamp: result.append((.timestamp(Int64(bitPattern: v ^ (1 << 63))), order))
                default: result.append((.uint(v), order))
                }
            case .string, .bytes:
                var raw: [UInt8] = []
                while true {
                    let b = try byte(i)
                    if b == 0 {
                        let next = try byte(i + 1)
                        i += 2
                        if next == terminator { break }
                        guard next == escape else {
                            throw StorageError(.corruption, "key has a bad escape 0x00 0x\(String(next, radix: 16))", offset: Int64(i - 1))
                        }
                        raw.append(0)
                    } else {
                        raw.append(b)
                        i += 1
                    }
                }
                if tag == .string {
                    guard let text = String(validating: raw, as: UTF8.self) else {
                        throw StorageError(.corruption, "key string is not UTF-8", offset: Int64(tagOffset))
                    }
                    result.append((.string(text), order))
                } else {
                    result.append((.bytes(raw), order))
                }
            case .uuid:
                var raw: [UInt8] = []
                for k in 0..<16 { raw.append(try byte(i + k)) }
                i += 16
                result.append((.uuid(raw), order))
            }
        }
        return result
    }

    private static func appendBigEndian(_ v: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
    }

    private static func appendEscaped(_ raw: some Collection<UInt8>, to out: inout [UInt8]) {
        if !raw.contains(0) {
            out.append(contentsOf: raw)
        } else {
            for b in raw {
                out.append(b)
                if b == 0 { out.append(escape) }
            }
        }
        out.append(0)
        out.append(terminator)
    }
}

extension KeyComponent {
    /// Bytes of the component's encoding, exact for fixed-size ones, a lower bound for others.
    var encodedSizeEstimate: Int {
        switch self {
        case .int, .uint, .timestamp: return 10
        case .string(let s): return s.utf8.count + 4
        case .bytes(let b): return b.count + 4
        case .uuid: return 18
        }
    }
}

/// Compares encoded keys as unsigned bytes; a proper prefix sorts first.
public func compareKeys(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            let n = min(x.count, y.count)
            if n > 0 {
                let order = memcmp(x.baseAddress!, y.baseAddress!, n)
                if order != 0 { return order < 0 ? -1 : 1 }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        }
    }
}
