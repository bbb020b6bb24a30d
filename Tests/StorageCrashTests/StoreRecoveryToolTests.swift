import Foundation
import StorageCodec
import StorageEngine
import StorageIO
import StorageLog
import StorageTesting
import Testing

/// The recovery tools as an operator runs them: the real `annals` binary on a small deterministic
/// data directory. Golden outputs live in `Tests/Fixtures/store-tools/` (paths replaced by `DIR`,
/// times by `<time>`); `ANNALS_WRITE_FIXTURES=1` rewrites them after an intended change.
/// The corruption matrix damages the directory in one way per case, then checks that `verify`
/// names the file and byte offset, that `repair --apply` loses exactly the destroyed records and
/// says which, and that afterwards `verify --full` is clean and every other record is there.
@Suite("Store recovery tools", .serialized)
struct StoreRecoveryToolTests {
    // MARK: - The fixture

    /// 120 sequential batches (one frame each) over two tables, with overwrites and deletes, in
    /// 4 KiB segments; small memtables give several index files; no compaction, no cleaning.
    /// `salt` changes every blob (same keys, same LSNs): an index from another variant disagrees.
    static func makeFixture(_ directory: String, salt: Int = 0) async throws {
        try? FileManager.default.removeItem(atPath: directory)
        let options = StoreOptions(
            log: LogOptions(segmentBytes: LogLimits.minSegmentBytes), memtableBytes: 600, compactionTrigger: 1000,
            cleaningRatio: nil)
        let store = try Store.open(directory: directory, options: options)
        for i in 0..<120 {
            let partition = Key(.string(i % 3 == 0 ? "p0" : "p1"))
            var mutations: [Mutation] = [
                .put("orders", partition, Key(.int(Int64(i % 7))), Row([
                    "status": Array((i % 2 == 0 ? "open" : "done").utf8),
                    "blob": (0..<8).map { UInt8(truncatingIfNeeded: i * 31 + $0 * 7 + salt) },
                ]))
            ]
            if i % 10 == 4 {
                mutations.append(.put("notes", Key(.int(Int64(i))), .empty, Row([
                    "text": Array(String(repeating: "note \(i) ", count: 12).utf8)
                ])))
            }
            if i % 9 == 8 { mutations.append(.delete("orders", partition, Key(.int(Int64((i + 3) % 7))))) }
            try await store.write(mutations)
        }
        try await store.flush()
        await store.close()
    }

    struct Frame {
        var offset: Int64
        var header: FrameHeader
    }

    /// Every frame of a segment file, by walking it with the codec.
    static func frames(_ path: String) throws -> [Frame] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = SegmentHeader.Format.size
        var result: [Frame] = []
        while offset + FrameHeader.Format.size <= bytes.count {
            let decoded = bytes.withUnsafeBytes { FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + FrameHeader.Format.size)])) }
            guard case .success(let header) = decoded else { break }
            result.append(Frame(offset: Int64(offset), header: header))
            offset += header.frameLength
        }
        return result
    }

    static func segments(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted().map { directory + "/" + $0 }
    }

    /// Every record of the log by LSN (read with the log itself).
    static func records(_ directory: String) async throws -> [UInt64: [UInt8]] {
        let log = try Log.open(directory: directory)
        var out: [UInt64: [UInt8]] = [:]
        try log.scan(from: 1) { lsn, bytes in
            out[lsn] = Array(bytes)
            return true
        }
        await log.close()
        return out
    }

    // MARK: - Running the tool

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = annalsExecutable()
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // stderr is small (notes, errors); read stdout to its end first, then stderr.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errBytes = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errBytes, as: UTF8.self))
    }

    func normalized(_ text: String, _ directory: String) -> String {
        var out = text.replacingOccurrences(of: directory, with: "DIR")
        out = out.replacingOccurrences(of: #"quarantine/\d{8}T\d{6}Z(-\d+)?"#, with: "quarantine/<time>", options: .regularExpression)
        return out
    }

    func expectGolden(_ name: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = fixturesDirectory() + "/store-tools/" + name + ".txt"
        if writeFixtures {
            try FileManager.default.createDirectory(atPath: fixturesDirectory() + "/store-tools", withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden, "\(name) differs from \(path) (ANNALS_WRITE_FIXTURES=1 rewrites it):\n\(text)", sourceLocation: sourceLocation)
    }

    func scratch(_ name: String) -> String {
        NSTemporaryDirectory() + "annals-recovery-\(getpid())-\(name)"
    }

    // MARK: - Golden outputs

    @Test func goldenOutputs() async throws {
        let directory = scratch("golden")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.makeFixture(directory)

        let verify = try run(["store", "verify", directory, "--full"])
        #expect(verify.status == 0, "\(verify.all)")
        try expectGolden("verify", normalized(verify.all, directory))
        let verifyJSON = try run(["store", "verify", directory, "--json"])
        #expect(verifyJSON.status == 0)
        try expectGolden("verify-json", normalized(verifyJSON.all, directory))

        let stats = try run(["store", "stats", directory])
        #expect(stats.status == 0, "\(stats.all)")
        try expectGolden("stats", normalized(stats.all, directory))
        let statsJSON = try run(["store", "stats", directory, "--json"])
        try expectGolden("stats-json", normalized(statsJSON.all, directory))

        let dump = try run(["store", "dump", directory, "--from-lsn", "3", "--limit", "6"])
        #expect(dump.status == 0, "\(dump.all)")
        try expectGolden("dump", normalized(dump.all, directory))
        let dumpJSON = try run(["store", "dump", directory, "--table", "notes", "--json", "--max-value-bytes", "20"])
        try expectGolden("dump-notes-json", normalized(dumpJSON.all, directory))
        for line in [verifyJSON.stdout, statsJSON.stdout] + dumpJSON.stdout.split(separator: "\n").map(String.init) where !line.isEmpty {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "valid JSON: \(line)")
        }
        let dumpPartition = try run(["store", "dump", directory, "--table", "orders", "--partition", "(\"p0\")", "--limit", "3"])
        try expectGolden("dump-partition", normalized(dumpPartition.all, directory))
        let rows = try run(["store", "dump", directory, "--rows", "--table", "orders"])
        try expectGolden("dump-rows", normalized(rows.all, directory))

        let dryRun = try run(["store", "repair", directory])
        #expect(dryRun.status == 0)
        try expectGolden("repair-clean", normalized(dryRun.all, directory))

        let rebuildPlan = try run(["store", "rebuild-index", directory, "--dry-run"])
        #expect(rebuildPlan.status == 0, "\(rebuildPlan.all)")
        try expectGolden("rebuild-index-dry-run", normalized(rebuildPlan.all, directory))
        let rebuild = try run(["store", "rebuild-index", directory])
        #expect(rebuild.status == 0, "\(rebuild.all)")
        try expectGolden("rebuild-index", normalized(rebuild.all, directory))
        let rowsRebuilt = try run(["store", "dump", directory, "--rows", "--table", "orders"])
        #expect(rowsRebuilt.stdout == rows.stdout, "the rebuilt index returns the same rows")

        let compact = try run(["store", "compact", directory])
        #expect(compact.status == 0, "\(compact.all)")
        try expectGolden("compact", normalized(compact.all, directory))
        let after = try run(["store", "verify", directory, "--full"])
        #expect(after.status == 0, "\(after.all)")
        let rowsAfter = try run(["store", "dump", directory, "--rows", "--table", "orders"])
        #expect(rowsAfter.stdout == rows.stdout, "compaction and cleaning keep every row")
    }

    @Test func usageErrorsExitWithTwoAndEveryCommandHasExamples() throws {
        let missing = try run(["store", "verify"])
        #expect(missing.status == 2, "\(missing.all)")
        let unknown = try run(["store", "verify", "/tmp", "--no-such-flag"])
        #expect(unknown.status == 2, "\(unknown.all)")
        let notDirectory = try run(["store", "verify", "/dev/null/nope"])
        #expect(notDirectory.status == 2, "\(notDirectory.all)")
        for command in ["verify", "dump", "stats", "repair", "rebuild-index", "compact"] {
            let help = try run(["store", command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("annals store \(command) "), "\(command) --help shows an example")
        }
    }

    @Test func readOnlyCommandsWorkOnALiveDirectoryAndMutatingOnesRefuseIt() async throws {
        let directory = scratch("live")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.makeFixture(directory)
        // No background compaction or cleaning, and nothing to flush: the store writes nothing until the next batch.
        let store = try Store.open(directory: directory, options: StoreOptions(compactionTrigger: 1000, cleaningRatio: nil))
        try await store.flush()
        func files() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
                let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)
                return "\(name) \(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? 0)"
            }
        }
        let before = try files()
        for tool in [["verify", directory, "--full"], ["stats", directory], ["dump", directory, "--limit", "2"], ["dump", directory, "--rows"]] {
            let result = try run(["store"] + tool)
            #expect(result.status == 0, "\(tool): \(result.all)")
        }
        let plan = try run(["store", "repair", directory])
        #expect(plan.status == 0 && plan.stderr.contains("locked by pid \(getpid())"), "a dry run warns: \(plan.all)")
        let after = try files()
        #expect(after == before, "read-only commands changed nothing: \(Set(before).symmetricDifference(after).sorted())")
        for tool in [["repair", directory, "--apply"], ["compact", directory], ["rebuild-index", directory]] {
            let result = try run(["store"] + tool)
            #expect(result.status == 1, "\(tool): \(result.all)")
            #expect(result.all.contains("locked by pid \(getpid())"), "\(tool): \(result.all)")
        }
        try await store.write([.put("orders", Key(.string("p9")), Key(.int(1)), Row(["status": Array("live".utf8)]))])
        await store.close()
    }

    @Test func verifyFullFindsAnIndexThatDisagreesWithTheLog() async throws {
        let directory = scratch("mismatch")
        let other = scratch("mismatch-other")
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: other)
        }
        try await Self.makeFixture(directory)
        try await Self.makeFixture(other, salt: 1)
        // Every index file and the manifest from the other variant: each file is sound on its own.
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: directory) where name.hasSuffix(".sst") || name == "MANIFEST" {
            try fm.removeItem(atPath: directory + "/" + name)
        }
        for name in try fm.contentsOfDirectory(atPath: other) where name.hasSuffix(".sst") || name == "MANIFEST" {
            try fm.copyItem(atPath: other + "/" + name, toPath: directory + "/" + name)
        }
        let quick = try run(["store", "verify", directory])
        #expect(quick.status == 0, "structurally sound: \(quick.all)")
        let full = try run(["store", "verify", directory, "--full"])
        #expect(full.status == 1, "\(full.all)")
        try expectGolden("verify-full-mismatch", normalized(full.all, directory))
        let rebuild = try run(["store", "rebuild-index", directory])
        #expect(rebuild.status == 0, "\(rebuild.all)")
        let again = try run(["store", "verify", directory, "--full"])
        #expect(again.status == 0, "\(again.all)")
    }

    /// Seeded random damage (bit flips, cuts, appended garbage, a removed file) to segments, index
    /// files and the manifest, several at once: repair always leaves a directory that verifies
    /// clean with --full, needs no second repair, and opens.
    @Test func randomDamageAlwaysRepairsToACleanDirectory() async throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x4E9A1)
        print("StoreRecoveryToolTests random damage seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        let directory = scratch("random")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for round in 0..<6 {
            try await Self.makeFixture(directory)
            let fm = FileManager.default
            let names = try fm.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") || $0.hasSuffix(".sst") || $0 == "MANIFEST" }.sorted()
            var done: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let name = names[Int(rng.next() % UInt64(names.count))]
                let path = directory + "/" + name
                guard var bytes = try? Data(contentsOf: URL(fileURLWithPath: path)), !bytes.isEmpty else { continue }
                switch rng.next() % 8 {
                case 0:
                    try fm.removeItem(atPath: path)
                    done.append("remove \(name)")
                    continue
                case 1, 2:
                    let cut = Int(rng.next() % UInt64(bytes.count))
                    bytes = bytes.prefix(cut)
                    done.append("cut \(name) at \(cut)")
                case 3:
                    bytes.append(contentsOf: (0..<(1 + rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                    done.append("append to \(name)")
                default:
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes[at] ^= UInt8(1 << (rng.next() % 8))
                    done.append("flip \(name) at \(at)")
                }
                try bytes.write(to: URL(fileURLWithPath: path))
            }
            let context = "seed \(seed) round \(round): \(done)"
            let repair = try run(["store", "repair", directory, "--apply"])
            #expect(repair.status == 0, "\(context)\n\(repair.all)")
            let verify = try run(["store", "verify", directory, "--full"])
            #expect(verify.status == 0 && !verify.stdout.contains("torn tail"), "\(context)\n\(verify.all)\n\(repair.all)")
            let again = try run(["store", "repair", directory])
            #expect(again.stdout.hasPrefix("nothing to repair"), "\(context)\n\(again.all)")
            let store = try Store.open(directory: directory, options: StoreOptions(cleaningRatio: nil))
            await store.close()
        }
    }

    // MARK: - Corruption matrix

    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case frameHeaderBitFlip, payloadBitFlip, segmentHeaderBitFlip, truncatedMiddleSegment, missingSegment
        case deletedManifest, corruptedIndexFile, garbageAppended, garbageAppendedToMiddleSegment
        /// The last record of a cleanly closed log: the seal frame after it proves it was not torn.
        case payloadBitFlipBeforeSeal
        var testDescription: String { rawValue }
    }

    /// What a case expects: where verify must point, and which LSNs repair must report lost.
    struct Expectation {
        var file: String
        var offset: Int64?
        var lost: [UInt64]
        var verifyStatus: Int32 = 1
    }

    static func damage(_ damage: Damage, in directory: String) throws -> Expectation {
        let segments = try Self.segments(directory)
        let middle = segments[1]
        let frames = try Self.frames(middle)
        func flip(_ path: String, at offset: Int64, _ mask: UInt8 = 0x20) throws {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[Int(offset)] ^= mask
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        switch damage {
        case .frameHeaderBitFlip:
            let frame = frames[2]
            try flip(middle, at: frame.offset + 9)  // inside the first-LSN field
            return Expectation(file: middle, offset: frame.offset, lost: Array(frame.header.firstLSN..<frame.header.nextLSN))
        case .payloadBitFlip:
            let frame = frames[4]
            try flip(middle, at: frame.offset + Int64(FrameHeader.Format.size) + 3)
            return Expectation(file: middle, offset: frame.offset, lost: Array(frame.header.firstLSN..<frame.header.nextLSN))
        case .segmentHeaderBitFlip:
            try flip(middle, at: 2)  // the magic
            return Expectation(file: middle, offset: 0, lost: [])
        case .truncatedMiddleSegment:
            let frame = frames[frames.count / 2]
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: middle))
            try handle.truncate(atOffset: UInt64(frame.offset + 20))
            try handle.close()
            let end = frames.last!.header.nextLSN
            return Expectation(file: middle, offset: frame.offset, lost: Array(frame.header.firstLSN..<end))
        case .missingSegment:
            try FileManager.default.removeItem(atPath: middle)
            return Expectation(file: segments[2], offset: 0, lost: Array(frames.first!.header.firstLSN..<frames.last!.header.nextLSN))
        case .deletedManifest:
            try FileManager.default.removeItem(atPath: directory + "/MANIFEST")
            return Expectation(file: directory + "/MANIFEST", offset: nil, lost: [])
        case .corruptedIndexFile:
            let sst = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sst") }.sorted()[1]
            let path = directory + "/" + sst
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
            try flip(path, at: Int64(size / 3))
            return Expectation(file: path, offset: nil, lost: [])
        case .garbageAppended:
            let last = segments.last!
            let size = try FileManager.default.attributesOfItem(atPath: last)[.size] as! Int
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((0..<300).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }))
            try handle.close()
            // After a crash a torn last frame looks like this: verify reports it, and it is not damage.
            return Expectation(file: last, offset: Int64(size), lost: [], verifyStatus: 0)
        case .payloadBitFlipBeforeSeal:
            let last = segments.last!
            let frame = try Self.frames(last).last { $0.header.kind == .records }!
            try flip(last, at: frame.offset + Int64(FrameHeader.Format.size) + 1)
            return Expectation(file: last, offset: frame.offset, lost: Array(frame.header.firstLSN..<frame.header.nextLSN))
        case .garbageAppendedToMiddleSegment:
            let size = try FileManager.default.attributesOfItem(atPath: middle)[.size] as! Int
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: middle))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((0..<300).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }))
            try handle.close()
            return Expectation(file: middle, offset: Int64(size), lost: [])
        }
    }

    @Test(arguments: Damage.allCases)
    func corruptionMatrix(_ damage: Damage) async throws {
        let directory = scratch("matrix-\(damage.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.makeFixture(directory)
        let original = try await Self.records(directory)
        #expect(try Self.segments(directory).count >= 4, "the fixture needs middle segments")
        let expected = try Self.damage(damage, in: directory)

        let verify = try run(["store", "verify", directory])
        #expect(verify.status == expected.verifyStatus, "\(verify.all)")
        let named = verify.stdout.split(separator: "\n").contains { line in
            line.contains(expected.file) && (expected.offset.map { line.contains("at byte offset \($0)") } ?? true)
        }
        #expect(named, "verify names \(expected.file) at byte offset \(expected.offset.map(String.init) ?? "-"):\n\(verify.all)")
        let json = try run(["store", "verify", directory, "--json"])
        #expect(json.status == expected.verifyStatus)
        let located = "\"file\":\"\(expected.file)\"" + (expected.offset.map { ",\"offset\":\($0)" } ?? "")
        #expect(json.stdout.contains(located), "verify --json has \(located): \(json.stdout)")

        let dryRun = try run(["store", "repair", directory])
        #expect(dryRun.status == 0, "\(dryRun.all)")
        #expect(dryRun.stdout.contains("dry run"), "\(dryRun.all)")
        let repair = try run(["store", "repair", directory, "--apply"])
        #expect(repair.status == 0, "\(repair.all)")
        let lostLine = repair.stdout.split(separator: "\n").first { $0.hasPrefix("repaired: lost ") }.map(String.init) ?? ""
        if expected.lost.isEmpty {
            #expect(lostLine.hasPrefix("repaired: lost no acknowledged record"), "\(repair.all)")
        } else {
            let first = expected.lost.first!, last = expected.lost.last!
            let range = first == last ? "\(first)" : "\(first)...\(last)"
            #expect(lostLine.hasPrefix("repaired: lost \(expected.lost.count) record(s), LSN \(range);"), "\(repair.all)")
        }
        try expectGolden("repair-\(damage.rawValue)", normalized(repair.all, directory))

        let clean = try run(["store", "verify", directory, "--full"])
        #expect(clean.status == 0, "\(clean.all)")
        #expect(!clean.stdout.contains("torn tail"), "\(clean.all)")

        // Every record not destroyed is there, byte for byte; the destroyed ones are not.
        let survivors = try await Self.records(directory)
        let lost = Set(expected.lost)
        for (lsn, bytes) in original {
            if lost.contains(lsn) {
                #expect(survivors[lsn] == nil, "LSN \(lsn) was destroyed")
            } else {
                #expect(survivors[lsn] == bytes, "LSN \(lsn) survives unchanged")
            }
        }
        #expect(survivors.count == original.count - lost.count)
        // Nothing was deleted: every removed byte is in the quarantine folder.
        if damage != .deletedManifest {
            let quarantine = try FileManager.default.contentsOfDirectory(atPath: directory + "/quarantine")
            #expect(quarantine.count == 1)
        }
        // The store opens and serves the surviving rows; a second repair finds nothing to do.
        let store = try Store.open(directory: directory, options: StoreOptions(cleaningRatio: nil))
        try await store.write([.put("orders", Key(.string("after")), Key(.int(1)), Row(["status": Array("new".utf8)]))])
        #expect(try store.read(table: "orders", partition: Key(.string("after")), clustering: Key(.int(1))) != nil)
        #expect(store.log.lastDurableLSN > original.keys.max()!, "new records get new LSNs, never a lost one")
        await store.close()
        let afterWrite = try run(["store", "verify", directory, "--full"])
        #expect(afterWrite.status == 0, "\(afterWrite.all)")
        let again = try run(["store", "repair", directory])
        #expect(again.stdout.hasPrefix("nothing to repair"), "\(again.all)")
    }
}
