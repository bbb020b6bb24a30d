import Synchronization

/// Decompressed, checksum-verified data blocks of index files, shared by every file of a store,
/// so a hot block is read, verified and decompressed once. At most `capacityBytes` of block bytes
/// (plus one block) are held, in two generations: blocks enter the young one; when it holds half
/// the capacity it becomes the old one and the previous old one is dropped; a hit in the old one
/// moves the block back to the young one. That keeps what was used in the last half-capacity of
/// insertions, in O(1) per operation, without a per-block list.
public final class BlockCache: Sendable {
    struct Key: Hashable {
        var file: UInt64
        var block: Int
    }

    private struct State {
        var young: [Key: [UInt8]] = [:]
        var youngBytes = 0
        var old: [Key: [UInt8]] = [:]
        var oldBytes = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0

        mutating func insert(_ key: Key, _ block: [UInt8], capacity: Int) {
            if let replaced = young.updateValue(block, forKey: key) { youngBytes -= replaced.count }
            youngBytes += block.count
            if youngBytes >= capacity / 2 {
                old = young
                oldBytes = youngBytes
                young = [:]
                youngBytes = 0
            }
        }
    }

    public let capacityBytes: Int
    private let state = Mutex(State())

    public init(capacityBytes: Int) {
        precondition(capacityBytes >= 0)
        self.capacityBytes = capacityBytes
    }

    func get(file: UInt64, block: Int) -> [UInt8]? {
        let key = Key(file: file, block: block)
        return state.withLock { state in
            if let hit = state.young[key] {
                state.hits += 1
                return hit
            }
            if let hit = state.old.removeValue(forKey: key) {
                state.oldBytes -= hit.count
                state.hits += 1
                state.insert(key, hit, capacity: capacityBytes)
                return hit
            }
            state.misses += 1
            return nil
        }
    }

    func put(file: UInt64, block: Int, _ raw: [UInt8]) {
        guard capacityBytes > 0, raw.count <= capacityBytes / 2 else { return }
        state.withLock { $0.insert(Key(file: file, block: block), raw, capacity: capacityBytes) }
    }

    /// Bytes held, hits and misses so far.
    public var statistics: (bytes: Int, hits: UInt64, misses: UInt64) {
        state.withLock { ($0.youngBytes + $0.oldBytes, $0.hits, $0.misses) }
    }
}
