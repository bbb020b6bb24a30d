import ArgumentParser
import StorageIO
import StorageIndex
import StorageLog

struct StoreStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print segments, bytes on disk, logical bytes and compression ratio of a data directory's log.",
        discussion: "Read-only: scans the log without taking the directory lock or changing any file.\nExample: annals store stats ./annals-data")

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() async throws {
        let inspected = try DirectoryReport.read(directory)
        let (report, index) = (inspected.log, inspected.index)
        let stats = LogStats(segments: report.segments, durableLSN: report.nextLSN - 1)
        if json {
            var fields: [String] = []
            fields.append("\"directory\":\(jsonString(directory))")
            fields.append("\"segments\":\(stats.segments.count)")
            fields.append("\"records\":\(stats.records)")
            fields.append("\"lastLSN\":\(stats.durableLSN)")
            fields.append("\"bytesOnDisk\":\(stats.bytesOnDisk)")
            fields.append("\"logicalBytes\":\(stats.logicalBytes)")
            fields.append("\"storedPayloadBytes\":\(stats.storedPayloadBytes)")
            fields.append("\"compressionRatio\":\(formatRatio(stats.compressionRatio))")
            fields.append("\"checkpointLSN\":\(index.manifest?.checkpointLSN ?? 0)")
            fields.append("\"indexFiles\":\(index.files.count)")
            fields.append("\"indexBytes\":\(index.files.reduce(0) { $0 + $1.bytes })")
            fields.append("\"indexEntries\":\(index.files.reduce(0) { $0 + $1.record.entries })")
            fields.append("\"bloomBytes\":\(index.files.reduce(0) { $0 + $1.bloomBytes })")
            fields.append("\"findings\":\(report.findings.count + index.findings.count)")
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("directory        \(directory)")
        print("segments         \(stats.segments.count)")
        print("records          \(stats.records)")
        print("last LSN         \(stats.durableLSN)")
        print("bytes on disk    \(stats.bytesOnDisk)")
        print("logical bytes    \(stats.logicalBytes)")
        print("compression      \(formatRatio(stats.compressionRatio))x")
        for (segment, path) in zip(report.segments, report.segmentPaths) {
            let last = segment.lastLSN.map(String.init) ?? "-"
            print("  \(path)  LSN \(segment.firstLSN)...\(last)  frames \(segment.frames)  records \(segment.records)  bytes \(segment.bytes)")
        }
        print("checkpoint LSN   \(index.manifest?.checkpointLSN ?? 0)")
        print("index files      \(index.files.count)")
        for file in index.files {
            print("  \(file.path)  entries \(file.record.entries)  bytes \(file.bytes)  blocks \(file.blocks)  bloom \(file.bloomBytes) B  max LSN \(file.record.maxLSN)")
        }
        let findings = report.findings.map(\.description) + index.findings
        if !findings.isEmpty {
            print("findings (run `annals store verify \(directory)`):")
            for finding in findings { print("  \(finding)") }
        }
    }
}

func formatRatio(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
