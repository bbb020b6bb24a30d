import StorageCodec
import StorageEngine
import StorageIndex
import StorageIO
import StorageLog
import StorageTesting
import Testing

@Suite("Store index files")
struct StoreIndexTests {
    static func fill(_ store: Store, rows: Int, seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        for i in 0..<rows {
            let partition = Key(.int(Int64(rng.next() % 4)))
            let key = Key(.string("k\(rng.next() % 300)"))
            switch rng.next() % 5 {
            case 0: try await store.write([.delete("t", partition, key)])
            default: try await store.write([.put("t", partition, key, Row(["v": value("\(i)")]))])
            }
        }
    }

    static func contents(_ store: Store) throws -> [String] {
        var out: [String] = []
        for p in 0..<4 {
            var token: [UInt8]? = nil
            repeat {
                let page = try store.scan(table: "t", partition: Key(.int(Int64(p))), limit: 50, pageToken: token)
                out += page.rows.map { "\(p) \($0.clustering) \(String(decoding: $0.row["v"]!, as: UTF8.self))" }
                token = page.nextPageToken
            } while token != nil
        }
        return out
    }

    @Test func flushedAndCompactedStoreEqualsOneRebuiltFromTheLogAlone() async throws {
        let fs = MemFileSystem()
        let options = StoreOptions(log: LogOptions(segmentBytes: 16 << 10), memtableBytes: 2048, compactionTrigger: 3)
        var store = try Store.open(directory: storeDirectory, fileSystem: fs, options: options)
        try await Self.fill(store, rows: 1500, seed: 11)
        let statistics = store.statistics
        #expect(statistics.flushes > 5)
        #expect(statistics.compactions > 0)
        #expect(statistics.checkpointLSN > 0)
        let before = try Self.contents(store)
        await store.close()

        // Reopen: manifest + files + replay from the checkpoint.
        store = try Store.open(directory: storeDirectory, fileSystem: fs, options: options)
        #expect(try Self.contents(store) == before)
        await store.close()

        // Rebuild from the log alone: drop the manifest and every index file.
        for name in try fs.contentsOfDirectory(storeDirectory) where name.hasSuffix(".sst") || name == "MANIFEST" {
            try fs.removeFile(storeDirectory + "/" + name)
        }
        store = try Store.open(directory: storeDirectory, fileSystem: fs, options: StoreOptions(log: options.log))
        #expect(store.statistics.checkpointLSN == 0)
        #expect(try Self.contents(store) == before)
        await store.close()
    }

    @Test func aHotWorkingSetStillAdvancesTheCheckpointAndTheLogStaysBounded() async throws {
        let fs = MemFileSystem()
        // Ten rows overwritten 3,000 times never fill a 1 MiB memtable; the log behind it does.
        let options = StoreOptions(
            log: LogOptions(segmentBytes: LogLimits.minSegmentBytes), memtableBytes: 1 << 20,
            maxLogBytesPerMemtable: 32 << 10)
        let store = try Store.open(directory: storeDirectory, fileSystem: fs, options: options)
        for i in 0..<3000 {
            try await store.write([.put("t", Key(.int(1)), Key(.int(Int64(i % 10))), Row(["v": value("value \(i) " + String(repeating: "x", count: 100))]))])
        }
        try await Task.sleep(for: .milliseconds(200))
        let statistics = store.statistics
        #expect(statistics.flushes > 5, "flushes: \(statistics.flushes)")
        #expect(statistics.checkpointLSN > 2000)
        #expect(statistics.cleanedSegments > 10, "cleaned: \(statistics.cleanedSegments)")
        let logBytes = store.log.stats().bytesOnDisk
        #expect(logBytes < 200 << 10, "the log holds \(logBytes) bytes for 10 live rows")
        for k in 0..<10 {
            #expect(try store.read(table: "t", partition: Key(.int(1)), clustering: Key(.int(Int64(k))))?["v"]?.starts(with: value("value 29")) == true)
        }
        await store.close()
        let reopened = try Store.open(directory: storeDirectory, fileSystem: fs, options: options)
        #expect(try reopened.scan(table: "t", partition: Key(.int(1))).rows.count == 10)
        await reopened.close()
    }

    @Test func filesLeftByACrashedFlushAreRemoved() async throws {
        let fs = MemFileSystem()
        var store = try Store.open(directory: storeDirectory, fileSystem: fs)
        try await store.write([.put("t", Key(.int(1)), Key(.int(1)), Row(["v": [1]]))])
        await store.close()
        fs.setContents(of: storeDirectory + "/" + IndexFileFormat.fileName(id: 77), [1, 2, 3])
        fs.setContents(of: storeDirectory + "/MANIFEST.tmp", [4, 5])
        store = try Store.open(directory: storeDirectory, fileSystem: fs)
        #expect(!fs.fileExists(storeDirectory + "/" + IndexFileFormat.fileName(id: 77)))
        #expect(!fs.fileExists(storeDirectory + "/MANIFEST.tmp"))
        #expect(try store.read(table: "t", partition: Key(.int(1)), clustering: Key(.int(1))) == Row(["v": [1]]))
        await store.close()
    }

    @Test func aCheckpointAheadOfTheLogIsRefused() async throws {
        let fs = MemFileSystem()
        let store = try Store.open(directory: storeDirectory, fileSystem: fs)
        try await store.write([.put("t", Key(.int(1)), Key(.int(1)), Row())])
        await store.close()
        try Manifest(checkpointLSN: 999, nextFileID: 1, files: []).store(in: storeDirectory, fileSystem: fs)
        for attempt in 0..<2 {
            do {
                _ = try Store.open(directory: storeDirectory, fileSystem: fs)
                Issue.record("opened with a checkpoint ahead of the log")
            } catch let error as StorageError {
                // The second attempt sees the same refusal, not a lock left by the first.
                #expect(error.code == .corruption, "attempt \(attempt): \(error)")
                #expect(error.message.contains("rebuild-index"))
            }
        }
    }

    @Test func aDamagedManifestIsRefusedNamingIt() async throws {
        let fs = MemFileSystem()
        let store = try Store.open(directory: storeDirectory, fileSystem: fs)
        try await store.write([.put("t", Key(.int(1)), Key(.int(1)), Row())])
        await store.close()
        try Manifest(checkpointLSN: 0, nextFileID: 1, files: []).store(in: storeDirectory, fileSystem: fs)
        var bytes = fs.contents(of: storeDirectory + "/MANIFEST")!
        bytes[20] ^= 1
        fs.setContents(of: storeDirectory + "/MANIFEST", bytes)
        do {
            _ = try Store.open(directory: storeDirectory, fileSystem: fs)
            Issue.record("opened with a damaged manifest")
        } catch let error as StorageError {
            #expect(error.code == .corruption)
            #expect(error.path == storeDirectory + "/MANIFEST")
        }
    }
}
