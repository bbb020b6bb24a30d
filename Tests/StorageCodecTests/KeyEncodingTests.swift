import StorageCodec
import StorageIO
import StorageTesting
import Testing

@Suite("Key encoding")
struct KeyEncodingTests {
    /// The order Cassandra gives tuples of these components.
    static func compare(_ a: KeyComponent, _ b: KeyComponent) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a, b) {
        case (.int(let x), .int(let y)), (.timestamp(let x), .timestamp(let y)): return cmp(x, y)
        case (.uint(let x), .uint(let y)): return cmp(x, y)
        case (.string(let x), .string(let y)): return compareKeys(Array(x.utf8), Array(y.utf8))
        case (.bytes(let x), .bytes(let y)), (.uuid(let x), .uuid(let y)): return compareKeys(x, y)
        default: preconditionFailure("same schema")
        }
    }

    static func randomComponent(kind: Int, _ rng: inout SeededRandom) -> KeyComponent {
        switch kind {
        case 0: return .int(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64))
        case 1: return .uint(rng.next() >> (rng.next() % 64))
        case 2: return .timestamp(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64))
        case 3:
            let alphabet: [String] = ["", "a", "b", "\u{0}", "ab", "é", "z\u{0}z", "workflow-1", "workflow-10"]
            return .string((0..<Int(rng.next() % 3)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined())
        case 4: return .bytes((0..<Int(rng.next() % 4)).map { _ in [0, 1, 0xFF, 0x80][Int(rng.next() % 4)] })
        default: return .uuid(rng.bytes(count: 16).map { $0 & 0x03 })
        }
    }

    @Test func orderIsPreservedAscendingAndDescending() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x6E7)
        print("KeyEncodingTests seed=\(seed)")
        var rng = SeededRandom(seed: seed)
        for _ in 0..<300 {
            let arity = 1 + Int(rng.next() % 3)
            let kinds = (0..<arity).map { _ in Int(rng.next() % 6) }
            let orders = (0..<arity).map { _ in rng.next() % 2 == 0 ? KeyOrder.ascending : .descending }
            let keys = (0..<12).map { _ in kinds.map { Self.randomComponent(kind: $0, &rng) } }
            for a in keys {
                let ea = KeyEncoding.encode(a, order: orders)
                let decoded = try KeyEncoding.decode(ea)
                #expect(decoded.map(\.0) == a)
                #expect(decoded.map(\.1) == orders)
                for b in keys {
                    var expected = 0
                    for i in 0..<arity where expected == 0 {
                        let c = Self.compare(a[i], b[i])
                        expected = orders[i] == .ascending ? c : -c
                    }
                    let actual = compareKeys(ea, KeyEncoding.encode(b, order: orders))
                    #expect(actual == expected, "seed \(seed): \(a) vs \(b) orders \(orders)")
                }
            }
        }
    }

    @Test func malformedKeysAreRejectedWithAnOffset() {
        for bad: [UInt8] in [[0x10, 1, 2], [0x99], [0x20, 0x41], [0x20, 0x00, 0x07], [0x30, 1]] {
            do {
                _ = try KeyEncoding.decode(bad)
                Issue.record("decoded malformed key \(bad)")
            } catch let error as StorageError {
                #expect(error.code == .corruption)
                #expect(error.offset != nil)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func goldenBytes() {
        // Part of the on-disk format (docs/format/keys.md): these bytes must never change.
        #expect(KeyEncoding.encode([.int(-1)]) == [0x10, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(KeyEncoding.encode([.uint(258)]) == [0x11, 0, 0, 0, 0, 0, 0, 1, 2])
        #expect(KeyEncoding.encode([.string("a\u{0}b")]) == [0x20, 0x61, 0x00, 0xFF, 0x62, 0x00, 0x01])
        #expect(KeyEncoding.encode([.string("")], order: [.descending]) == [0x80, 0xDF, 0xFF, 0xFE])
        #expect(KeyEncoding.encode([.int(1), .string("x")], order: [.descending, .ascending])
            == [0x80, 0xEF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0x20, 0x78, 0x00, 0x01])
        #expect(KeyEncoding.encode([.bytes([0, 0]), .timestamp(0)]) == [0x21, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x01, 0x12, 0x80, 0, 0, 0, 0, 0, 0, 0])
    }
}
