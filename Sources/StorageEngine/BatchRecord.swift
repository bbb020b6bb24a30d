import StorageCodec
import StorageIO

/// The log record of one applied batch: materialized row images (puts) and deletes.
/// Layout: docs/format/batch.md. `package` so the recovery tools (`annals store dump`, `verify
/// --full`, `stats`) can decode records they read from the log without opening the store.
package struct BatchRecord: Equatable {
    // Part of the on-disk format. Never change; add a new version instead.
    enum Format {
        static let version: UInt8 = 1
        static let put: UInt8 = 1
        static let delete: UInt8 = 2
    }

    package struct Write: Equatable {
        package let table: String
        package let partition: [UInt8]
        package let clustering: [UInt8]
        /// nil: delete the row.
        package let row: Row?
        /// `row` in its encoding, made once: the log record and the index entry share it.
        package let encodedRow: [UInt8]?

        init(table: String, partition: [UInt8], clustering: [UInt8], row: Row?, encodedRow: [UInt8]? = nil) {
            self.table = table
            self.partition = partition
            self.clustering = clustering
            self.row = row
            self.encodedRow = encodedRow ?? row.map { row in
                var bytes: [UInt8] = []
                row.encode(into: &bytes)
                return bytes
            }
        }
    }

    package var writes: [Write]

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(writes.reduce(5) {
            $0 + 11 + $1.table.utf8.count + $1.partition.count + $1.clustering.count + ($1.encodedRow?.count ?? 0)
        })
        out.append(Format.version)
        out.appendLE(UInt32(writes.count))
        for write in writes {
            out.append(write.row == nil ? Format.delete : Format.put)
            out.appendLE(UInt16(write.table.utf8.count))
            out.append(contentsOf: write.table.utf8)
            out.appendLE(UInt32(write.partition.count))
            out.append(contentsOf: write.partition)
            out.appendLE(UInt32(write.clustering.count))
            out.append(contentsOf: write.clustering)
            if let encoded = write.encodedRow { out.append(contentsOf: encoded) }
        }
        return out
    }

    package static func decode(_ bytes: [UInt8], lsn: UInt64) throws -> BatchRecord {
        var reader = ByteReader(bytes, subject: .atLSN("batch record at LSN", lsn))
        do {
            let version = try reader.u8()
            guard version == Format.version else {
                throw StorageError(.corruption, "batch record at LSN \(lsn) has unknown version \(version)", offset: 0)
            }
            let count = try reader.u32()
            var writes: [Write] = []
            for _ in 0..<count {
                let kind = try reader.u8()
                guard kind == Format.put || kind == Format.delete else {
                    throw StorageError(.corruption, "batch record at LSN \(lsn) has unknown write kind \(kind)", offset: Int64(reader.offset - 1))
                }
                let table = try reader.string(Int(try reader.u16()))
                let partition = try reader.bytes(Int(try reader.u32()))
                let clustering = try reader.bytes(Int(try reader.u32()))
                let rowStart = reader.offset
                let row = kind == Format.put ? try Row.decode(&reader) : nil
                let encoded = row == nil ? nil : Array(bytes[rowStart..<reader.offset])
                writes.append(Write(table: table, partition: partition, clustering: clustering, row: row, encodedRow: encoded))
            }
            guard reader.atEnd else {
                throw StorageError(.corruption, "batch record at LSN \(lsn) has \(bytes.count - reader.offset) trailing bytes", offset: Int64(reader.offset))
            }
            return BatchRecord(writes: writes)
        }
    }
}
