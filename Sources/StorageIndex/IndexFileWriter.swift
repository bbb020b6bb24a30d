public import StorageIO
import StorageCodec

/// Writes one index file from entries given in ascending key order, then syncs it.
public struct IndexFileWriter {
    public let path: String
    let handle: any FileHandle
    let compress: Bool
    var offset: Int64 = 0
    var block: [UInt8] = []
    var blockLastKey: [UInt8]? = nil
    var lastKey: [UInt8]? = nil
    /// (last key, offset, framed length) per data block.
    var blocks: [(key: [UInt8], offset: Int64, length: Int)] = []
    var hashes: [UInt64] = []
    public private(set) var entryCount: UInt64 = 0
    var maxLSN: UInt64 = 0
    var pending: [UInt8] = []

    /// Creates the file (it must not exist).
    public init(fileSystem: any FileSystem, path: String, compress: Bool = true) throws {
        self.path = path
        self.handle = try fileSystem.open(path, .createNew)
        self.compress = compress
    }

    public mutating func add(_ key: [UInt8], _ entry: IndexEntry) throws {
        if let lastKey, !lessThan(lastKey, key) {
            throw StorageError(.invalidArgument, "index file keys must be strictly ascending", path: path)
        }
        lastKey = key
        IndexFileFormat.encodeEntry(key, entry, into: &block)
        blockLastKey = key
        hashes.append(BloomFilter.hash(key))
        entryCount += 1
        maxLSN = max(maxLSN, entry.lsn)
        if block.count >= IndexFileFormat.targetBlockBytes { try closeBlock() }
    }

    private mutating func closeBlock() throws {
        guard let last = blockLastKey else { return }
        let start = pending.count
        IndexFileFormat.frameBlock(block, compress: compress, into: &pending)
        blocks.append((last, offset + Int64(start), pending.count - start))
        block.removeAll(keepingCapacity: true)
        blockLastKey = nil
        if pending.count >= 1 << 20 { try flushPending() }
    }

    private mutating func flushPending() throws {
        try handle.writeAll(pending, at: offset)
        offset += Int64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes the bloom filter, block index and footer, syncs and closes the file.
    /// Returns the file's size in bytes.
    public mutating func finish() throws -> (bytes: Int64, entries: UInt64, maxLSN: UInt64) {
        try closeBlock()
        var bloom = BloomFilter(expectedKeys: hashes.count)
        for hash in hashes { bloom.insert(hash: hash) }
        var bloomRaw: [UInt8] = []
        bloomRaw.appendLE(UInt32(bloom.probeCount))
        bloomRaw.appendLE(UInt32(bloom.bits.count))
        for word in bloom.bits { bloomRaw.appendLE(word) }
        let bloomOffset = offset + Int64(pending.count)
        IndexFileFormat.frameBlock(bloomRaw, compress: false, into: &pending)
        let bloomLength = offset + Int64(pending.count) - bloomOffset

        var indexRaw: [UInt8] = []
        indexRaw.appendLE(UInt32(blocks.count))
        for b in blocks {
            indexRaw.appendLE(UInt32(b.key.count))
            indexRaw.append(contentsOf: b.key)
            indexRaw.appendLE(UInt64(b.offset))
            indexRaw.appendLE(UInt32(b.length))
        }
        let indexOffset = offset + Int64(pending.count)
        IndexFileFormat.frameBlock(indexRaw, compress: compress, into: &pending)
        let indexLength = offset + Int64(pending.count) - indexOffset
        pending.append(contentsOf: IndexFooter(
            bloomLength: UInt32(bloomLength), indexOffset: UInt64(indexOffset), indexLength: UInt32(indexLength),
            bloomOffset: UInt64(bloomOffset), entryCount: entryCount, maxLSN: maxLSN).encoded())
        try flushPending()
        try handle.sync()
        handle.close()
        return (offset, entryCount, maxLSN)
    }

    /// Closes without finishing (the caller removes the file).
    public func abandon() {
        handle.close()
    }
}
