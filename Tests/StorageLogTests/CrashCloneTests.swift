import StorageIO
import StorageLog
import StorageTesting
import Synchronization
import Testing

/// Crashes simulated by cloning the in-memory file system while appends are in flight: the clone
/// keeps only synced bytes (optionally plus a torn part of unsynced ones), as after power loss.
@Suite("Crash clones")
struct CrashCloneTests {
    /// Records carry an 8-byte id so any record found after a crash can be traced to its append.
    static func record(id: UInt64, rng: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
        let size = Int(rng.next() % 3000)
        bytes += rng.next() % 2 == 0 ? rng.eventLikeBytes(count: size) : rng.bytes(count: size)
        return bytes
    }

    @Test(arguments: [false, true])
    func everyAcknowledgedRecordSurvives(torn: Bool) async throws {
        let seed = SeededRandom.seedFromEnvironment(default: torn ? 0xC1A5 : 0xC1A6)
        print("CrashCloneTests torn=\(torn) seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        var fs = MemFileSystem()
        let options = LogOptions(segmentBytes: 64 << 10)
        var written: [UInt64: [UInt8]] = [:]
        var nextID: UInt64 = 0
        var mustSurvive: [UInt64: [UInt8]] = [:]  // LSN → bytes acknowledged before a crash

        for round in 0..<12 {
            let log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
            #expect(log.recovery.corruption.isEmpty, "seed \(seed) round \(round): \(log.recovery.findings)")
            // What must survive from earlier rounds did.
            for (lsn, bytes) in mustSurvive {
                #expect(try log.read(lsn) == bytes, "seed \(seed) round \(round): acknowledged LSN \(lsn) lost")
            }
            // Nothing else appears but whole records that some append wrote.
            for (lsn, bytes) in try scanAll(log) {
                let id = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(written[id] == bytes, "seed \(seed) round \(round): LSN \(lsn) is not a record that was appended")
                mustSurvive[lsn] = bytes  // recovered records are durable now
            }

            let batch = (0..<Int(20 + rng.next() % 60)).map { _ -> [UInt8] in
                defer { nextID += 1 }
                let bytes = Self.record(id: nextID, rng: &rng)
                written[nextID] = bytes
                return bytes
            }
            let acks = Acks()
            let current = fs
            let crashAfter = Int(rng.next() % UInt64(batch.count))
            let cloneSeed = rng.next()
            let crashed: MemFileSystem = await withTaskGroup(of: MemFileSystem?.self) { group in
                let lanes = 1 + Int(rng.next() % 16)
                for lane in 0..<lanes {
                    group.addTask {
                        var index = lane
                        while index < batch.count {
                            if let position = try? await log.append(batch[index]) {
                                acks.acked.withLock { $0[position.lsn] = batch[index] }
                            }
                            index += lanes
                        }
                        return nil
                    }
                }
                group.addTask {
                    // Crash once `crashAfter` appends were acknowledged, with others in flight.
                    while acks.acked.withLock({ $0.count }) < crashAfter { await Task.yield() }
                    let snapshot = acks.acked.withLock { $0 }
                    let clone = current.crashClone(torn ? .tornUnsynced(seed: cloneSeed) : .syncedOnly)
                    acks.atCrash.withLock { $0 = snapshot }
                    return clone
                }
                var clone: MemFileSystem? = nil
                for await result in group { if let result { clone = result } }
                return clone!
            }
            for (lsn, bytes) in acks.atCrash.withLock({ $0 }) { mustSurvive[lsn] = bytes }
            await log.close()
            fs = crashed
        }
    }
}

/// Acknowledgements so far, and those captured at the moment of the crash.
final class Acks: Sendable {
    let acked = Mutex<[UInt64: [UInt8]]>([:])
    let atCrash = Mutex<[UInt64: [UInt8]]>([:])
}
