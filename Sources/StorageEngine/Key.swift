public import StorageCodec

/// A partition or clustering key: a tuple of typed components in the order-preserving encoding
/// of docs/format/keys.md. Keys compare by their bytes, which is the components' order.
public struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ components: [KeyComponent], order: [KeyOrder] = []) {
        self.bytes = KeyEncoding.encode(components, order: order)
    }

    public init(_ components: KeyComponent...) {
        self.init(components)
    }

    /// A key from its encoded bytes (validated).
    public init(encoded bytes: [UInt8]) throws {
        _ = try KeyEncoding.decode(bytes)
        self.bytes = bytes
    }

    init(trusted bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The empty key (a table without clustering columns uses it for its single row per partition).
    public static let empty = Key(trusted: [])

    public static func < (a: Key, b: Key) -> Bool { compareKeys(a.bytes, b.bytes) < 0 }

    public var components: [KeyComponent] { ((try? KeyEncoding.decode(bytes)) ?? []).map(\.0) }

    public var description: String {
        guard let decoded = try? KeyEncoding.decode(bytes) else { return "<\(bytes.count) undecodable bytes>" }
        return "(" + decoded.map { $0.1 == .descending ? "\($0.0) desc" : $0.0.description }.joined(separator: ", ") + ")"
    }
}
