import Foundation
import StorageIO
import StorageLog
import StorageTesting
import Testing

/// Real processes killed with SIGKILL mid-write: `annals store log-stress` appends with many
/// concurrent writers on the real file system (fsync on) and prints each acknowledged LSN; the
/// test kills it at a random moment, then `annals store log-stress-verify` reopens the directory
/// (recovering) and checks every acknowledged record is there byte for byte and that nothing but
/// whole records is visible. Each round restarts on the same directory, so recovery runs again on
/// a log that was already recovered before.
@Suite("Kill -9", .serialized)
struct KillTests {
    static let kills = 24

    @Test func acknowledgedRecordsSurviveSIGKILL() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x4B11)
        print("KillTests seed=\(seed) kills=\(Self.kills) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        let directory = NSTemporaryDirectory() + "annals-kill-\(getpid())-\(seed)"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var totalAcks = 0
        for round in 1...Self.kills {
            let acksPath = directory + "-acks-\(round)"
            defer { try? FileManager.default.removeItem(atPath: acksPath) }
            let writers = 1 + Int(rng.next() % 64)
            let maxBytes = [64, 1024, 16 << 10, 256 << 10][Int(rng.next() % 4)]
            let child = try launch([
                "store", "log-stress", directory, "--seed", String(seed), "--run", String(round),
                "--writers", String(writers), "--max-record-bytes", String(maxBytes), "--segment-bytes", String(256 << 10),
            ], stdout: acksPath)
            // Let it get going (first acks written), then kill at a random moment.
            let deadline = Date().addingTimeInterval(10)
            while (try? Data(contentsOf: URL(fileURLWithPath: acksPath)).count) ?? 0 == 0 && Date() < deadline {
                usleep(2_000)
            }
            if round == 1 {
                // While the child holds the directory, another process is refused, naming its pid.
                let lockedOutput = directory + "-locked"
                defer { try? FileManager.default.removeItem(atPath: lockedOutput) }
                let second = try launch(["store", "log-stress-verify", directory, "--seed", "1"], stdout: lockedOutput, stderr: true)
                second.waitUntilExit()
                let text = (try? String(contentsOfFile: lockedOutput, encoding: .utf8)) ?? ""
                #expect(second.terminationStatus != 0)
                #expect(text.contains("locked by pid \(child.processIdentifier)"), "\(text)")
            }
            usleep(useconds_t(1_000 + rng.next() % 150_000))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "round \(round): the child exited on its own")

            let acks = (try? String(contentsOfFile: acksPath, encoding: .utf8)) ?? ""
            let ackCount = acks.split(separator: "\n").filter { $0.hasPrefix("ack ") }.count
            #expect(ackCount > 0, "round \(round): the child acknowledged nothing before it was killed")
            totalAcks += ackCount

            let verifyOutput = directory + "-verify-\(round)"
            defer { try? FileManager.default.removeItem(atPath: verifyOutput) }
            let verify = try launch([
                "store", "log-stress-verify", directory, "--seed", String(seed), "--acks", acksPath,
            ], stdout: verifyOutput)
            verify.waitUntilExit()
            let report = (try? String(contentsOfFile: verifyOutput, encoding: .utf8)) ?? ""
            #expect(verify.terminationStatus == 0, "round \(round) (writers \(writers), max \(maxBytes) B): \(report)")
            #expect(report.hasPrefix("ok "), "round \(round): \(report)")
            if verify.terminationStatus != 0 { break }
        }
        print("KillTests: \(Self.kills) kills, \(totalAcks) acknowledged records verified")
    }

    /// The same for the store: `annals store stress` (conditional and unconditional batches from 12
    /// writers, small memtables so flushes, index files and compactions happen) killed at random
    /// moments; `annals store stress-verify` checks every acknowledged batch is there and the
    /// store equals the seeded model after exactly the batches present (none partly applied).
    @Test func acknowledgedBatchesSurviveSIGKILL() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x57055)
        print("KillTests.store seed=\(seed) kills=\(Self.kills) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        let directory = NSTemporaryDirectory() + "annals-store-kill-\(getpid())-\(seed)"
        let acksPath = directory + "-acks"
        try? FileManager.default.removeItem(atPath: directory)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: acksPath)
        }
        _ = FileManager.default.createFile(atPath: acksPath, contents: nil)
        for round in 1...Self.kills {
            let roundAcks = acksPath + "-\(round)"
            defer { try? FileManager.default.removeItem(atPath: roundAcks) }
            let memtable = [2048, 16 << 10, 256 << 10][Int(rng.next() % 3)]
            let child = try launch([
                "store", "stress", directory, "--seed", String(seed), "--writers", "12", "--memtable-bytes", String(memtable),
            ], stdout: roundAcks)
            let deadline = Date().addingTimeInterval(10)
            while (try? Data(contentsOf: URL(fileURLWithPath: roundAcks)).count) ?? 0 == 0 && Date() < deadline { usleep(2_000) }
            usleep(useconds_t(1_000 + rng.next() % 300_000))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "round \(round): the stress process exited on its own")
            let acks = (try? Data(contentsOf: URL(fileURLWithPath: roundAcks))) ?? Data()
            #expect(!acks.isEmpty, "round \(round): nothing acknowledged")
            let all = try FileHandle(forWritingTo: URL(fileURLWithPath: acksPath))
            all.seekToEndOfFile()
            all.write(acks)
            try all.close()

            let verifyOutput = directory + "-verify-\(round)"
            defer { try? FileManager.default.removeItem(atPath: verifyOutput) }
            let verify = try launch([
                "store", "stress-verify", directory, "--seed", String(seed), "--writers", "12", "--acks", acksPath,
            ], stdout: verifyOutput, stderr: true)
            verify.waitUntilExit()
            let report = (try? String(contentsOfFile: verifyOutput, encoding: .utf8)) ?? ""
            #expect(verify.terminationStatus == 0, "round \(round) (memtable \(memtable) B): \(report)")
            if verify.terminationStatus != 0 { break }
            if round == Self.kills { print("KillTests.store: \(report)") }
        }
    }

    func launch(_ arguments: [String], stdout path: String, stderr: Bool = false) throws -> Process {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let process = Process()
        process.executableURL = annalsExecutable()
        process.arguments = arguments
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = output
        // Never the test runner's own stderr: a child outliving a crashed test process would hold
        // that pipe open and `swift test` would wait for it forever.
        process.standardError = stderr ? output : FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }
}

/// The `annals` binary built next to the test bundle.
func annalsExecutable() -> URL {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent("annals")
}
