import StorageCodec
import StorageIO
import StorageIndex
import Synchronization

/// Reads: point reads and ordered, paged partition scans. They see every acknowledged write.
extension Store {
    /// The row at (table, partition, clustering), or nil.
    public func read(table: String, partition: Key, clustering: Key) throws -> Row? {
        try durableEntry(table, partition, clustering).flatMap { try Store.row(from: $0) }
    }

    /// One column of the row at (table, partition, clustering): nil when the row or the column is
    /// absent. Read from the row's encoding in place, without decoding the other columns.
    public func readColumn(table: String, partition: Key, clustering: Key, column: String) throws -> [UInt8]? {
        guard let entry = try durableEntry(table, partition, clustering), let bytes = try Store.encodedRow(of: entry) else { return nil }
        return try Row.column(column, inEncoded: bytes, subject: .atLSN("row written at LSN", entry.lsn))
    }

    /// The newest durable index entry of a row (a tombstone included), or nil.
    private func durableEntry(_ table: String, _ partition: Key, _ clustering: Key) throws -> IndexEntry? {
        let id = PartitionID(table: table, key: partition.bytes)
        let key = clustering.bytes
        // The memtables are searched under the lock and never copied out of it: a reader holding
        // a copy would make the next write copy the memtable's whole partition table (copy-on-write),
        // a cost that grows with the number of partitions. Only the file list leaves the lock.
        let (entry, files): (IndexEntry?, [IndexFile]) = state.withLock { state in
            if let entry = Store.memoryEntry(id, key, memtable: state.memtable, frozen: state.frozen) { return (entry, []) }
            return (nil, state.files)
        }
        return try entry ?? Store.fileEntry(id, key, files: files)
    }

    /// Rows of one partition with `start <= clustering < end` (nil bounds are open), in clustering
    /// order (or reversed), at most `limit` per page. Pass the returned `nextPageToken` back to
    /// continue; a token from a different direction or a malformed token is `.invalidArgument`.
    public func scan(
        table: String, partition: Key, from start: Key? = nil, to end: Key? = nil, reverse: Bool = false,
        limit: Int = 1000, pageToken: [UInt8]? = nil
    ) throws -> ScanPage {
        guard limit > 0, limit <= StoreLimits.maxScanRows else {
            throw StorageError(.invalidArgument, "scan limit must be 1...\(StoreLimits.maxScanRows), got \(limit)")
        }
        var lower = start?.bytes
        var upper = end?.bytes
        if let pageToken {
            let (tokenReverse, last) = try PageToken.decode(pageToken)
            guard tokenReverse == reverse else {
                throw StorageError(.invalidArgument, "page token was issued for a \(tokenReverse ? "reverse" : "forward") scan")
            }
            if reverse {
                upper = last
            } else {
                lower = last + [0]  // the smallest key after `last`
            }
        }
        // This partition's maps from the memtables (copy-on-write, O(1); never the memtables
        // themselves, see `read`) and the file list; the scan runs unlocked.
        let id = PartitionID(table: table, key: partition.bytes)
        let (maps, files) = state.withLock { state in
            (Store.memoryMaps(id, memtable: state.memtable, frozen: state.frozen), state.files)
        }
        var merge = try MergedScan(id, from: lower, to: upper, reverse: reverse, memory: maps, files: files)
        var rows: [(clustering: Key, row: Row)] = []
        var more = false
        while let (key, entry) = try merge.next() {
            if rows.count == limit {
                more = true
                break
            }
            if let row = try Store.row(from: entry) { rows.append((Key(trusted: key), row)) }
        }
        let token = more ? PageToken.encode(reverse: reverse, last: rows.last!.clustering.bytes) : nil
        return ScanPage(rows: rows, nextPageToken: token)
    }
}

/// `u8 version (1) | u8 reverse (0/1) | last key bytes`: opaque to callers.
enum PageToken {
    static func encode(reverse: Bool, last: [UInt8]) -> [UInt8] {
        [1, reverse ? 1 : 0] + last
    }

    static func decode(_ token: [UInt8]) throws -> (reverse: Bool, last: [UInt8]) {
        guard token.count >= 2, token[0] == 1, token[1] <= 1 else {
            throw StorageError(.invalidArgument, "malformed page token")
        }
        let last = Array(token[2...])
        guard (try? KeyEncoding.decode(last)) != nil else {
            throw StorageError(.invalidArgument, "malformed page token")
        }
        return (token[1] == 1, last)
    }
}
