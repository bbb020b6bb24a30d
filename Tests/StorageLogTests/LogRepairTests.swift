import StorageCodec
import StorageIO
import StorageLog
import StorageTesting
import Testing

/// `LogHoles` and `LogRepair` on the in-memory file system: the holes file's format, recovery
/// accepting exactly the declared gaps, and repairs that keep every readable frame.
@Suite("Log repair")
struct LogRepairTests {
    @Test func holesMergeRoundTripAndRejectDamage() throws {
        var holes = LogHoles([10..<12, 20..<25])
        holes.insert(12..<14)  // adjacent: merges
        holes.insert(22..<30)  // overlapping: merges
        #expect(holes.ranges == [10..<14, 20..<30])
        #expect(holes.covers(11..<14) && holes.covers(20..<30) && !holes.covers(13..<21) && holes.covers(5..<5))
        let bytes = holes.encoded()
        #expect(bytes.count == LogHoles.Format.headerSize + 2 * LogHoles.Format.rangeSize + 8)
        #expect(try LogHoles.decode(bytes, path: "HOLES") == holes)
        for offset in [0, 8, 12, 20, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 0x04
            #expect(throws: StorageError.self) { _ = try LogHoles.decode(damaged, path: "HOLES") }
        }
        #expect((5..<6).lsnDescription == "5" && (5..<9).lsnDescription == "5...8")
    }

    /// Two segments (LSNs 1–20 and 21–40, one record per frame) on `fs`.
    func build(_ fs: MemFileSystem) async throws -> [String] {
        let paths = try await RecoveryTableTests.buildTwoSegments(fs)
        #expect(paths.count == 2)
        return paths
    }

    @Test func recoveryAcceptsOnlyDeclaredGaps() async throws {
        let fs = MemFileSystem()
        let paths = try await build(fs)
        // Drop LSNs 21...23 by making the second segment start at 24: rewrite it from its frames.
        let second = fs.contents(of: paths[1])!
        let frames = walk(second)
        let kept = Array(second[Int(frames[3])...])
        fs.setContents(of: testDirectory + "/" + SegmentHeader.fileName(firstLSN: 24), SegmentHeader(firstLSN: 24).encoded() + kept)
        try fs.removeFile(paths[1])
        #expect(throws: StorageError.self) { _ = try Log.open(directory: testDirectory, fileSystem: fs) }

        try LogHoles([21..<23]).store(in: testDirectory, fileSystem: fs)  // not all of the gap
        #expect(throws: StorageError.self) { _ = try Log.open(directory: testDirectory, fileSystem: fs) }

        try LogHoles([21..<24]).store(in: testDirectory, fileSystem: fs)
        let log = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(log.recovery.holes.ranges == [21..<24])
        let lsns = try scanAll(log).map(\.0)
        #expect(lsns == Array(1...20) + Array(24...40))
        #expect(throws: StorageError.self) { _ = try log.read(22) }
        #expect(try log.read(24) == RecoveryTableTests.record(24))
        let position = try await log.append([1, 2, 3])
        #expect(position.lsn == 41)
        await log.close()
    }

    @Test func repairKeepsEveryReadableFrameAndDeclaresTheLostOnes() async throws {
        let fs = MemFileSystem()
        let paths = try await build(fs)
        let frames = walk(fs.contents(of: paths[0])!)
        flip(fs, paths[0], at: Int(frames[6]) + FrameHeader.Format.size + 1)  // LSN 7's payload
        flip(fs, paths[0], at: Int(frames[12]) + 3)  // LSN 13's header

        let plan = try LogRepair.plan(directory: testDirectory, fileSystem: fs)
        #expect(plan.lost == [7..<8, 13..<14])
        #expect(plan.removals.map(\.start) == [frames[6], frames[12]])
        #expect(plan.removals.allSatisfy { !$0.tornTail })
        guard case .rewrite(let pieces) = plan.changes.first?.action else {
            Issue.record("the damaged segment is rewritten: \(plan.changes)")
            return
        }
        #expect(pieces.map { $0.firstLSN..<$0.nextLSN } == [1..<7, 8..<13, 14..<21])
        try LogRepair.apply(plan, quarantine: testDirectory + "/quarantine/t", fileSystem: fs)

        // Quarantine: the whole original and each removed range.
        let quarantined = try fs.contentsOfDirectory(testDirectory + "/quarantine/t").sorted()
        #expect(quarantined.count == 3, "\(quarantined)")
        #expect(try fs.contentsOfDirectory(testDirectory + "/quarantine/t/original") == [baseName(paths[0])])

        let log = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(log.recovery.findings.isEmpty)
        let records = try scanAll(log)
        #expect(records.map(\.0) == Array(1...6) + Array(8...12) + Array(14...40))
        for (lsn, bytes) in records { #expect(bytes == RecoveryTableTests.record(lsn)) }
        await log.close()
        #expect(try LogRepair.plan(directory: testDirectory, fileSystem: fs).isEmpty, "a second repair has nothing to do")
    }

    @Test func repairTruncatesATornTailWithoutDeclaringLosses() async throws {
        let fs = MemFileSystem()
        let paths = try await build(fs)
        append(fs, paths[1], [UInt8](repeating: 0xAB, count: 100))
        let plan = try LogRepair.plan(directory: testDirectory, fileSystem: fs)
        #expect(plan.lost.isEmpty)
        #expect(plan.removals.count == 1 && plan.removals[0].tornTail)
        #expect(plan.changes.count == 1)
        if case .truncate = plan.changes[0].action {} else { Issue.record("\(plan.changes)") }
        try LogRepair.apply(plan, quarantine: testDirectory + "/quarantine/t", fileSystem: fs)
        let log = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(log.recovery.findings.isEmpty)
        #expect(try scanAll(log).count == 40)
        await log.close()
    }

    @Test func repairOfAMissingSegmentDeclaresItsLSNs() async throws {
        let fs = MemFileSystem()
        var paths = try await build(fs)
        // A third segment, then lose the second.
        let log = try Log.open(directory: testDirectory, fileSystem: fs, options: LogOptions(segmentBytes: 4096, compression: false))
        for lsn in 41...70 { _ = try await log.append(RecoveryTableTests.record(UInt64(lsn))) }
        await log.close()
        paths = segmentFiles(fs).map { testDirectory + "/" + $0 }
        #expect(paths.count >= 3)
        let firstOfThird = SegmentHeader.firstLSN(fromFileName: baseName(paths[2]))!
        try fs.removeFile(paths[1])
        let plan = try LogRepair.plan(directory: testDirectory, fileSystem: fs)
        #expect(plan.lost == [21..<firstOfThird])
        #expect(plan.changes.isEmpty && plan.removals.isEmpty)
        try LogRepair.apply(plan, quarantine: testDirectory + "/quarantine/t", fileSystem: fs)
        let reopened = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(try scanAll(reopened).map(\.0) == Array(1...20) + Array(firstOfThird...70))
        await reopened.close()
    }

    @Test func aDamagedHolesFileIsRefusedThenReplacedByRepair() async throws {
        let fs = MemFileSystem()
        let paths = try await build(fs)
        let frames = walk(fs.contents(of: paths[0])!)
        flip(fs, paths[0], at: Int(frames[3]) + FrameHeader.Format.size)  // LSN 4
        try LogRepair.apply(try LogRepair.plan(directory: testDirectory, fileSystem: fs), quarantine: testDirectory + "/q1", fileSystem: fs)
        flip(fs, testDirectory + "/" + LogHoles.Format.fileName, at: 17)
        let refused = expectStorageError(.corruption) { _ = try Log.open(directory: testDirectory, fileSystem: fs) }
        #expect(refused?.path == testDirectory + "/" + LogHoles.Format.fileName, "\(String(describing: refused))")

        let plan = try LogRepair.plan(directory: testDirectory, fileSystem: fs)
        #expect(plan.holesFileDamaged && plan.lost == [4..<5])
        try LogRepair.apply(plan, quarantine: testDirectory + "/q2", fileSystem: fs)
        #expect(fs.contents(of: testDirectory + "/q2/" + LogHoles.Format.fileName + ".bad") != nil)
        let log = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(try scanAll(log).map(\.0) == Array(1...3) + Array(5...40))
        await log.close()
    }

    /// Offsets of the frames of a segment's bytes.
    func walk(_ bytes: [UInt8]) -> [Int64] {
        var offset = SegmentHeader.Format.size
        var out: [Int64] = []
        while offset + FrameHeader.Format.size <= bytes.count {
            let decoded = bytes.withUnsafeBytes { FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + FrameHeader.Format.size)])) }
            guard case .success(let header) = decoded else { break }
            out.append(Int64(offset))
            offset += header.frameLength
        }
        return out
    }

    func baseName(_ path: String) -> String { String(path.split(separator: "/").last!) }
}
