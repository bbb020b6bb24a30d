import Foundation
import StorageTesting
import Testing

/// `annals store verify | rebuild-index | compact` on real directories, as an operator runs them.
@Suite("Store tools", .serialized)
struct StoreToolTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = annalsExecutable()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func verifyNamesADamagedIndexFileAndRebuildIndexRepairsIt() throws {
        let directory = NSTemporaryDirectory() + "annals-tools-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stress = try run(["store", "stress", directory, "--seed", "9", "--writers", "4", "--seconds", "1", "--memtable-bytes", "4096"])
        #expect(stress.status == 0, "\(stress.output.suffix(500))")
        let acks = directory + "-acks"
        try stress.output.write(toFile: acks, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: acks) }

        var verify = try run(["store", "verify", directory])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("index file(s)"))

        // Damage the first index file in the middle.
        let sst = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sst") }.sorted().first)
        let path = directory + "/" + sst
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        verify = try run(["store", "verify", directory])
        #expect(verify.status == 1)
        #expect(verify.output.contains(path), "\(verify.output)")
        #expect(verify.output.contains("byte offset"), "\(verify.output)")

        let rebuild = try run(["store", "rebuild-index", directory])
        #expect(rebuild.status == 0, "\(rebuild.output)")
        #expect(rebuild.output.contains("rebuilt:"))
        verify = try run(["store", "verify", directory])
        #expect(verify.status == 0, "\(verify.output)")
        let check = try run(["store", "stress-verify", directory, "--seed", "9", "--writers", "4", "--acks", acks])
        #expect(check.status == 0, "\(check.output)")

        let compact = try run(["store", "compact", directory])
        #expect(compact.status == 0, "\(compact.output)")
        #expect(try run(["store", "stress-verify", directory, "--seed", "9", "--writers", "4", "--acks", acks]).status == 0)
    }

    @Test func mutatingToolsRefuseALockedDirectory() throws {
        let directory = NSTemporaryDirectory() + "annals-tools-locked-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let holder = Process()
        holder.executableURL = annalsExecutable()
        holder.arguments = ["store", "stress", directory, "--seed", "1", "--writers", "1"]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        var waited = 0
        while !FileManager.default.fileExists(atPath: directory + "/LOCK") && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        usleep(100_000)
        for tool in [["store", "rebuild-index", directory], ["store", "compact", directory]] {
            let result = try run(tool)
            #expect(result.status != 0)
            #expect(result.output.contains("locked by pid \(holder.processIdentifier)"), "\(tool): \(result.output)")
        }
    }
}
