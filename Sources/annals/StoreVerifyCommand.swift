import ArgumentParser
import StorageIO
import StorageIndex
import StorageLog

struct StoreVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a data directory: every log segment header, frame checksum and LSN; the manifest; every index file block.",
        discussion: """
            Read-only. Exit status: 0 clean; 1 damage found (each finding names the file and byte offset); \
            2 usage error. A torn tail (a crash mid-write) is reported but is not damage: the next open truncates it.
            Example: annals store verify ./annals-data --full
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(help: "Also decompress every frame and check its record lengths.")
    var full = false

    func run() async throws {
        let inspected = try DirectoryReport.read(directory, decompress: full)
        let (report, index) = (inspected.log, inspected.index)
        let records = report.segments.reduce(0) { $0 + $1.records }
        for finding in report.findings { print(finding) }
        for finding in index.findings { print(finding) }
        for note in index.notes { print("note: \(note)") }
        let damage = report.corruption.count + index.findings.count
        if damage == 0 {
            print("ok: \(report.segments.count) segment(s), \(records) record(s), last LSN \(report.nextLSN - 1); \(index.files.count) index file(s), checkpoint LSN \(index.manifest?.checkpointLSN ?? 0)")
        } else {
            print("damaged: \(damage) finding(s) of corruption")
            throw ExitCode(1)
        }
    }
}
