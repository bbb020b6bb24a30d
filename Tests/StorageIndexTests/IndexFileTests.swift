import StorageCodec
import StorageIO
import StorageIndex
import StorageTesting
import Testing

@Suite("Index files")
struct IndexFileTests {
    static func entries(_ count: Int, seed: UInt64) -> [(key: [UInt8], entry: IndexEntry)] {
        var rng = SeededRandom(seed: seed)
        var keys = Set<[UInt8]>()
        while keys.count < count { keys.insert(KeyEncoding.encode([.string("t"), .int(Int64(rng.next() % 1_000_000))])) }
        return keys.sorted { compareKeys($0, $1) < 0 }.enumerated().map { index, key in
            let value: IndexValue
            switch index % 3 {
            case 0: value = .inline(rng.eventLikeBytes(count: Int(rng.next() % 300)))
            case 1: value = .tombstone
            default: value = .pointer(ValuePointer(lsn: UInt64(index + 1), segmentFirstLSN: 1, frameOffset: 32 + Int64(index) * 8, writeIndex: 2, rowBytes: 99))
            }
            return (key, IndexEntry(lsn: UInt64(index + 1), value: value))
        }
    }

    func write(_ fs: MemFileSystem, _ path: String, _ entries: [(key: [UInt8], entry: IndexEntry)]) throws {
        try fs.createDirectory("/idx")
        var writer = try IndexFileWriter(fileSystem: fs, path: path)
        for (key, entry) in entries { try writer.add(key, entry) }
        _ = try writer.finish()
    }

    @Test func roundTripPointReadsAndCursors() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x1D7)
        print("IndexFileTests seed=\(seed)")
        let fs = MemFileSystem()
        let entries = Self.entries(5000, seed: seed)
        try write(fs, "/idx/1.sst", entries)
        let file = try IndexFile(fileSystem: fs, path: "/idx/1.sst", id: 1)
        #expect(file.entryCount == 5000)
        #expect(file.maxLSN == 5000)
        #expect(file.blockCount > 10, "many blocks")
        for (key, entry) in entries { #expect(try file.get(key) == entry) }
        // Keys that are absent: the bloom filter rejects about 99 % of them.
        var rng = SeededRandom(seed: seed ^ 1)
        var admitted = 0
        for _ in 0..<5000 {
            let absent = KeyEncoding.encode([.string("u"), .int(Int64(rng.next() % 1_000_000))])
            #expect(try file.get(absent) == nil)
            if file.bloomMayContain(absent) { admitted += 1 }
        }
        #expect(admitted < 150, "bloom false positives: \(admitted) of 5000")
        // Cursors over random ranges, both directions.
        for _ in 0..<50 {
            let a = entries[Int(rng.next() % 5000)].key
            let b = entries[Int(rng.next() % 5000)].key
            let (low, high) = compareKeys(a, b) <= 0 ? (a, b) : (b, a)
            let expected = entries.filter { compareKeys($0.key, low) >= 0 && compareKeys($0.key, high) < 0 }.map(\.key)
            for reverse in [false, true] {
                var cursor = try file.cursor(from: low, to: high, reverse: reverse)
                var got: [[UInt8]] = []
                while let (key, _) = cursor.current {
                    got.append(key)
                    try cursor.advance()
                }
                #expect(got == (reverse ? expected.reversed() : expected))
            }
        }
        var all: [[UInt8]] = []
        var cursor = try file.cursor(from: nil, to: nil)
        while let (key, _) = cursor.current { all.append(key); try cursor.advance() }
        #expect(all == entries.map(\.key))
    }

    /// Point reads through a shared block cache (small, so blocks are evicted and read again)
    /// give what reads without it give, also for absent keys that fall inside blocks.
    @Test func pointReadsThroughABlockCacheMatchUncachedReads() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0xCAC4E)
        print("IndexFileTests cache seed=\(seed)")
        let fs = MemFileSystem()
        let entries = Self.entries(3000, seed: seed)
        try write(fs, "/idx/2.sst", entries)
        let cache = BlockCache(capacityBytes: 64 << 10)
        let cached = try IndexFile(fileSystem: fs, path: "/idx/2.sst", id: 2, cache: cache)
        let plain = try IndexFile(fileSystem: fs, path: "/idx/2.sst", id: 2)
        let present = Set(entries.map(\.key))
        var rng = SeededRandom(seed: seed ^ 2)
        for round in 0..<3 {
            for (key, entry) in entries where rng.next() % 3 == 0 {
                #expect(try cached.get(key) == entry, "round \(round)")
            }
            // Absent keys of the same table: between, before and after the stored ones.
            for _ in 0..<2000 {
                let key = KeyEncoding.encode([.string("t"), .int(Int64(rng.next() % 1_100_000) - 50_000)])
                if present.contains(key) { continue }
                #expect(try cached.get(key) == nil)
                #expect(try plain.get(key) == nil)
            }
        }
        let stats = cache.statistics
        #expect(stats.bytes <= cache.capacityBytes + 32 << 10, "holds at most its capacity plus one block: \(stats.bytes)")
        #expect(stats.hits > 0 && stats.misses > 0)
        // A corrupted block is still caught (the cache holds only verified blocks).
        var bytes = fs.contents(of: "/idx/2.sst")!
        bytes[40] ^= 0x01
        fs.setContents(of: "/idx/2.sst", bytes)
        let damaged = try IndexFile(fileSystem: fs, path: "/idx/2.sst", id: 99, cache: cache)
        #expect(throws: StorageError.self) { _ = try damaged.get(entries[0].key) }
    }

    @Test func keysMustAscend() throws {
        let fs = MemFileSystem()
        try fs.createDirectory("/idx")
        var writer = try IndexFileWriter(fileSystem: fs, path: "/idx/2.sst")
        try writer.add([0x10, 2], IndexEntry(lsn: 1, value: .tombstone))
        #expect(throws: StorageError.self) { try writer.add([0x10, 1], IndexEntry(lsn: 2, value: .tombstone)) }
        writer.abandon()
    }

    @Test func everyCorruptedRegionIsDetectedWithFileAndOffset() throws {
        let fs = MemFileSystem()
        let entries = Self.entries(800, seed: 3)
        try write(fs, "/idx/3.sst", entries)
        let pristine = fs.contents(of: "/idx/3.sst")!
        var rng = SeededRandom(seed: 77)
        var detected = 0
        for _ in 0..<60 {
            var bytes = pristine
            let at = Int(rng.next() % UInt64(bytes.count))
            bytes[at] ^= 0x20
            fs.setContents(of: "/idx/3.sst", bytes)
            do {
                let file = try IndexFile(fileSystem: fs, path: "/idx/3.sst", id: 3)
                try file.forEachEntry { _, _ in }
                Issue.record("a flipped bit at byte \(at) went unnoticed")
            } catch let error as StorageError {
                #expect(error.code == .corruption)
                #expect(error.path == "/idx/3.sst")
                #expect(error.offset != nil)
                detected += 1
            }
        }
        #expect(detected == 60)
    }

    @Test func manifestRoundTripAndCorruption() throws {
        let manifest = Manifest(checkpointLSN: 42, nextFileID: 9, files: [
            .init(id: 3, maxLSN: 20, entries: 100, bytes: 4096), .init(id: 8, maxLSN: 42, entries: 7, bytes: 300),
        ])
        let bytes = manifest.encoded()
        #expect(try Manifest.decode(bytes, path: "M") == manifest)
        for index in 0..<bytes.count {
            var damaged = bytes
            damaged[index] ^= 1
            #expect(throws: StorageError.self) { try Manifest.decode(damaged, path: "M") }
        }
        #expect(throws: StorageError.self) { try Manifest.decode(Array(bytes.dropLast()), path: "M") }
        // Stored atomically: a crash after `store` keeps it; a leftover temp file is harmless.
        let fs = MemFileSystem()
        try fs.createDirectory("/d")
        try manifest.store(in: "/d", fileSystem: fs)
        #expect(try Manifest.load(from: "/d", fileSystem: fs.crashClone()) == manifest)
    }
}
