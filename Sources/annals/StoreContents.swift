import StorageCodec
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

/// What a data directory holds, read without the directory lock and without changing a byte:
/// the log's records decoded as batches, and the rows the store would return (index files plus
/// the log after the checkpoint). Used by `dump`, `verify --full` and `stats`.
enum StoreContents {
    /// A row as the store keys it: `IndexKey.prefix(table, partition) + clustering`.
    struct RowKey: Hashable, Comparable {
        let bytes: [UInt8]
        static func < (a: RowKey, b: RowKey) -> Bool { compareKeys(a.bytes, b.bytes) < 0 }

        init(table: String, partition: [UInt8], clustering: [UInt8]) {
            bytes = IndexKey.prefix(table: table, partition: partition) + clustering
        }

        init(indexKey: [UInt8]) { bytes = indexKey }

        /// (table, partition, clustering) back from the index key; nil if it does not decode.
        var parts: (table: String, partition: [UInt8], clustering: [UInt8])? {
            guard let components = try? KeyEncoding.decode(bytes), components.count >= 2,
                case .string(let table) = components[0].0, case .bytes(let partition) = components[1].0
            else { return nil }
            let prefix = IndexKey.prefix(table: table, partition: partition)
            guard bytes.count >= prefix.count else { return nil }
            return (table, partition, Array(bytes[prefix.count...]))
        }
    }

    /// A row's latest state: written at `lsn`; `encodedRow` nil for a deletion.
    struct Version: Equatable {
        var lsn: UInt64
        var encodedRow: [UInt8]?
    }

    /// Visits every log record from `lsn` decoded as a batch. `body` returns false to stop.
    /// Returns the scan's report (nil when stopped early).
    @discardableResult
    static func forEachBatch(
        directory: String, fileSystem: any FileSystem, from lsn: UInt64 = 1,
        onSegment: ((Int, Int, String) -> Void)? = nil,
        _ body: (UInt64, BatchRecord, String, Int64) throws -> Bool
    ) throws -> RecoveryReport? {
        try LogRecovery.scanRecords(directory: directory, fileSystem: fileSystem, from: lsn, onSegment: onSegment) {
            recordLSN, bytes, path, offset in
            try body(recordLSN, try BatchRecord.decode(Array(bytes), lsn: recordLSN), path, offset)
        }
    }

    /// Applies every record of the log in LSN order: the rows the log alone rebuilds.
    static func replayLog(
        directory: String, fileSystem: any FileSystem, onSegment: ((Int, Int, String) -> Void)? = nil
    ) throws -> [RowKey: Version] {
        var rows: [RowKey: Version] = [:]
        try forEachBatch(directory: directory, fileSystem: fileSystem, onSegment: onSegment) { lsn, record, _, _ in
            for write in record.writes {
                rows[RowKey(table: write.table, partition: write.partition, clustering: write.clustering)] =
                    Version(lsn: lsn, encodedRow: write.encodedRow)
            }
            return true
        }
        return rows
    }

    /// The rows the index files of `manifest` hold (newer files shadow older ones), then the log
    /// records after its checkpoint applied on top: what the store would return.
    static func indexedRows(directory: String, fileSystem: any FileSystem, manifest: Manifest?) throws -> [RowKey: Version] {
        var rows: [RowKey: Version] = [:]
        for record in manifest?.files ?? [] {  // oldest first: later files overwrite
            let path = joinPath(directory, IndexFileFormat.fileName(id: record.id))
            let file = try IndexFile(fileSystem: fileSystem, path: path, id: record.id)
            try file.forEachEntry { key, entry in
                switch entry.value {
                case .inline(let bytes): rows[RowKey(indexKey: key)] = Version(lsn: entry.lsn, encodedRow: bytes)
                case .tombstone: rows[RowKey(indexKey: key)] = Version(lsn: entry.lsn, encodedRow: nil)
                case .pointer:
                    throw StorageError(.corruption, "index entry at LSN \(entry.lsn) points into the log, which this version does not write", path: path)
                }
            }
        }
        try forEachBatch(directory: directory, fileSystem: fileSystem, from: (manifest?.checkpointLSN ?? 0) + 1) { lsn, record, _, _ in
            for write in record.writes {
                rows[RowKey(table: write.table, partition: write.partition, clustering: write.clustering)] =
                    Version(lsn: lsn, encodedRow: write.encodedRow)
            }
            return true
        }
        return rows
    }
}

/// Human- and machine-readable forms of keys and values.
enum Readable {
    /// A key decoded with the self-describing key encoding, e.g. `("orders", 42)`; raw hex if it does not decode.
    static func key(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "()" }
        guard let key = try? Key(encoded: bytes) else { return "<undecodable key 0x\(hexBytes(bytes))>" }
        return key.description
    }

    static func hexBytes<C: Collection<UInt8>>(_ bytes: C) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of `bytes` if it is UTF-8 without control characters (tab and newline allowed).
    static func printableText(_ bytes: [UInt8]) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        for scalar in text.unicodeScalars where scalar.value < 0x20 && scalar != "\n" && scalar != "\t" || scalar.value == 0x7F {
            return nil
        }
        return text
    }

    /// `"text"` for printable UTF-8, `0x…` otherwise; longer than `limit` bytes (0: no limit) is cut
    /// with `…` and the full length shown.
    static func value(_ bytes: [UInt8], limit: Int) -> String {
        let cut = limit > 0 && bytes.count > limit
        if let text = printableText(bytes) {
            let shown = cut ? prefix(text, bytes: limit) : text
            return String(jsonString(shown).dropLast()) + (cut ? "…\" (\(bytes.count) B)" : "\"")
        }
        let shown = cut ? Array(bytes.prefix(limit)) : bytes
        return "0x" + hexBytes(shown) + (cut ? "… (\(bytes.count) B)" : bytes.count > 8 ? " (\(bytes.count) B)" : "")
    }

    /// `{"utf8":"…","bytes":N}` or `{"hex":"…","bytes":N}`, with `"truncated":true` when cut.
    static func valueJSON(_ bytes: [UInt8], limit: Int) -> String {
        let cut = limit > 0 && bytes.count > limit
        var fields: [String] = []
        if let text = printableText(bytes) {
            fields.append("\"utf8\":" + jsonString(cut ? prefix(text, bytes: limit) : text))
        } else {
            fields.append("\"hex\":\"" + hexBytes(cut ? Array(bytes.prefix(limit)) : bytes) + "\"")
        }
        fields.append("\"bytes\":\(bytes.count)")
        if cut { fields.append("\"truncated\":true") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// `{name: value, …}` in column-name order.
    static func row(_ row: Row, limit: Int) -> String {
        "{" + row.columns.keys.sorted().map { "\($0): \(value(row.columns[$0]!, limit: limit))" }.joined(separator: ", ") + "}"
    }

    static func rowJSON(_ row: Row, limit: Int) -> String {
        "{" + row.columns.keys.sorted().map { "\(jsonString($0)):\(valueJSON(row.columns[$0]!, limit: limit))" }.joined(separator: ",") + "}"
    }

    /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a character boundary.
    private static func prefix(_ text: String, bytes: Int) -> String {
        var count = 0
        var out = ""
        for character in text {
            count += character.utf8.count
            if count > bytes { break }
            out.append(character)
        }
        return out
    }
}

/// The name of a file in a path.
func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
