public import StorageIO
import StorageCodec

/// An open, immutable index file: its block index and bloom filter in memory, data blocks read on
/// demand (each checked against its checksum). Safe to share between threads.
public final class IndexFile: Sendable {
    public let id: UInt64
    public let path: String
    public let bytes: Int64
    public let entryCount: UInt64
    public let maxLSN: UInt64
    let handle: any FileHandle
    let blockKeys: [[UInt8]]
    let blockOffsets: [Int64]
    let blockLengths: [Int]
    let bloom: BloomFilter
    /// Shared with the store's other files; nil: every read goes to the file.
    let cache: BlockCache?

    public init(fileSystem: any FileSystem, path: String, id: UInt64, cache: BlockCache? = nil) throws {
        let handle = try fileSystem.open(path, .readOnly)
        do {
            let size = try handle.size()
            let footerBytes = try handle.read(count: IndexFileFormat.footerSize, at: max(0, size - Int64(IndexFileFormat.footerSize)))
            let footer = try IndexFooter.decode(footerBytes, path: path, fileSize: size)
            let indexRaw = try IndexFileFormat.unframeBlock(
                try handle.read(count: Int(footer.indexLength), at: Int64(footer.indexOffset)), path: path, offset: Int64(footer.indexOffset))
            let bloomRaw = try IndexFileFormat.unframeBlock(
                try handle.read(count: Int(footer.bloomLength), at: Int64(footer.bloomOffset)), path: path, offset: Int64(footer.bloomOffset))
            var keys: [[UInt8]] = []
            var offsets: [Int64] = []
            var lengths: [Int] = []
            try indexRaw.withUnsafeBytes { b in
                guard b.count >= 4 else { throw StorageError(.corruption, "index file block index is empty", path: path, offset: Int64(footer.indexOffset)) }
                let count = Int(b.loadLE(UInt32.self, at: 0))
                var p = 4
                for _ in 0..<count {
                    guard p + 4 <= b.count else { throw StorageError(.corruption, "block index truncated", path: path, offset: Int64(footer.indexOffset)) }
                    let n = Int(b.loadLE(UInt32.self, at: p))
                    guard p + 4 + n + 12 <= b.count else { throw StorageError(.corruption, "block index truncated", path: path, offset: Int64(footer.indexOffset)) }
                    keys.append(Array(b[(p + 4)..<(p + 4 + n)]))
                    offsets.append(Int64(b.loadLE(UInt64.self, at: p + 4 + n)))
                    lengths.append(Int(b.loadLE(UInt32.self, at: p + 12 + n)))
                    p += 16 + n
                }
            }
            let bloom: BloomFilter = try bloomRaw.withUnsafeBytes { b in
                guard b.count >= 8 else { throw StorageError(.corruption, "bloom block is too short", path: path, offset: Int64(footer.bloomOffset)) }
                let probes = Int(b.loadLE(UInt32.self, at: 0))
                let words = Int(b.loadLE(UInt32.self, at: 4))
                guard b.count == 8 + words * 8, probes > 0, probes < 64 else {
                    throw StorageError(.corruption, "bloom block has inconsistent sizes", path: path, offset: Int64(footer.bloomOffset))
                }
                return BloomFilter(words: (0..<words).map { b.loadLE(UInt64.self, at: 8 + $0 * 8) }, probes: probes)
            }
            self.id = id
            self.path = path
            self.bytes = size
            self.entryCount = footer.entryCount
            self.maxLSN = footer.maxLSN
            self.handle = handle
            self.blockKeys = keys
            self.blockOffsets = offsets
            self.blockLengths = lengths
            self.bloom = bloom
            self.cache = cache
        } catch {
            handle.close()
            throw error
        }
    }

    deinit { handle.close() }

    public var blockCount: Int { blockKeys.count }
    public var bloomBytes: Int { bloom.bits.count * 8 }

    /// The entry for exactly `key`, if this file has one.
    public func get(_ key: [UInt8]) throws -> IndexEntry? {
        guard bloom.mayContain(hash: BloomFilter.hash(key)) else { return nil }
        let block = firstBlock(atOrAfter: key)
        guard block < blockKeys.count else { return nil }
        // Found in place: only the matching entry is decoded.
        return try IndexFileFormat.findEntry(try rawBlock(block), key: key, path: path, blockOffset: blockOffsets[block])
    }

    /// Whether the bloom filter admits `key` (for tests and statistics).
    public func bloomMayContain(_ key: [UInt8]) -> Bool { bloom.mayContain(hash: BloomFilter.hash(key)) }

    /// The first block whose last key is >= `key`.
    func firstBlock(atOrAfter key: [UInt8]) -> Int {
        var low = 0
        var high = blockKeys.count
        while low < high {
            let mid = (low + high) / 2
            if lessThan(blockKeys[mid], key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// A data block's raw (verified, decompressed) bytes, through the cache unless `cached` is false.
    func rawBlock(_ index: Int, cached: Bool = true) throws -> [UInt8] {
        if cached, let hit = cache?.get(file: id, block: index) { return hit }
        let offset = blockOffsets[index]
        let raw = try IndexFileFormat.unframeBlock(try handle.read(count: blockLengths[index], at: offset), path: path, offset: offset)
        if cached { cache?.put(file: id, block: index, raw) }
        return raw
    }

    func readBlock(_ index: Int, cached: Bool = true) throws -> [(key: [UInt8], entry: IndexEntry)] {
        try IndexFileFormat.decodeEntries(try rawBlock(index, cached: cached), path: path, blockOffset: blockOffsets[index])
    }

    /// Every entry in key order (compaction, verification), read past the cache so a full pass
    /// does not evict the hot blocks.
    public func forEachEntry(_ body: ([UInt8], IndexEntry) throws -> Void) throws {
        for block in 0..<blockKeys.count {
            for (key, entry) in try readBlock(block, cached: false) { try body(key, entry) }
        }
    }

    public func cursor(from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool = false) throws -> IndexFileCursor {
        try IndexFileCursor(file: self, lower: lower, upper: upper, reverse: reverse)
    }
}

/// Walks one index file's entries in [lower, upper), ascending or descending, a block at a time.
public struct IndexFileCursor {
    let file: IndexFile
    let lower: [UInt8]?
    let upper: [UInt8]?
    let reverse: Bool
    var block: Int
    var entries: [(key: [UInt8], entry: IndexEntry)] = []
    var position = 0

    init(file: IndexFile, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) throws {
        self.file = file
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
        if reverse {
            block = upper.map { min(file.firstBlock(atOrAfter: $0), file.blockCount - 1) } ?? (file.blockCount - 1)
            try load()
            // Skip entries at or past the upper bound.
            if let upper { while position >= 0, position < entries.count, !lessThan(entries[position].key, upper) { try step() } }
        } else {
            block = lower.map { file.firstBlock(atOrAfter: $0) } ?? 0
            try load()
            if let lower { while position < entries.count, lessThan(entries[position].key, lower) { try step() } }
        }
    }

    private mutating func load() throws {
        guard block >= 0, block < file.blockCount else {
            entries = []
            position = 0
            return
        }
        entries = try file.readBlock(block)
        position = reverse ? entries.count - 1 : 0
    }

    private mutating func step() throws {
        if reverse {
            position -= 1
            while position < 0 && block > 0 {
                block -= 1
                try load()
            }
        } else {
            position += 1
            while position >= entries.count && block < file.blockCount - 1 {
                block += 1
                try load()
            }
        }
    }

    public var current: (key: [UInt8], entry: IndexEntry)? {
        guard position >= 0, position < entries.count else { return nil }
        let item = entries[position]
        if reverse {
            if let lower, lessThan(item.key, lower) { return nil }
        } else {
            if let upper, !lessThan(item.key, upper) { return nil }
        }
        return item
    }

    public mutating func advance() throws { try step() }
}
