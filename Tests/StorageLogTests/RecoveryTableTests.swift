import StorageCodec
import StorageIO
import StorageLog
import StorageTesting
import Testing

/// The recovery decision table of docs/recovery.md, one row per case. Each row builds a log of
/// two segments (LSNs 1–20 then 21–40, one record per frame, a seal frame at the end), damages
/// it, and reopens.
@Suite("Recovery decision table")
struct RecoveryTableTests {
    enum Outcome: Equatable {
        /// Opens; recovery reports `finding` and the log then holds LSNs 1...lastLSN.
        case opens(finding: RecoveryFinding.Kind?, lastLSN: UInt64)
        /// Refuses to open with a corruption error naming this file (by segment first LSN).
        case refuses(segment: UInt64)
    }

    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var damage: @Sendable (MemFileSystem, [String]) -> Void
        var outcome: Outcome
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "clean shutdown", damage: { _, _ in }, outcome: .opens(finding: nil, lastLSN: 40)),
        Row(name: "seal frame removed (crash after the last append)", damage: { fs, paths in
            truncate(fs, paths[1], by: 48)
        }, outcome: .opens(finding: nil, lastLSN: 40)),
        Row(name: "last frame cut short", damage: { fs, paths in
            truncate(fs, paths[1], by: 48 + 20)
        }, outcome: .opens(finding: .tornTail, lastLSN: 39)),
        Row(name: "last frame cut inside its header", damage: { fs, paths in
            let frame = lastDataFrameOffset(fs, paths[1])
            setSize(fs, paths[1], frame + 20)
        }, outcome: .opens(finding: .tornTail, lastLSN: 39)),
        Row(name: "zeroed space after the last frame (preallocation)", damage: { fs, paths in
            append(fs, paths[1], [UInt8](repeating: 0, count: 4096))
        }, outcome: .opens(finding: nil, lastLSN: 40)),
        Row(name: "garbage after the last frame", damage: { fs, paths in
            truncate(fs, paths[1], by: 48)
            append(fs, paths[1], Array("partial garbage from a torn write".utf8))
        }, outcome: .opens(finding: .tornTail, lastLSN: 40)),
        Row(name: "bit flip in the last data frame's payload, seal lost (torn)", damage: { fs, paths in
            truncate(fs, paths[1], by: 48)
            flip(fs, paths[1], at: lastDataFrameOffset(fs, paths[1]) + 50)
        }, outcome: .opens(finding: .tornTail, lastLSN: 39)),
        Row(name: "bit flip in the last data frame when a seal follows", damage: { fs, paths in
            flip(fs, paths[1], at: lastDataFrameOffset(fs, paths[1]) + 50)
        }, outcome: .refuses(segment: 21)),
        Row(name: "bit flip in a middle frame header of the last segment", damage: { fs, paths in
            flip(fs, paths[1], at: 32 + 8)
        }, outcome: .refuses(segment: 21)),
        Row(name: "bit flip in a payload of the first segment", damage: { fs, paths in
            flip(fs, paths[0], at: 32 + 60)
        }, outcome: .refuses(segment: 1)),
        Row(name: "first segment truncated (not the last segment)", damage: { fs, paths in
            truncate(fs, paths[0], by: 30)
        }, outcome: .refuses(segment: 1)),
        Row(name: "bit flip in a segment header", damage: { fs, paths in
            flip(fs, paths[0], at: 3)
        }, outcome: .refuses(segment: 1)),
        Row(name: "oldest segment deleted (retention)", damage: { fs, paths in
            try? fs.removeFile(paths[0])
            try? fs.syncDirectory(testDirectory)
        }, outcome: .opens(finding: nil, lastLSN: 40)),
        Row(name: "torn creation of a new last segment (header only partly written)", damage: { fs, paths in
            fs.setContents(of: testDirectory + "/" + SegmentHeader.fileName(firstLSN: 41), Array(SegmentHeader(firstLSN: 41).encoded().prefix(11)))
        }, outcome: .opens(finding: .tornSegmentCreation, lastLSN: 40)),
        Row(name: "new last segment with an empty file", damage: { fs, paths in
            fs.setContents(of: testDirectory + "/" + SegmentHeader.fileName(firstLSN: 41), [])
        }, outcome: .opens(finding: .tornSegmentCreation, lastLSN: 40)),
        Row(name: "segment file name disagrees with its header", damage: { fs, paths in
            fs.setContents(of: testDirectory + "/" + SegmentHeader.fileName(firstLSN: 41), SegmentHeader(firstLSN: 99).encoded())
        }, outcome: .refuses(segment: 41)),
        Row(name: "gap: a later segment starts past the end", damage: { fs, paths in
            fs.setContents(of: testDirectory + "/" + SegmentHeader.fileName(firstLSN: 50), SegmentHeader(firstLSN: 50).encoded())
        }, outcome: .refuses(segment: 50)),
    ]

    @Test(arguments: rows)
    func row(_ row: Row) async throws {
        let fs = MemFileSystem()
        let paths = try await Self.buildTwoSegments(fs)
        row.damage(fs, paths)
        do {
            let log = try Log.open(directory: testDirectory, fileSystem: fs)
            defer { Task { await log.close() } }
            guard case .opens(let finding, let lastLSN) = row.outcome else {
                Issue.record("\(row.name): opened, expected refusal; findings \(log.recovery.findings)")
                return
            }
            #expect(log.recovery.findings.map(\.kind) == (finding.map { [$0] } ?? []), "\(row.name)")
            let scanned = try scanAll(log)
            let first: UInt64 = row.name == "oldest segment deleted (retention)" ? 21 : 1
            #expect(scanned.map(\.0) == (lastLSN >= first ? Array(first...lastLSN) : []), "\(row.name)")
            for (lsn, bytes) in scanned { #expect(bytes == Self.record(lsn), "\(row.name): LSN \(lsn)") }
            #expect(try await log.append([0xAB]).lsn == lastLSN + 1, "\(row.name): appends continue")
            await log.close()
            // And the repaired log reopens cleanly.
            let again = try Log.open(directory: testDirectory, fileSystem: fs)
            #expect(again.recovery.findings.isEmpty, "\(row.name): \(again.recovery.findings)")
            await again.close()
        } catch let error as StorageError {
            guard case .refuses(let segment) = row.outcome else {
                Issue.record("\(row.name): refused with \(error), expected to open")
                return
            }
            #expect(error.code == .corruption, "\(row.name)")
            #expect(error.path == testDirectory + "/" + SegmentHeader.fileName(firstLSN: segment), "\(row.name): \(error)")
            #expect(error.offset != nil)
            // Refusing changes nothing: a second attempt reports the same.
            #expect(throws: StorageError.self) { _ = try Log.open(directory: testDirectory, fileSystem: fs) }
        }
    }

    /// 156 bytes, so each frame (48-byte header, 4-byte length, record) is exactly 208 bytes and
    /// a 4096-byte segment rolls after exactly 20 frames: 32 + 19 × 208 < 4096 ≤ 32 + 20 × 208.
    static func record(_ lsn: UInt64) -> [UInt8] {
        let text = Array("record \(lsn) ".utf8)
        return text + [UInt8](repeating: UInt8(lsn % 256), count: 156 - text.count)
    }

    /// Two segments, LSNs 1–20 and 21–40, one record per frame, uncompressed, then a seal frame.
    static func buildTwoSegments(_ fs: MemFileSystem) async throws -> [String] {
        let options = LogOptions(segmentBytes: 4096, compression: false)
        let log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
        for lsn in UInt64(1)...40 { _ = try await log.append(record(lsn)) }
        await log.close()
        let files = segmentFiles(fs)
        precondition(files == [SegmentHeader.fileName(firstLSN: 1), SegmentHeader.fileName(firstLSN: 21)], "got \(files)")
        return files.map { testDirectory + "/" + $0 }
    }
}

// MARK: Damage helpers

func truncate(_ fs: MemFileSystem, _ path: String, by count: Int) {
    let bytes = fs.contents(of: path)!
    fs.setContents(of: path, Array(bytes.dropLast(count)))
}

func setSize(_ fs: MemFileSystem, _ path: String, _ size: Int) {
    fs.setContents(of: path, Array(fs.contents(of: path)!.prefix(size)))
}

func append(_ fs: MemFileSystem, _ path: String, _ extra: [UInt8]) {
    fs.setContents(of: path, fs.contents(of: path)! + extra)
}

func flip(_ fs: MemFileSystem, _ path: String, at offset: Int) {
    var bytes = fs.contents(of: path)!
    bytes[offset] ^= 0x04
    fs.setContents(of: path, bytes)
}

/// The offset of the last records frame in a segment file (walking frame headers).
func lastDataFrameOffset(_ fs: MemFileSystem, _ path: String) -> Int {
    let bytes = fs.contents(of: path)!
    var offset = SegmentHeader.Format.size
    var last = offset
    while offset + FrameHeader.Format.size <= bytes.count {
        guard case .success(let header) = bytes.withUnsafeBytes({
            FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + FrameHeader.Format.size)]))
        }) else { break }
        if header.kind == .records { last = offset }
        offset += header.frameLength
    }
    return last
}
