import StorageCodec
import StorageIndex
import StorageTesting
import Testing

@Suite("Sorted key map")
struct SortedKeyMapTests {
    /// Mostly appends (the memtable's common case: histories and task ids grow), mixed with
    /// inserts before the end and removes, across many full chunks.
    @Test func appendsMixedWithInsertsMatchAReferenceModel() {
        let seed = SeededRandom.seedFromEnvironment(default: 0xA99E)
        print("SortedKeyMapTests appends seed=\(seed)")
        var rng = SeededRandom(seed: seed)
        var map = SortedKeyMap<Int>()
        var model: [[UInt8]: Int] = [:]
        func key(_ n: UInt64) -> [UInt8] { withUnsafeBytes(of: n.bigEndian) { Array($0) } }
        var next: UInt64 = 1000
        for step in 0..<(SortedKeyMap<Int>.chunkCapacity * 40) {
            let roll = rng.next() % 10
            let k: [UInt8]
            if roll < 7 {
                next += 1 + rng.next() % 3
                k = key(next)
            } else {
                k = key(rng.next() % next)
            }
            if roll == 9 {
                map.remove(k)
                model[k] = nil
            } else {
                map.set(k, step)
                model[k] = step
            }
        }
        var got: [([UInt8], Int)] = []
        map.forEach(from: nil, to: nil) { got.append(($0, $1)); return true }
        let expected = model.sorted { compareKeys($0.key, $1.key) < 0 }
        #expect(map.count == model.count, "seed \(seed)")
        #expect(got.map(\.0) == expected.map(\.key), "seed \(seed)")
        #expect(got.map(\.1) == expected.map(\.value), "seed \(seed)")
        for (k, v) in model { #expect(map[k] == v, "seed \(seed)") }
        var reversed: [[UInt8]] = []
        map.forEach(from: nil, to: nil, reverse: true) { k, _ in reversed.append(k); return true }
        #expect(reversed == expected.map(\.key).reversed(), "seed \(seed)")
    }

    @Test func matchesAReferenceModel() {
        let seed = SeededRandom.seedFromEnvironment(default: 0x50F7)
        print("SortedKeyMapTests seed=\(seed)")
        var rng = SeededRandom(seed: seed)
        var map = SortedKeyMap<Int>()
        var model: [[UInt8]: Int] = [:]
        func randomKey() -> [UInt8] { (0..<Int(rng.next() % 4)).map { _ in UInt8(rng.next() % 6) } + [UInt8(rng.next() % 200)] }
        for step in 0..<20_000 {
            let key = randomKey()
            if rng.next() % 4 == 0 {
                map.remove(key)
                model[key] = nil
            } else {
                map.set(key, step)
                model[key] = step
            }
            if step % 997 == 0 {
                let lower = rng.next() % 3 == 0 ? nil : Optional(randomKey())
                let upper = rng.next() % 3 == 0 ? nil : Optional(randomKey())
                let reverse = rng.next() % 2 == 0
                var got: [([UInt8], Int)] = []
                map.forEach(from: lower, to: upper, reverse: reverse) { got.append(($0, $1)); return true }
                var expected = model.filter { (lower == nil || compareKeys($0.key, lower!) >= 0) && (upper == nil || compareKeys($0.key, upper!) < 0) }
                    .sorted { compareKeys($0.key, $1.key) < 0 }.map { ($0.key, $0.value) }
                if reverse { expected.reverse() }
                #expect(got.map(\.0) == expected.map(\.0), "seed \(seed) step \(step)")
                #expect(got.map(\.1) == expected.map(\.1))
            }
        }
        #expect(map.count == model.count)
        for (key, value) in model { #expect(map[key] == value) }
    }
}
