import StorageCodec
import StorageIO
import StorageLog
import StorageTesting
import Synchronization
import Testing

@Suite("Log round trips")
struct LogRoundTripTests {
    @Test(arguments: [1, 8, 64])
    func seededRoundTrip(concurrency: Int) async throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x10C0FFEE + UInt64(concurrency))
        print("LogRoundTripTests.seededRoundTrip concurrency=\(concurrency) seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        let fs = MemFileSystem()
        let options = LogOptions(segmentBytes: 256 << 10, maxBatchBytes: 1 << 20)
        let records = randomRecords(&rng, count: 300, maxBytes: 1 << 20)
        var log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
        let acked = await appendConcurrently(log, records, concurrency: concurrency)
        #expect(acked.allSatisfy { $0.position != nil }, "seed \(seed)")
        #expect(Set(acked.compactMap { $0.position?.lsn }) == Set(1...UInt64(records.count)))
        for (record, position) in acked {
            let position = try #require(position)
            #expect(try log.read(position.lsn) == record, "seed \(seed) lsn \(position.lsn)")
            #expect(try log.read(at: position) == record)
        }
        await log.close()

        log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
        #expect(log.recovery.findings.isEmpty)
        #expect(log.recovery.endsWithSeal)
        let byLSN = Dictionary(uniqueKeysWithValues: acked.map { ($0.position!.lsn, $0.record) })
        let scanned = try scanAll(log)
        #expect(scanned.map(\.0) == Array(1...UInt64(records.count)))
        for (lsn, bytes) in scanned { #expect(byLSN[lsn] == bytes, "seed \(seed) lsn \(lsn)") }
        // Scans from the middle start at the right record.
        let middle = UInt64(records.count / 2)
        #expect(try scanAll(log, from: middle).first?.0 == middle)
        // Appends continue with the next LSN after reopen.
        let next = try await log.append([1, 2, 3])
        #expect(next.lsn == UInt64(records.count) + 1)
        #expect(log.stats().segments.count > 1, "small segments roll")
        await log.close()
    }

    @Test func posixFileSystemRoundTripAndDirectoryLock() async throws {
        let directory = makeTemporaryDirectory()
        let log = try Log.open(directory: directory)
        var positions: [LogPosition] = []
        for i in 0..<50 { positions.append(try await log.append(Array(repeating: UInt8(i), count: i * 10))) }
        // A second open of the same directory is refused, naming the holder's pid.
        do {
            _ = try Log.open(directory: directory)
            Issue.record("a second open of a locked directory succeeded")
        } catch let error as StorageError {
            #expect(error.code == .locked)
            #expect(error.message.contains("locked by pid \(getpid())"))
        }
        await log.close()
        let reopened = try Log.open(directory: directory)
        for (i, position) in positions.enumerated() {
            #expect(try reopened.read(position.lsn) == Array(repeating: UInt8(i), count: i * 10))
        }
        await reopened.close()
    }

    @Test func readsOfMissingLSNsAreNotFound() async throws {
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem())
        _ = try await log.append([9])
        #expect(expectStorageError(.notFound) { _ = try log.read(0) } != nil)
        #expect(expectStorageError(.notFound) { _ = try log.read(2) } != nil)
        await log.close()
    }

    @Test func oversizedRecordIsRefused() async throws {
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem())
        await #expect(throws: StorageError.self) {
            _ = try await log.append([UInt8](repeating: 0, count: LogLimits.maxRecordBytes + 1))
        }
        #expect(try await log.append([1]).lsn == 1, "the refused record used no LSN")
        await log.close()
    }

    @Test func appendAfterCloseFails() async throws {
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem())
        await log.close()
        await #expect(throws: StorageError.self) { _ = try await log.append([1]) }
    }

    @Test func backpressureWithTinyQueue() async throws {
        let options = LogOptions(maxBatchBytes: 100, maxPendingRecords: 2, maxPendingBytes: 64)
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem(), options: options)
        var rng = SeededRandom(seed: 5)
        let records = (0..<200).map { _ in rng.bytes(count: Int(rng.next() % 50)) }
        let acked = await appendConcurrently(log, records, concurrency: 32)
        #expect(acked.allSatisfy { $0.position != nil })
        for (record, position) in acked { #expect(try log.read(position!.lsn) == record) }
        await log.close()
    }

    @Test func deleteSegmentsKeepsTheActiveOneAndLaterRecords() async throws {
        let fs = MemFileSystem()
        let options = LogOptions(segmentBytes: 4096, compression: false)
        let log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
        for i in 0..<100 { _ = try await log.append(Array(repeating: UInt8(i), count: 200)) }
        let before = log.stats().segments
        #expect(before.count > 3)
        let cut = before[2].nextLSN
        let deleted = try log.deleteSegments(before: cut)
        #expect(deleted.count == 3, "segments 0, 1 and 2 hold only LSNs below the cut")
        #expect(expectStorageError(.notFound) { _ = try log.read(1) } != nil)
        #expect(try log.read(cut) == Array(repeating: UInt8(cut - 1), count: 200))
        #expect(try scanAll(log).first?.0 == cut)
        #expect(segmentFiles(fs).count == before.count - deleted.count)
        // Deleting everything never removes the segment being appended to.
        try log.deleteSegments(before: .max)
        #expect(log.stats().segments.count == 1)
        #expect(try await log.append([7]).lsn == 101)
        await log.close()
        let reopened = try Log.open(directory: testDirectory, fileSystem: fs)
        #expect(reopened.recovery.corruption.isEmpty)
        #expect(try reopened.read(101) == [7])
        await reopened.close()
    }

    /// Completions run exactly once each, one at a time and in LSN order, whether the writer thread
    /// runs them (nothing else to write) or hands them to the completion thread (a queue behind it):
    /// bursts of queued appends alternate with single appends on an idle log.
    @Test func completionsRunOnceInLSNOrder() async throws {
        // Small groups, so a burst is many groups: the first ones queue, the last runs on the writer.
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem(), options: LogOptions(maxBatchBytes: 64))
        let seen = Mutex<[UInt64]>([])
        let running = Mutex<(now: Int, overlapped: Bool)>((0, false))
        for round in 0..<40 {
            let burst = round % 2 == 0 ? 1 : 50
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let remaining = Mutex(burst)
                for i in 0..<burst {
                    try! log.enqueue([UInt8(truncatingIfNeeded: i)]) { result in
                        running.withLock { state in
                            state.now += 1
                            if state.now > 1 { state.overlapped = true }
                        }
                        seen.withLock { $0.append(try! result.get().lsn) }
                        running.withLock { $0.now -= 1 }
                        if remaining.withLock({ $0 -= 1; return $0 }) == 0 { done.resume() }
                    }
                }
            }
        }
        let order = seen.withLock { $0 }
        #expect(order == Array(1...UInt64(order.count)))
        #expect(order.count == 20 * 1 + 20 * 50)
        let overlapped = running.withLock { $0.overlapped }
        #expect(!overlapped)
        await log.close()
    }

    /// The writer keeps zeros written ahead of the active segment's last frame (so a group's
    /// fdatasync does not change the file's size); a crash keeps them, reopen appends over them,
    /// and a clean close truncates them away.
    @Test func activeSegmentIsPreallocatedAndCloseTrimsIt() async throws {
        let fs = MemFileSystem()
        var options = LogOptions(segmentBytes: 1 << 20)
        options.preallocationBytes = 64 << 10
        let log = try Log.open(directory: testDirectory, fileSystem: fs, options: options)
        let first = [UInt8](repeating: 7, count: 100)
        _ = try await log.append(first)
        let path = joinPath(testDirectory, segmentFiles(fs)[0])
        let dataEnd = Int(log.stats().segments[0].bytes)
        let file = try #require(fs.contents(of: path))
        #expect(file.count >= dataEnd + (32 << 10), "\(file.count) bytes on disk for \(dataEnd) of frames")
        #expect(file[dataEnd...].allSatisfy { $0 == 0 })

        let crashed = fs.crashClone()
        await log.close()
        let reopened = try Log.open(directory: testDirectory, fileSystem: crashed, options: options)
        #expect(reopened.recovery.findings.isEmpty, "\(reopened.recovery.findings)")
        _ = try await reopened.append([1, 2, 3])
        #expect(try scanAll(reopened).map(\.1) == [first, [1, 2, 3]])
        let end = Int(reopened.stats().segments[0].bytes)
        await reopened.close()
        let sealed = try #require(crashed.contents(of: path))
        #expect(sealed.count > end && sealed.count - end <= 64, "a sealed segment keeps \(sealed.count) bytes for \(end)")
        #expect(try #require(fs.contents(of: path)).count <= dataEnd + 64)

        // Preallocation stops at the roll size.
        var small = LogOptions(segmentBytes: 8 << 10)
        small.preallocationBytes = 64 << 10
        let rolling = try Log.open(directory: "/data/small", fileSystem: fs, options: small)
        _ = try await rolling.append([9])
        #expect(try #require(fs.contents(of: joinPath("/data/small", segmentFiles(fs, "/data/small")[0]))).count == 8 << 10)
        await rolling.close()
    }

    @Test func statsReportCompression() async throws {
        let log = try Log.open(directory: testDirectory, fileSystem: MemFileSystem())
        var rng = SeededRandom(seed: 3)
        for _ in 0..<20 { _ = try await log.append(rng.eventLikeBytes(count: 8192)) }
        let stats = log.stats()
        #expect(stats.records == 20)
        #expect(stats.compressionRatio > 2)
        #expect(stats.logicalBytes == Int64(20 * (8192 + 4)))
        await log.close()
    }
}

import Glibc

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/annals-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}
