import StorageCodec
import StorageIO
import StorageLog
import StorageTesting
import Testing

@Suite("Fault injection")
struct FaultInjectionTests {
    func openFaulty(_ options: LogOptions = LogOptions()) throws -> (MemFileSystem, FaultyFileSystem, Log) {
        let mem = MemFileSystem()
        let faulty = FaultyFileSystem(base: mem)
        return (mem, faulty, try Log.open(directory: testDirectory, fileSystem: faulty, options: options))
    }

    func expectAppendFails(_ log: Log, _ record: [UInt8], code: StorageError.Code) async {
        do {
            _ = try await log.append(record)
            Issue.record("append succeeded despite an injected fault")
        } catch let error as StorageError {
            #expect(error.code == code, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: [FaultyFileSystem.Effect.ioError, .noSpace])
    func failedWriteIsUndoneAndTheLogCarriesOn(effect: FaultyFileSystem.Effect) async throws {
        let (mem, faulty, log) = try openFaulty()
        #expect(try await log.append([1]).lsn == 1)
        faulty.inject(.init(.write, pathContains: ".log", effect: effect))
        await expectAppendFails(log, [2], code: effect == .noSpace ? .noSpace : .io)
        // The failed record used no LSN; the next one continues the sequence.
        #expect(try await log.append([3]).lsn == 2)
        await log.close()
        let reopened = try Log.open(directory: testDirectory, fileSystem: mem.crashClone())
        #expect(reopened.recovery.findings.isEmpty)
        #expect(try scanAll(reopened).map(\.1) == [[1], [3]])
        await reopened.close()
    }

    @Test func shortWriteThenNoSpaceLeavesNoPartialFrame() async throws {
        let (mem, faulty, log) = try openFaulty()
        _ = try await log.append(Array(repeating: 1, count: 100))
        faulty.inject(.init(.write, pathContains: ".log", effect: .shortWrite(maxBytes: 10)))
        faulty.inject(.init(.write, pathContains: ".log", effect: .noSpace))
        await expectAppendFails(log, Array(repeating: 2, count: 100), code: .noSpace)
        #expect(faulty.faultsFired == 2)
        let crashed = mem.crashClone()
        let reopened = try Log.open(directory: testDirectory, fileSystem: crashed)
        #expect(reopened.recovery.findings.isEmpty, "the 10 written bytes were truncated away: \(reopened.recovery.findings)")
        #expect(try scanAll(reopened).count == 1)
        await reopened.close()
        await log.close()
    }

    @Test func shortWritesAloneAreCompleted() async throws {
        let (_, faulty, log) = try openFaulty()
        faulty.inject(.init(.write, pathContains: ".log", times: 5, effect: .shortWrite(maxBytes: 7)))
        let record = Array(repeating: UInt8(9), count: 1000)
        let position = try await log.append(record)
        #expect(try log.read(position.lsn) == record)
        await log.close()
    }

    @Test func failedFsyncStopsTheLogUntilReopen() async throws {
        let (mem, faulty, log) = try openFaulty()
        #expect(try await log.append([1]).lsn == 1)
        faulty.inject(.init(.sync, pathContains: ".log", effect: .ioError))
        await expectAppendFails(log, [2], code: .closed)
        // It never pretends: every later append fails too, with a message saying to reopen.
        do {
            _ = try await log.append([3])
            Issue.record("append after a failed fsync succeeded")
        } catch let error as StorageError {
            #expect(error.code == .closed)
            #expect(error.message.contains("reopen"))
        }
        // Reads of acknowledged data still work.
        #expect(try log.read(1) == [1])
        await log.close()
        // After reopen (the crash after the failed fsync keeps only synced bytes) LSN 1 is there
        // and the unacknowledged record is either whole or absent.
        let reopened = try Log.open(directory: testDirectory, fileSystem: mem.crashClone())
        #expect(reopened.recovery.corruption.isEmpty)
        let records = try scanAll(reopened).map(\.1)
        #expect(records == [[1]] || records == [[1], [2]])
        #expect(try await reopened.append([4]).lsn == UInt64(records.count) + 1)
        await reopened.close()
    }

    @Test func failedUndoAfterFailedWriteStopsTheLog() async throws {
        let (_, faulty, log) = try openFaulty()
        faulty.inject(.init(.write, pathContains: ".log", effect: .ioError))
        faulty.inject(.init(.truncate, pathContains: ".log", effect: .ioError))
        await expectAppendFails(log, [1], code: .closed)
        await expectAppendFails(log, [2], code: .closed)
        await log.close()
    }

    @Test func failedSegmentCreationIsRetriedOnTheNextAppend() async throws {
        let options = LogOptions(segmentBytes: 4096, compression: false)
        let (mem, faulty, log) = try openFaulty(options)
        var lsn: UInt64 = 0
        while log.stats().segments.last!.bytes < 4096 { lsn = try await log.append(Array(repeating: 5, count: 500)).lsn }
        faulty.inject(.init(.syncDirectory, effect: .noSpace))
        await expectAppendFails(log, [6], code: .noSpace)
        #expect(segmentFiles(mem).count == 1, "the half-created segment was removed")
        #expect(try await log.append([7]).lsn == lsn + 1)
        #expect(segmentFiles(mem).count == 2)
        await log.close()
    }

    @Test func flippedBitOnReadIsCorruptionNotWrongData() async throws {
        let (_, faulty, log) = try openFaulty()
        let position = try await log.append(Array(repeating: 42, count: 300))
        faulty.inject(.init(.read, pathContains: ".log", effect: .flipBit(atReadIndex: 60)))
        #expect(expectStorageError(.corruption) { _ = try log.read(position.lsn) } != nil)
        #expect(try log.read(position.lsn) == Array(repeating: 42, count: 300), "the fault was transient")
        await log.close()
    }

    @Test func directoryLockIsExclusive() async throws {
        let mem = MemFileSystem()
        let log = try Log.open(directory: testDirectory, fileSystem: mem)
        #expect(expectStorageError(.locked) { _ = try Log.open(directory: testDirectory, fileSystem: mem) } != nil)
        await log.close()
        let again = try Log.open(directory: testDirectory, fileSystem: mem)
        await again.close()
    }
}
