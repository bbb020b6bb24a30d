import StorageCodec
import StorageIO
import StorageIndex

/// Merges one partition's entries from the memtable, frozen memtables and index files, newest
/// source first: for each clustering key the newest entry wins, and tombstones hide the row.
struct MergedScan {
    enum Source {
        case memory(SortedKeyMap<IndexEntry>.Cursor)
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
    let reverse: Bool

    init(
        _ id: Memtable.Partition, from start: [UInt8]?, to end: [UInt8]?, reverse: Bool,
        memtable: Memtable, frozen: [Memtable], files: [IndexFile]
    ) throws {
        self.reverse = reverse
        var sources: [Source] = []
        for table in [memtable] + frozen.reversed() {
            if let map = table.partitions[id] { sources.append(.memory(map.cursor(from: start, to: end, reverse: reverse))) }
        }
        let prefix = IndexKey.prefix(table: id.table, partition: id.key)
        for file in files.reversed() {
            let lower = prefix + (start ?? [])
            let upper = end.map { prefix + $0 } ?? IndexKey.partitionEnd(prefix)
            sources.append(.file(try file.cursor(from: lower, to: upper, reverse: reverse), prefixLength: prefix.count))
        }
        self.sources = sources
    }

    /// The next live row in order, or nil at the end.
    mutating func next() throws -> ([UInt8], IndexEntry)? {
        while true {
            var best: [UInt8]? = nil
            var winner: IndexEntry? = nil
            for source in sources {
                guard let (key, entry) = source.current else { continue }
                if let current = best {
                    let order = compareKeys(key, current)
                    if reverse ? order > 0 : order < 0 {
                        best = key
                        winner = entry
                    }
                } else {
                    best = key
                    winner = entry
                }
            }
            guard let key = best, let entry = winner else { return nil }
            // Newest source first: among sources at `key`, the first one's entry wins.
            var newest: IndexEntry? = nil
            for index in sources.indices {
                if let (k, e) = sources[index].current, k == key {
                    if newest == nil { newest = e }
                    try sources[index].advance()
                }
            }
            _ = entry
            if case .tombstone = newest!.value { continue }
            return (key, newest!)
        }
    }
}

extension Store {
    /// The row at a key in the index (memtable, then frozen memtables, then files, newest first).
    static func indexedRow(
        _ id: PartitionID, _ clustering: [UInt8], memtable: Memtable, frozen: [Memtable], files: [IndexFile]
    ) throws -> Row? {
        if let entry = memtable.get(id, clustering) { return try row(from: entry) }
        for table in frozen.reversed() {
            if let entry = table.get(id, clustering) { return try row(from: entry) }
        }
        if !files.isEmpty {
            let key = IndexKey.prefix(table: id.table, partition: id.key) + clustering
            for file in files.reversed() {
                if let entry = try file.get(key) { return try row(from: entry) }
            }
        }
        return nil
    }

    static func row(from entry: IndexEntry) throws -> Row? {
        switch entry.value {
        case .tombstone: return nil
        case .inline(let bytes):
            var reader = ByteReader(bytes, what: "row written at LSN \(entry.lsn)")
            return try Row.decode(&reader)
        case .pointer:
            throw StorageError(.corruption, "index entry at LSN \(entry.lsn) points into the log, which this version does not write")
        }
    }
}
