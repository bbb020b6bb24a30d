/// A small, fast, seedable generator (SplitMix64) so every randomized test can print its seed and
/// be replayed exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed from the environment variable `ANNALS_TEST_SEED` if set, else a fresh random one.
    public static func seedFromEnvironment(default fallback: UInt64? = nil) -> UInt64 {
        if let text = getenvString("ANNALS_TEST_SEED"), let value = UInt64(text) { return value }
        return fallback ?? UInt64.random(in: 1...UInt64.max)
    }

    /// `count` bytes that look like Temporal history events (JSON-ish text with repeated keys), so
    /// they compress like real payloads.
    public mutating func eventLikeBytes(count: Int) -> [UInt8] {
        let words = ["\"eventId\":", "\"eventType\":\"ActivityTaskScheduled\"", "\"workflowId\":\"order-",
                     "\"taskQueue\":{\"name\":\"orders\"}", "\"attempt\":1,", "\"payload\":\"", "\"identity\":\"worker@host-",
                     "\"scheduleToCloseTimeout\":\"60s\"", "{", "}", ",", "\"eventTime\":\"2026-11-29T04:"]
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 64)
        while bytes.count < count {
            bytes.append(contentsOf: words[Int(next() % UInt64(words.count))].utf8)
            let n = next() % 100_000
            bytes.append(contentsOf: String(n).utf8)
        }
        return Array(bytes.prefix(count))
    }

    public mutating func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}

import Glibc

private func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
