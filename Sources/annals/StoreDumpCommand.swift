import ArgumentParser
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

struct StoreDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print a data directory's log records (LSN and batch writes) or its current rows, readably.",
        discussion: """
            Read-only: takes no lock and changes no file, so it runs on a live directory (it reads up to \
            the last complete frame it sees). Keys are decoded with the self-describing key encoding and \
            printed as tuples, e.g. ("orders", 42); values print as "text" when they are printable UTF-8, \
            else as 0x hex, cut after --max-value-bytes with the full length shown.
            --table and --partition select writes (a partition as printed by dump, e.g. '("p1")', or as \
            hex of its encoding, e.g. hex:2070310001 for ("p1")). --rows prints the rows the store would return \
            (index files, then the log after the checkpoint) instead of the records. Status notes \
            (holes, torn tail, damage) go to stderr.
            Examples:
              annals store dump ./annals-data --from-lsn 100 --limit 10
              annals store dump ./annals-data --table executions --partition '("wf-1")' --json
              annals store dump ./annals-data --rows --table history
            """)

    @Argument(help: "The data directory.") var directory: String
    @Option(help: "Only writes to this table.") var table: String?
    @Option(help: "Only writes to this partition key (as dump prints it, or hex:<encoded bytes>).") var partition: String?
    @Option(help: "Start at this LSN.") var fromLSN: UInt64 = 1
    @Option(help: "Print at most this many records (or rows).") var limit: Int?
    @Flag(help: "Print the current rows instead of the log records.") var rows = false
    @Flag(help: "Print one JSON object per line.") var json = false
    @Option(help: "Cut values after this many bytes (0: never).") var maxValueBytes = 64

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if maxValueBytes < 0 { throw ValidationError("--max-value-bytes must not be negative") }
        if fromLSN == 0 { throw ValidationError("--from-lsn must be at least 1 (LSNs start at 1)") }
        if let partition, partition.hasPrefix("hex:"), Self.parseHex(String(partition.dropFirst(4))) == nil {
            throw ValidationError("--partition hex:… must be an even number of hex digits")
        }
    }

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        if rows { try dumpRows(fileSystem) } else { try dumpRecords(fileSystem) }
    }

    private func selects(table writeTable: String, partition key: [UInt8]) -> Bool {
        if let table, table != writeTable { return false }
        guard let partition else { return true }
        if partition.hasPrefix("hex:") { return Self.parseHex(String(partition.dropFirst(4))) == key }
        let printed = Readable.key(key)
        return printed == partition || printed == "(\(partition))"
    }

    private func dumpRecords(_ fileSystem: PosixFileSystem) throws {
        var printed = 0
        let report = try LogRecovery.scanRecords(directory: directory, fileSystem: fileSystem, from: fromLSN) { lsn, bytes, path, offset in
            if let limit, printed >= limit { return false }
            let record: BatchRecord
            do {
                record = try BatchRecord.decode(Array(bytes), lsn: lsn)
            } catch {
                // Checksummed but not a batch this version reads: show it and go on.
                printed += 1
                let raw = Readable.value(Array(bytes), limit: maxValueBytes)
                if json {
                    print("{\"lsn\":\(lsn),\"segment\":\(jsonString(baseName(path))),\"frameOffset\":\(offset),\"undecodable\":\(jsonString("\(error)")),\"bytes\":\(bytes.count)}")
                } else {
                    print("LSN \(lsn)  \(baseName(path)) frame @\(offset)  undecodable record (\(error)): \(raw)")
                }
                return true
            }
            let writes = record.writes.filter { selects(table: $0.table, partition: $0.partition) }
            if writes.isEmpty && (table != nil || partition != nil) { return true }
            printed += 1
            if json {
                let items = writes.map { write in
                    var fields = [
                        "\"op\":\"\(write.row == nil ? "delete" : "put")\"", "\"table\":\(jsonString(write.table))",
                        "\"partition\":\(jsonString(Readable.key(write.partition)))",
                        "\"clustering\":\(jsonString(Readable.key(write.clustering)))",
                    ]
                    if let row = write.row { fields.append("\"columns\":\(Readable.rowJSON(row, limit: maxValueBytes))") }
                    return "{" + fields.joined(separator: ",") + "}"
                }
                print("{\"lsn\":\(lsn),\"segment\":\(jsonString(baseName(path))),\"frameOffset\":\(offset),\"writes\":[\(items.joined(separator: ","))]}")
            } else {
                let shown = writes.count == record.writes.count ? "\(writes.count)" : "\(writes.count) of \(record.writes.count)"
                print("LSN \(lsn)  \(baseName(path)) frame @\(offset)  \(shown) write(s)")
                for write in writes {
                    let target = "\(jsonString(write.table)) \(Readable.key(write.partition)) \(Readable.key(write.clustering))"
                    if let row = write.row {
                        print("  put    \(target)  \(Readable.row(row, limit: maxValueBytes))")
                    } else {
                        print("  delete \(target)")
                    }
                }
            }
            return true
        }
        if let report { printNotes(report) }
    }

    private func dumpRows(_ fileSystem: PosixFileSystem) throws {
        let manifest = try Manifest.load(from: directory, fileSystem: fileSystem)
        let contents = try StoreContents.indexedRows(directory: directory, fileSystem: fileSystem, manifest: manifest)
        var printed = 0
        for (key, version) in contents.sorted(by: { $0.key < $1.key }) {
            if let limit, printed >= limit { break }
            guard let encoded = version.encodedRow, let parts = key.parts, version.lsn >= fromLSN,
                selects(table: parts.table, partition: parts.partition)
            else { continue }
            let row = try Row(encoded: encoded, what: "row written at LSN \(version.lsn)")
            printed += 1
            if json {
                print("{\"table\":\(jsonString(parts.table)),\"partition\":\(jsonString(Readable.key(parts.partition))),\"clustering\":\(jsonString(Readable.key(parts.clustering))),\"lsn\":\(version.lsn),\"columns\":\(Readable.rowJSON(row, limit: maxValueBytes))}")
            } else {
                print("\(jsonString(parts.table)) \(Readable.key(parts.partition)) \(Readable.key(parts.clustering))  LSN \(version.lsn)  \(Readable.row(row, limit: maxValueBytes))")
            }
        }
    }

    private func printNotes(_ report: RecoveryReport) {
        for range in report.holes.ranges { printError("note: \(range.lsnSubject) lost in a repair (\(LogHoles.Format.fileName))") }
        for finding in report.findings { printError("note: \(finding)") }
    }

    static func parseHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}
