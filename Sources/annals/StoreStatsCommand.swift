import ArgumentParser
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

struct StoreStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print a data directory's segments (bytes on disk, logical, live and garbage), index files and checkpoint.",
        discussion: """
            Read-only: scans the log without taking the directory lock or changing any file, so it runs on a \
            live directory. Live bytes of a segment are the bytes of the writes in it that still hold the \
            current value of their row (or a deletion hiding an older value still in the log), computed by \
            replaying the whole log; the rest is garbage that log cleaning (`annals store compact`) reclaims. \
            Both count logical (uncompressed) record bytes. Index files are listed oldest first (the index \
            has a single level: newer files shadow older ones, and compaction merges them all into one).
            Examples:
              annals store stats ./annals-data
              annals store stats ./annals-data --json | jq '.segmentDetails[] | .garbageBytes'
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() async throws {
        let inspected = try DirectoryReport.read(directory)
        let (report, index) = (inspected.log, inspected.index)
        let stats = LogStats(segments: report.segments, durableLSN: report.nextLSN - 1)
        let live = report.corruption.isEmpty ? try liveBytes(paths: report.segmentPaths) : nil
        func garbage(_ i: Int) -> Int64? { live.map { max(0, report.segments[i].rawPayloadBytes - $0[i]) } }
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
            fields.append("\"liveBytes\":\(live.map { String($0.reduce(0, +)) } ?? "null")")
            fields.append("\"garbageBytes\":\(live.map { _ in String(report.segments.indices.reduce(Int64(0)) { $0 + garbage($1)! }) } ?? "null")")
            let segmentItems = report.segments.indices.map { i in
                let segment = report.segments[i]
                return "{\"file\":\(jsonString(baseName(report.segmentPaths[i]))),\"firstLSN\":\(segment.firstLSN),\"lastLSN\":\(segment.lastLSN.map(String.init) ?? "null"),\"frames\":\(segment.frames),\"records\":\(segment.records),\"bytesOnDisk\":\(segment.bytes),\"logicalBytes\":\(segment.rawPayloadBytes),\"liveBytes\":\(live.map { String($0[i]) } ?? "null"),\"garbageBytes\":\(garbage(i).map(String.init) ?? "null")}"
            }
            fields.append("\"segmentDetails\":[\(segmentItems.joined(separator: ","))]")
            let fileItems = index.files.map { file in
                "{\"file\":\(jsonString(baseName(file.path))),\"id\":\(file.record.id),\"entries\":\(file.record.entries),\"bytes\":\(file.bytes),\"blocks\":\(file.blocks),\"bloomBytes\":\(file.bloomBytes),\"maxLSN\":\(file.record.maxLSN)}"
            }
            fields.append("\"indexFileDetails\":[\(fileItems.joined(separator: ","))]")
            fields.append("\"lostLSNs\":[" + report.holes.ranges.map { "[\($0.lowerBound),\($0.upperBound - 1)]" }.joined(separator: ",") + "]")
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
        if let live {
            let total = live.reduce(0, +)
            print("live bytes       \(total) (\(percent(total, of: stats.logicalBytes)) of logical)")
            print("garbage bytes    \(max(0, stats.logicalBytes - total))")
        }
        for (i, (segment, path)) in zip(report.segments, report.segmentPaths).enumerated() {
            let last = segment.lastLSN.map(String.init) ?? "-"
            var line = "  \(path)  LSN \(segment.firstLSN)...\(last)  frames \(segment.frames)  records \(segment.records)  bytes \(segment.bytes)  logical \(segment.rawPayloadBytes)"
            if let live, let garbage = garbage(i) { line += "  live \(live[i])  garbage \(garbage) (\(percent(garbage, of: segment.rawPayloadBytes)))" }
            print(line)
        }
        for range in report.holes.ranges { print("lost LSNs        \(range.lsnDescription) (declared by a repair)") }
        print("checkpoint LSN   \(index.manifest?.checkpointLSN ?? 0)")
        print("index files      \(index.files.count)")
        for file in index.files {
            print("  \(file.path)  entries \(file.record.entries)  bytes \(file.bytes)  blocks \(file.blocks)  bloom \(file.bloomBytes) B  max LSN \(file.record.maxLSN)")
        }
        let findings = report.findings.map(\.description) + index.findings.map(\.description)
        if !findings.isEmpty {
            print("findings (run `annals store verify \(directory)`):")
            for finding in findings { print("  \(finding)") }
        }
    }
}

extension StoreStatsCommand {
    /// Live bytes per segment (in `paths` order): the writes that still hold their row's current
    /// value, or a deletion that hides an older value still in the log.
    func liveBytes(paths: [String]) throws -> [Int64] {
        struct Latest {
            var segment: Int
            var bytes: Int64
            var isDelete: Bool
            var olderPut: Bool
        }
        let segmentIndex = Dictionary(uniqueKeysWithValues: paths.enumerated().map { ($1, $0) })
        var latest: [StoreContents.RowKey: Latest] = [:]
        let fileSystem = try requireDirectory(directory)
        try StoreContents.forEachBatch(directory: directory, fileSystem: fileSystem) { _, record, path, _ in
            guard let segment = segmentIndex[path] else { return true }
            for write in record.writes {
                let key = StoreContents.RowKey(table: write.table, partition: write.partition, clustering: write.clustering)
                let previous = latest[key]
                let bytes = Int64(11 + write.table.utf8.count + write.partition.count + write.clustering.count + (write.encodedRow?.count ?? 0))
                latest[key] = Latest(
                    segment: segment, bytes: bytes, isDelete: write.row == nil,
                    olderPut: previous.map { $0.olderPut || !$0.isDelete } ?? false)
            }
            return true
        }
        var live = [Int64](repeating: 0, count: paths.count)
        for entry in latest.values where !entry.isDelete || entry.olderPut { live[entry.segment] += entry.bytes }
        return live
    }
}

func percent(_ part: Int64, of whole: Int64) -> String {
    whole == 0 ? "0%" : "\(Int((Double(part) * 100 / Double(whole)).rounded()))%"
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
