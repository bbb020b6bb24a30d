/// The newest rows, in memory: per partition (a table and a partition key), entries by
/// clustering key. Entries are whole encoded rows or tombstones, with the LSN that wrote them.
public struct Memtable: Sendable {
    public struct Partition: Hashable, Sendable {
        public let table: String
        public let key: [UInt8]

        public init(table: String, key: [UInt8]) {
            self.table = table
            self.key = key
        }

        /// Hashes the key's bytes in one call (`[UInt8]`'s own hashing feeds each byte separately).
        public func hash(into hasher: inout Hasher) {
            hasher.combine(table)
            key.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    public private(set) var partitions: [Partition: SortedKeyMap<IndexEntry>] = [:]
    /// Approximate bytes held (keys plus entries).
    public private(set) var bytes = 0
    public private(set) var entries = 0
    /// The highest LSN applied to this memtable (0 if none).
    public private(set) var maxLSN: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { entries == 0 }

    public func get(_ partition: Partition, _ clustering: [UInt8]) -> IndexEntry? {
        partitions[partition]?[clustering]
    }

    public mutating func set(_ partition: Partition, _ clustering: [UInt8], _ entry: IndexEntry) {
        // Mutated in place (no copy of the partition's map), with one hash lookup.
        func insert(_ map: inout SortedKeyMap<IndexEntry>) -> (previous: IndexEntry?, isNew: Bool) {
            let isNew = map.isEmpty
            return (map.set(clustering, entry), isNew)
        }
        let (previous, isNewPartition) = insert(&partitions[partition, default: SortedKeyMap()])
        if let previous {
            bytes -= previous.byteCount + clustering.count
            entries -= 1
        }
        if isNewPartition {
            bytes += partition.table.utf8.count + partition.key.count + 64
        }
        bytes += entry.byteCount + clustering.count
        entries += 1
        maxLSN = max(maxLSN, entry.lsn)
    }

    /// Notes that every record up to `lsn` has been applied (records that wrote nothing count too).
    public mutating func noteApplied(_ lsn: UInt64) {
        maxLSN = max(maxLSN, lsn)
    }

    /// Visits every entry in index-file key order (partitions by their composite prefix, then
    /// clustering), with its index-file key. A flush streams through it: no list of all entries.
    public func forEachSorted(_ body: (_ key: [UInt8], _ entry: IndexEntry) throws -> Void) rethrows {
        let ordered = partitions.keys.map { ($0, IndexKey.prefix(table: $0.table, partition: $0.key)) }
            .sorted { lessThan($0.1, $1.1) }
        for (partition, prefix) in ordered {
            try partitions[partition]!.forEach(from: nil, to: nil) { clustering, entry in
                try body(prefix + clustering, entry)
                return true
            }
        }
    }
}

/// Keys of index files: `KeyEncoding([.string(table), .bytes(partition)])` then the clustering key.
/// The prefix is prefix-free, so one partition's keys are contiguous and in clustering order.
public enum IndexKey {
    public static func prefix(table: String, partition: [UInt8]) -> [UInt8] {
        KeyEncoding.encode([.string(table), .bytes(partition)])
    }

    /// A key greater than every key of the partition with this prefix (clustering keys never
    /// start with 0xFF) and smaller than the next partition's keys.
    public static func partitionEnd(_ prefix: [UInt8]) -> [UInt8] { prefix + [0xFF] }
}

import StorageCodec

/// A byte string as a dictionary key, hashed in one call.
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// A cursor over one partition's entries in a memtable: `SortedKeyMap<IndexEntry>.Cursor` behind
/// a concrete type. The generic cursor called from another module runs unspecialized, looking up
/// type metadata at run time on every step (15 % of a 100-row scan measured so); through this
/// type it runs code compiled for `IndexEntry` here.
public struct EntryCursor: Sendable {
    private var base: SortedKeyMap<IndexEntry>.Cursor

    public init(_ map: SortedKeyMap<IndexEntry>, from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool) {
        base = map.cursor(from: lower, to: upper, reverse: reverse)
    }

    /// The current entry, or nil when the range is exhausted.
    public var current: (key: [UInt8], value: IndexEntry)? { base.current }

    public mutating func advance() { base.advance() }
}
