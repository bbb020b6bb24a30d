import StorageCodec
import StorageIO
import StorageIndex

/// Merges one partition's entries from the memtable, frozen memtables and index files, newest
/// source first: for each clustering key the newest entry wins, and tombstones hide the row.
struct MergedScan {
    enum Source {
        case memory(EntryCursor)
        case file(IndexFileCursor, prefixLength: Int)

        var current: (key: [UInt8], entry: IndexEntry)? {
            switch self {
            case .memory(let cursor): return cursor.current.map { ($0.key, $0.value) }
            case .file(let cursor, let prefixLength):
                guard let (key, entry) = cursor.current else { return nil }
                return (Array(key[prefixLength...]), entry)
            }
        }

        mutating func advance() throws {
            switch self {
            case .memory(var cursor):
                cursor.advance()
                self = .memory(cursor)
            case .file(var cursor, let prefixLength):
                try cursor.advance()
                self = .file(cursor, prefixLength: prefixLength)
            }
        }
    }

    /// Newest first.
    var sources: [Source]
    /// Each source's current entry, cached (nil when that source is exhausted).
    var heads: [(key: [UInt8], entry: IndexEntry)?]
    let reverse: Bool

    /// `memory`: the partition's maps from the memtables, newest first (`Store.memoryMaps`).
    init(
        _ id: Memtable.Partition, from start: [UInt8]?, to end: [UInt8]?, reverse: Bool,
        memory: [SortedKeyMap<IndexEntry>], files: [IndexFile]
    ) throws {
        self.reverse = reverse
        var sources: [Source] = memory.map { .memory(EntryCursor($0, from: start, to: end, reverse: reverse)) }
        if !files.isEmpty {
            let prefix = IndexKey.prefix(table: id.table, partition: id.key)
            let lower = prefix + (start ?? [])
            let upper = end.map { prefix + $0 } ?? IndexKey.partitionEnd(prefix)
            for file in files.reversed() {
                sources.append(.file(try file.cursor(from: lower, to: upper, reverse: reverse), prefixLength: prefix.count))
            }
        }
        self.sources = sources
        self.heads = sources.map(\.current)
    }

    /// The next live row in order, or nil at the end.
    mutating func next() throws -> ([UInt8], IndexEntry)? {
        while true {
            // The smallest (largest, in reverse) key among the heads; the newest source wins ties.
            var winner = -1
            for index in heads.indices {
                guard let head = heads[index] else { continue }
                if winner < 0 {
                    winner = index
                } else {
                    let order = compareKeys(head.key, heads[winner]!.key)
                    if reverse ? order > 0 : order < 0 { winner = index }
                }
            }
            guard winner >= 0, let (key, entry) = heads[winner] else { return nil }
            for index in winner..<heads.count where heads[index]?.key == key {
                try sources[index].advance()
                heads[index] = sources[index].current
            }
            if case .tombstone = entry.value { continue }
            return (key, entry)
        }
    }
}

extension Store {
    /// The row at a key in the index (memtable, then frozen memtables, then files, newest first).
    static func indexedRow(
        _ id: PartitionID, _ clustering: [UInt8], memtable: Memtable, frozen: [Memtable], files: [IndexFile]
    ) throws -> Row? {
        try indexedEntry(id, clustering, memtable: memtable, frozen: frozen, files: files).flatMap { try row(from: $0) }
    }

    /// The newest index entry for a key (a tombstone included), or nil.
    static func indexedEntry(
        _ id: PartitionID, _ clustering: [UInt8], memtable: Memtable, frozen: [Memtable], files: [IndexFile]
    ) throws -> IndexEntry? {
        if let entry = memoryEntry(id, clustering, memtable: memtable, frozen: frozen) { return entry }
        return try fileEntry(id, clustering, files: files)
    }

    /// The newest entry for a key in the memtables (newest first), or nil.
    static func memoryEntry(_ id: PartitionID, _ clustering: [UInt8], memtable: Memtable, frozen: [Memtable]) -> IndexEntry? {
        if let entry = memtable.get(id, clustering) { return entry }
        for table in frozen.reversed() {
            if let entry = table.get(id, clustering) { return entry }
        }
        return nil
    }

    /// The newest entry for a key in the index files (newest first), or nil.
    static func fileEntry(_ id: PartitionID, _ clustering: [UInt8], files: [IndexFile]) throws -> IndexEntry? {
        guard !files.isEmpty else { return nil }
        let key = IndexKey.prefix(table: id.table, partition: id.key) + clustering
        for file in files.reversed() {
            if let entry = try file.get(key) { return entry }
        }
        return nil
    }

    /// One partition's maps from the memtable and the frozen memtables, newest first.
    static func memoryMaps(_ id: PartitionID, memtable: Memtable, frozen: [Memtable]) -> [SortedKeyMap<IndexEntry>] {
        ([memtable] + frozen.reversed()).compactMap { $0.partitions[id] }
    }

    /// The encoded row an entry holds (nil: a tombstone).
    static func encodedRow(of entry: IndexEntry) throws -> [UInt8]? {
        switch entry.value {
        case .tombstone: return nil
        case .inline(let bytes): return bytes
        case .pointer:
            throw StorageError(.corruption, "index entry at LSN \(entry.lsn) points into the log, which this version does not write")
        }
    }

    static func row(from entry: IndexEntry) throws -> Row? {
        guard let bytes = try encodedRow(of: entry) else { return nil }
        var reader = ByteReader(bytes, subject: .atLSN("row written at LSN", entry.lsn))
        return try Row.decode(&reader)
    }
}
