import ArgumentParser
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

struct StoreVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a data directory: every log segment header, frame checksum and LSN; the manifest; every index file block.",
        discussion: """
            Read-only: takes no lock and changes no file, so it runs on a live directory (a frame being \
            written may then show as a torn tail). Exit status: 0 clean; 1 damage found (each finding \
            names the file and byte offset, or the LSN); 2 usage error. A torn tail (a crash mid-write) \
            is reported but is not damage: the next open truncates it. LSNs lost in an earlier repair \
            are listed as notes.
            --full also decompresses every frame and decodes every record, and checks that the index \
            and the log agree: it replays the whole log in memory and compares every row with what the \
            index files (plus the log after the checkpoint) return. It holds one copy of every row in \
            memory. A progress bar goes to stderr when stderr is a terminal (plain lines otherwise).
            Examples:
              annals store verify ./annals-data
              annals store verify ./annals-data --full --json | jq .findings
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(help: "Also decode every record and check that the index and the log agree.")
    var full = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// Rows listed when the index and the log disagree (the rest are counted).
    static let maxRowFindings = 20

    struct Finding {
        var kind: String
        var file: String?
        var offset: Int64?
        var lsn: UInt64?
        var message: String
        var text: String
        var damage: Bool
    }

    func run() async throws {
        let progress = ScanProgress("verify")
        let inspected = try DirectoryReport.read(directory, decompress: full) { progress.segment($0, of: $1, path: $2) }
        progress.finish()
        let (report, index) = (inspected.log, inspected.index)
        var findings: [Finding] = report.findings.map { finding in
            Finding(
                kind: finding.kind.rawValue, file: finding.path, offset: finding.offset, lsn: finding.expectedLSN,
                message: finding.message, text: finding.description, damage: finding.kind == .corruption)
        }
        findings += index.findings.map {
            Finding(kind: "corruption", file: $0.path, offset: $0.offset, lsn: nil, message: $0.description, text: $0.description, damage: true)
        }
        if full && report.corruption.isEmpty && index.findings.isEmpty {
            findings += try compareIndexWithLog(manifest: index.manifest, progress: progress)
        }
        var notes = index.notes
        for range in report.holes.ranges {
            notes.append("\(range.lsnSubject) lost in a repair (declared in \(joinPath(directory, LogHoles.Format.fileName)))")
        }
        let records = report.segments.reduce(0) { $0 + $1.records }
        let damage = findings.filter(\.damage).count
        if json {
            var fields: [String] = []
            fields.append("\"directory\":\(jsonString(directory))")
            fields.append("\"clean\":\(damage == 0)")
            fields.append("\"full\":\(full)")
            fields.append("\"segments\":\(report.segments.count)")
            fields.append("\"records\":\(records)")
            fields.append("\"lastLSN\":\(report.nextLSN - 1)")
            fields.append("\"indexFiles\":\(index.files.count)")
            fields.append("\"checkpointLSN\":\(index.manifest?.checkpointLSN ?? 0)")
            fields.append("\"lostLSNs\":[" + report.holes.ranges.map { "[\($0.lowerBound),\($0.upperBound - 1)]" }.joined(separator: ",") + "]")
            let items = findings.map { finding in
                var item = ["\"kind\":\(jsonString(finding.kind))", "\"damage\":\(finding.damage)"]
                if let file = finding.file { item.append("\"file\":\(jsonString(file))") }
                if let offset = finding.offset { item.append("\"offset\":\(offset)") }
                if let lsn = finding.lsn { item.append("\"lsn\":\(lsn)") }
                item.append("\"message\":\(jsonString(finding.text))")
                return "{" + item.joined(separator: ",") + "}"
            }
            fields.append("\"findings\":[" + items.joined(separator: ",") + "]")
            fields.append("\"notes\":[" + notes.map(jsonString).joined(separator: ",") + "]")
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            for finding in findings { print(finding.text) }
            for note in notes { print("note: \(note)") }
            if damage == 0 {
                let agreement = full ? "; index and log agree" : ""
                print("ok: \(report.segments.count) segment(s), \(records) record(s), last LSN \(report.nextLSN - 1); \(index.files.count) index file(s), checkpoint LSN \(index.manifest?.checkpointLSN ?? 0)\(agreement)")
            } else {
                print("damaged: \(damage) finding(s) of corruption")
            }
        }
        if damage > 0 { throw ExitCode(1) }
    }

    /// Replays the log (the truth) and compares every row with what the index returns.
    private func compareIndexWithLog(manifest: Manifest?, progress: ScanProgress) throws -> [Finding] {
        let fileSystem = try requireDirectory(directory)
        let expected = try StoreContents.replayLog(directory: directory, fileSystem: fileSystem) {
            progress.segment($0, of: $1, path: $2)
        }
        progress.finish()
        let actual = try StoreContents.indexedRows(directory: directory, fileSystem: fileSystem, manifest: manifest)
        var findings: [Finding] = []
        var disagreements = 0
        let keys = Set(expected.keys).union(actual.keys).sorted()
        for key in keys {
            let want = expected[key]?.encodedRow
            let have = actual[key]?.encodedRow
            guard want != have else { continue }
            disagreements += 1
            guard disagreements <= Self.maxRowFindings else { continue }
            let name = key.parts.map { "\(jsonString($0.table)) \(Readable.key($0.partition)) \(Readable.key($0.clustering))" }
                ?? "<key 0x\(Readable.hexBytes(key.bytes))>"
            func describe(_ version: StoreContents.Version?) -> String {
                guard let version else { return "nothing" }
                return version.encodedRow == nil ? "a deletion at LSN \(version.lsn)" : "a row written at LSN \(version.lsn)"
            }
            let both = want != nil && have != nil ? " with other contents" : ""
            let message = "index and log disagree on \(name): the log has \(describe(expected[key])), the index returns \(describe(actual[key]))\(both)"
            findings.append(Finding(
                kind: "index mismatch", file: nil, offset: nil, lsn: expected[key]?.lsn ?? actual[key]?.lsn, message: message,
                text: "corruption: \(message)", damage: true))
        }
        if disagreements > Self.maxRowFindings {
            let message = "\(disagreements - Self.maxRowFindings) more row(s) where the index and the log disagree"
            findings.append(Finding(kind: "index mismatch", file: nil, offset: nil, lsn: nil, message: message, text: "corruption: \(message)", damage: true))
        }
        return findings
    }
}
