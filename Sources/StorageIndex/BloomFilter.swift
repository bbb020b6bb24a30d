import StorageCodec

/// A Bloom filter over XXH3-64 key hashes with double hashing (Kirsch–Mitzenmacher).
/// At 10 bits per key and 7 probes the false-positive rate is about 1 %.
public struct BloomFilter: Sendable, Equatable {
    public static let bitsPerKey = 10
    public static let probes = 7

    public private(set) var bits: [UInt64]
    public let probeCount: Int

    public init(expectedKeys: Int) {
        let bitCount = max(64, expectedKeys * Self.bitsPerKey)
        self.bits = [UInt64](repeating: 0, count: (bitCount + 63) / 64)
        self.probeCount = Self.probes
    }

    public init(words: [UInt64], probes: Int) {
        self.bits = words
        self.probeCount = probes
    }

    public static func hash(_ key: [UInt8]) -> UInt64 { Checksum.xxh3(key) }

    public mutating func insert(hash: UInt64) {
        let bitCount = UInt64(bits.count * 64)
        var h = hash
        let delta = (hash >> 33) | (hash << 31)
        for _ in 0..<probeCount {
            let bit = h % bitCount
            bits[Int(bit / 64)] |= 1 << (bit % 64)
            h &+= delta
        }
    }

    public func mayContain(hash: UInt64) -> Bool {
        let bitCount = UInt64(bits.count * 64)
        var h = hash
        let delta = (hash >> 33) | (hash << 31)
        for _ in 0..<probeCount {
            let bit = h % bitCount
            if bits[Int(bit / 64)] & (1 << (bit % 64)) == 0 { return false }
            h &+= delta
        }
        return true
    }
}
