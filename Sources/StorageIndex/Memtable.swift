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

    /// One row's new version in a batch: its partition, clustering key and value.
    public struct Write: Sendable {
        public let partition: Partition
        public let clustering: [UInt8]
        public let value: IndexValue

        public init(partition: Partition, clustering: [UInt8], value: IndexValue) {
            self.partition = partition
            self.clustering = clustering
            self.value = value
        }
    }

    public mutating func set(_ partition: Partition, _ clustering: [UInt8], _ entry: IndexEntry) {
        apply(partition, CollectionOfOne((clustering, entry.value)), lsn: entry.lsn)
    }

    /// Applies the writes of the record at `lsn` (a record that wrote nothing still advances
    /// `maxLSN`). A batch's writes come sorted by partition (the order of a batch record), so
    /// each run of one partition costs one hash lookup.
    public mutating func apply(_ writes: [Write], lsn: UInt64) {
        var start = 0
        while start < writes.count {
            let partition = writes[start].partition
            var end = start + 1
            while end < writes.count && writes[end].partition == partition { end += 1 }
            apply(partition, writes[start..<end].lazy.map { ($0.clustering, $0.value) }, lsn: lsn)
            start = end
        }
        maxLSN = max(maxLSN, lsn)
    }

    /// Sets entries of one partition, all written at `lsn`. Mutates the partition's map in place
    /// (no copy of it), with one hash lookup.
    private mutating func apply(_ partition: Partition, _ rows: some Sequence<([UInt8], IndexValue)>, lsn: UInt64) {
        func insert(_ map: inout SortedKeyMap<IndexEntry>) -> (replaced: Int, replacedBytes: Int, added: Int, addedBytes: Int, isNew: Bool) {
            let isNew = map.isEmpty
            var result = (replaced: 0, replacedBytes: 0, added: 0, addedBytes: 0, isNew: isNew)
            for (clustering, value) in rows {
                let entry = IndexEntry(lsn: lsn, value: value)
                if let previous = map.set(clustering, entry) {
                    result.replaced += 1
                    result.replacedBytes += previous.byteCount + clustering.count
                }
                result.added += 1
                result.addedBytes += entry.byteCount + clustering.count
            }
            return result
        }
        let change = insert(&partitions[partition, default: SortedKeyMap()])
        if change.isNew {
            bytes += partition.table.utf8.count + partition.key.count + 64
        }
        bytes += change.addedBytes - change.replacedBytes
        entries += change.added - change.replaced
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
