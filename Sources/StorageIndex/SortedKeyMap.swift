import StorageCodec
/// An ordered map from byte-string keys to values: sorted chunks of at most `chunkCapacity`
/// entries, so inserts move at most one chunk and lookups are two binary searches.
///
/// Keys compare as unsigned bytes, a proper prefix first (the order of `KeyEncoding`).
public struct SortedKeyMap<Value: Sendable>: Sendable {
    public static var chunkCapacity: Int { 128 }

    private var chunks: [[(key: [UInt8], value: Value)]] = []
    /// Each chunk's last key: the first level of every search reads these (one array of keys)
    /// rather than each chunk's storage and then its last entry.
    private var fences: [[UInt8]] = []
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    public subscript(key: [UInt8]) -> Value? {
        get {
            guard let (c, i, found) = locate(key), found else { return nil }
            return chunks[c][i].value
        }
        set {
            if let newValue { set(key, newValue) } else { remove(key) }
        }
    }

    /// Sets the value for `key`; returns the value it replaced, if any.
    @discardableResult
    public mutating func set(_ key: [UInt8], _ value: Value) -> Value? {
        // Appends (a history growing, task ids increasing) are the common insert: one comparison
        // with the last key, and a full last chunk starts a new one instead of splitting in half.
        if isAfterLast(key) {
            if chunks[chunks.count - 1].count < Self.chunkCapacity {
                chunks[chunks.count - 1].append((key, value))
                fences[fences.count - 1] = key
            } else {
                chunks.append([(key, value)])
                fences.append(key)
            }
            count += 1
            return nil
        }
        guard let (c, i, found) = locate(key) else {
            chunks.append([(key, value)])
            fences.append(key)
            count += 1
            return nil
        }
        if found {
            let previous = chunks[c][i].value
            chunks[c][i].value = value
            return previous
        }
        // Not after the last key, so `key` sorts before chunk c's last key: its fence stays.
        chunks[c].insert((key, value), at: i)
        count += 1
        if chunks[c].count > Self.chunkCapacity {
            let upper = Array(chunks[c][(Self.chunkCapacity / 2)...])
            chunks[c].removeLast(upper.count)
            chunks.insert(upper, at: c + 1)
            fences.insert(upper[upper.count - 1].key, at: c + 1)
            fences[c] = chunks[c][chunks[c].count - 1].key
        }
        return nil
    }

    public mutating func remove(_ key: [UInt8]) {
        guard let (c, i, found) = locate(key), found else { return }
        chunks[c].remove(at: i)
        count -= 1
        if chunks[c].isEmpty {
            chunks.remove(at: c)
            fences.remove(at: c)
        } else if i == chunks[c].count {
            fences[c] = chunks[c][i - 1].key
        }
    }

    /// Visits entries with `lower <= key < upper` (nil bounds are open) in ascending order, or
    /// descending when `reverse`; `body` returns false to stop.
    public func forEach(
        from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool = false,
        _ body: ([UInt8], Value) throws -> Bool
    ) rethrows {
        guard !chunks.isEmpty else { return }
        let start = lower.map { position(of: $0) } ?? (0, 0)
        let end = upper.map { position(of: $0) } ?? (chunks.count, 0)
        if !reverse {
            var (c, i) = start
            while (c, i) < end {
                if c >= chunks.count { return }
                if i >= chunks[c].count {
                    c += 1
                    i = 0
                    continue
                }
                if try !body(chunks[c][i].key, chunks[c][i].value) { return }
                i += 1
            }
        } else {
            var (c, i) = end
            while true {
                if i == 0 {
                    if c == 0 { return }
                    c -= 1
                    i = chunks[c].count
                    continue
                }
                i -= 1
                if (c, i) < start { return }
                if try !body(chunks[c][i].key, chunks[c][i].value) { return }
            }
        }
    }

    /// A cursor over entries with `lower <= key < upper` (nil bounds are open), ascending or
    /// descending. It holds a copy of the map (O(1), copy-on-write), so the map may change meanwhile.
    public func cursor(from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool = false) -> Cursor {
        Cursor(map: self, lower: lower, upper: upper, reverse: reverse)
    }

    public struct Cursor: Sendable {
        let chunks: [[(key: [UInt8], value: Value)]]
        let lower: [UInt8]?
        let upper: [UInt8]?
        let reverse: Bool
        var c: Int
        var i: Int

        init(map: SortedKeyMap, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) {
            self.chunks = map.chunks
            self.lower = lower
            self.upper = upper
            self.reverse = reverse
            if reverse {
                (c, i) = upper.map { map.position(of: $0) } ?? (map.chunks.count, 0)
                // Position on the entry before (c, i).
                Self.stepBack(chunks, &c, &i)
            } else {
                (c, i) = lower.map { map.position(of: $0) } ?? (0, 0)
                Self.normalize(chunks, &c, &i)
            }
        }

        private static func normalize(_ chunks: [[(key: [UInt8], value: Value)]], _ c: inout Int, _ i: inout Int) {
            while c < chunks.count && i >= chunks[c].count {
                c += 1
                i = 0
            }
        }

        private static func stepBack(_ chunks: [[(key: [UInt8], value: Value)]], _ c: inout Int, _ i: inout Int) {
            while true {
                if i > 0 {
                    i -= 1
                    return
                }
                if c == 0 {
                    c = -1
                    return
                }
                c -= 1
                i = c < chunks.count ? chunks[c].count : 0
            }
        }

        /// The current entry, or nil when the range is exhausted.
        public var current: (key: [UInt8], value: Value)? {
            guard c >= 0, c < chunks.count, i < chunks[c].count else { return nil }
            let entry = chunks[c][i]
            if reverse {
                if let lower, lessThan(entry.key, lower) { return nil }
            } else {
                if let upper, !lessThan(entry.key, upper) { return nil }
            }
            return entry
        }

        public mutating func advance() {
            if reverse {
                Self.stepBack(chunks, &c, &i)
            } else {
                i += 1
                Self.normalize(chunks, &c, &i)
            }
        }
    }

    /// (chunk, index) of the first entry with key >= `key`.
    private func position(of key: [UInt8]) -> (Int, Int) {
        guard let (c, i, _) = locate(key) else { return (0, 0) }
        return (c, i)
    }

    /// Whether `key` sorts after every key of a non-empty map.
    private func isAfterLast(_ key: [UInt8]) -> Bool {
        key.withUnsafeBufferPointer { probe in
            fences.withUnsafeBufferPointer { fences in
                guard let last = fences.last else { return false }
                return compareBytes(last, probe) < 0
            }
        }
    }

    /// The chunk and index where `key` is or would be inserted; nil when the map is empty.
    ///
    /// Walks the chunks through buffer pointers, borrowing keys in place: indexing the arrays
    /// directly copies each probed entry (a retain and release of its key per comparison).
    private func locate(_ key: [UInt8]) -> (Int, Int, Bool)? {
        key.withUnsafeBufferPointer { probe in
            let low = fences.withUnsafeBufferPointer { fences -> Int? in
                guard !fences.isEmpty else { return nil }
                // First chunk whose last key >= key (or the last chunk).
                var low = 0
                var high = fences.count - 1
                while low < high {
                    let mid = (low + high) / 2
                    if compareBytes((fences.baseAddress! + mid).pointee, probe) < 0 { low = mid + 1 } else { high = mid }
                }
                return low
            }
            guard let low else { return nil }
            return chunks.withUnsafeBufferPointer { chunks -> (Int, Int, Bool)? in
                (chunks.baseAddress! + low).pointee.withUnsafeBufferPointer { entries in
                    var a = 0
                    var b = entries.count
                    while a < b {
                        let mid = (a + b) / 2
                        if compareBytes(entries[mid].key, probe) < 0 { a = mid + 1 } else { b = mid }
                    }
                    let found = a < entries.count && compareBytes(entries[a].key, probe) == 0
                    return (low, a, found)
                }
            }
        }
    }
}

/// Compares a stored key with a probe as unsigned bytes, a proper prefix first.
@inline(__always)
private func compareBytes(_ a: [UInt8], _ probe: UnsafeBufferPointer<UInt8>) -> Int {
    a.withUnsafeBufferPointer { x in
        let n = min(x.count, probe.count)
        if n > 0 {
            let r = memcmpBytes(x.baseAddress!, probe.baseAddress!, n)
            if r != 0 { return Int(r) }
        }
        return x.count - probe.count
    }
}

/// `a < b` in key order (`compareKeys`, a memcmp).
@inline(__always)
func lessThan(_ a: [UInt8], _ b: [UInt8]) -> Bool { compareKeys(a, b) < 0 }

import Glibc

@inline(__always)
private func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
    memcmp(a, b, n)
}
