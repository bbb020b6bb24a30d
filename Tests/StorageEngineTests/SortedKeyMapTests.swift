import StorageCodec
import StorageIndex
import StorageTesting
import Testing

@Suite("Sorted key map")
struct SortedKeyMapTests {
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
