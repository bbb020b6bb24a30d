import StorageLog
import StorageCodec
import StorageEngine
import StorageIO
import StorageTesting
import Synchronization
import Testing

/// Seeded random operations against the store and an in-memory reference, with reopens and
/// simulated crashes in between; the seed is printed.
@Suite("Store model")
struct StoreModelTests {
    typealias Model = [String: [Key: [Key: Row]]]  // table → partition → clustering → row

    static func randomKey(_ rng: inout SeededRandom) -> Key {
        Key([.string(["a", "b", "c"][Int(rng.next() % 3)]), .int(Int64(rng.next() % 12))], order: [.ascending, .descending])
    }

    static func randomRow(_ rng: inout SeededRandom) -> Row {
        var row = Row()
        for _ in 0..<Int(rng.next() % 3) { row[["x", "y", "z"][Int(rng.next() % 3)]] = rng.bytes(count: Int(rng.next() % 40)) }
        return row
    }

    @Test func storeMatchesTheModel() async throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0x5707E)
        print("StoreModelTests seed=\(seed) (ANNALS_TEST_SEED replays)")
        var rng = SeededRandom(seed: seed)
        var fs = MemFileSystem()
        var store = try Store.open(directory: storeDirectory, fileSystem: fs, options: LogOptionsForTests.store)
        var model: Model = [:]
        var flushes = 0
        var compactions = 0
        var cleanings = 0
        let tables = ["executions", "tasks"]
        let partitions = (0..<3).map { Key(.int(Int64($0))) }

        for step in 0..<600 {
            let table = tables[Int(rng.next() % 2)]
            let partition = partitions[Int(rng.next() % 3)]
            var mutations: [Mutation] = []
            var next = model
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let key = Self.randomKey(&rng)
                switch rng.next() % 10 {
                case 0..<4:
                    let row = Self.randomRow(&rng)
                    mutations.append(.put(table, partition, key, row))
                    next[table, default: [:]][partition, default: [:]][key] = row
                case 4..<6:
                    var columns: [String: [UInt8]?] = [:]
                    for name in ["x", "y"] where rng.next() % 2 == 0 { columns[name] = rng.next() % 3 == 0 ? nil : rng.bytes(count: 5) }
                    mutations.append(.update(table, partition, key, columns))
                    var row = next[table]?[partition]?[key] ?? Row()
                    for (name, v) in columns { row.columns[name] = v }
                    next[table, default: [:]][partition, default: [:]][key] = row
                case 6..<8:
                    mutations.append(.delete(table, partition, key))
                    next[table, default: [:]][partition, default: [:]][key] = nil
                default:
                    let other = Self.randomKey(&rng)
                    let (low, high) = key < other ? (key, other) : (other, key)
                    mutations.append(.deleteRange(table, partition, from: low, to: high))
                    for existing in next[table]?[partition]?.keys.filter({ $0 >= low && $0 < high }) ?? [] {
                        next[table, default: [:]][partition, default: [:]][existing] = nil
                    }
                }
            }
            if rng.next() % 3 == 0 {
                // Conditional: on a random key's current version.
                let key = Self.randomKey(&rng)
                let current = model[table]?[partition]?[key]
                let expectHold = rng.next() % 2 == 0
                let condition: Condition = expectHold
                    ? (current == nil ? .rowAbsent(key) : .columnEquals(key, column: "x", value: current!["x"]))
                    : (current == nil ? .rowPresent(key) : .rowAbsent(key))
                let outcome = try await store.compareAndSet(table: table, partition: partition, conditions: [condition], mutations: mutations)
                if expectHold {
                    #expect(outcome == .applied, "seed \(seed) step \(step)")
                    model = next
                } else {
                    #expect(outcome == .notApplied(current: [ConditionedRow(clustering: key, row: current)]), "seed \(seed) step \(step)")
                }
            } else {
                try await store.write(mutations)
                model = next
            }

            let ending = rng.next() % 40
            if ending < 2 {
                flushes += store.statistics.flushes
                compactions += store.statistics.compactions
                cleanings += store.statistics.cleanedSegments
            }
            switch ending {
            case 0:
                await store.close()
                store = try Store.open(directory: storeDirectory, fileSystem: fs, options: LogOptionsForTests.store)
            case 1:
                // Power loss after an acknowledged write: everything acknowledged survives.
                fs = fs.crashClone(.tornUnsynced(seed: rng.next()))
                store = try Store.open(directory: storeDirectory, fileSystem: fs, options: LogOptionsForTests.store)
            default:
                break
            }
            if step % 25 == 0 || step == 599 {
                for table in tables {
                    for partition in partitions {
                        let expected: [(key: Key, value: Row)] = (model[table]?[partition] ?? [:]).sorted { $0.key < $1.key }
                        let page = try store.scan(table: table, partition: partition, limit: 1000)
                        #expect(page.rows.map(\.clustering) == expected.map(\.key), "seed \(seed) step \(step) \(table) \(partition)")
                        #expect(page.rows.map(\.row) == expected.map(\.value), "seed \(seed) step \(step)")
                    }
                }
            }
        }
        flushes += store.statistics.flushes
        compactions += store.statistics.compactions
        cleanings += store.statistics.cleanedSegments
        print("StoreModelTests: \(flushes) flushes, \(compactions) compactions, \(cleanings) cleaned log segments")
        #expect(flushes > 10 && compactions > 2, "the model test must exercise index files")
        #expect(cleanings > 0, "the model test must exercise log cleaning")
        await store.close()

        // The log that cleaning left still rebuilds the same store on its own.
        for name in try fs.contentsOfDirectory(storeDirectory) where name.hasSuffix(".sst") || name == "MANIFEST" {
            try fs.removeFile(storeDirectory + "/" + name)
        }
        store = try Store.open(directory: storeDirectory, fileSystem: fs, options: StoreOptions(log: LogOptionsForTests.small, cleaningRatio: nil))
        for table in tables {
            for partition in partitions {
                let expected: [(key: Key, value: Row)] = (model[table]?[partition] ?? [:]).sorted { $0.key < $1.key }
                let page = try store.scan(table: table, partition: partition, limit: 1000)
                #expect(page.rows.map(\.clustering) == expected.map(\.key), "rebuilt from the cleaned log: \(table) \(partition)")
                #expect(page.rows.map(\.row) == expected.map(\.value))
            }
        }
        await store.close()
    }

    @Test(arguments: [false, true])
    func concurrentBatchesAreAtomicAcrossCrashes(torn: Bool) async throws {
        let seed = SeededRandom.seedFromEnvironment(default: torn ? 0xA70 : 0xA71)
        print("StoreModelTests.concurrentBatchesAreAtomicAcrossCrashes torn=\(torn) seed=\(seed)")
        var rng = SeededRandom(seed: seed)
        var fs = MemFileSystem()
        var acknowledged = Set<Int>()
        var batchID = 0
        for round in 0..<8 {
            let store = try Store.open(directory: storeDirectory, fileSystem: fs, options: LogOptionsForTests.store)
            // Every batch writes its id into 3 partitions; after a crash each batch is all or nothing.
            var present: [Int: Int] = [:]
            for p in 0..<6 {
                for (_, row) in try store.scan(table: "t", partition: Key(.int(Int64(p))), limit: 10_000).rows {
                    let id = Int(String(decoding: row["batch"]!, as: UTF8.self))!
                    present[id, default: 0] += 1
                }
            }
            for (id, count) in present { #expect(count == 3, "seed \(seed) round \(round): batch \(id) is partial (\(count) of 3 rows)") }
            for id in acknowledged { #expect(present[id] == 3, "seed \(seed) round \(round): acknowledged batch \(id) lost") }

            let batches = (0..<40).map { _ -> (Int, [Mutation]) in
                batchID += 1
                let parts = (0..<6).shuffled(using: &rng).prefix(3)
                return (batchID, parts.map { .put("t", Key(.int(Int64($0))), Key(.int(Int64(batchID))), Row(["batch": value("\(batchID)")])) })
            }
            let acks = AckSet()
            let crashAfter = Int(rng.next() % 40)
            let cloneSeed = rng.next()
            let current = fs
            let (clone, ackedAtCrash) = await withTaskGroup(of: (MemFileSystem, Set<Int>)?.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        for (id, mutations) in batches.enumerated().filter({ $0.offset % 8 == lane }).map({ $0.element }) {
                            if (try? await store.write(mutations)) != nil { acks.ids.withLock { _ = $0.insert(id) } }
                        }
                        return nil
                    }
                }
                group.addTask {
                    while acks.ids.withLock({ $0.count }) < crashAfter { await Task.yield() }
                    let snapshot = acks.ids.withLock { $0 }
                    return (current.crashClone(torn ? .tornUnsynced(seed: cloneSeed) : .syncedOnly), snapshot)
                }
                var result: (MemFileSystem, Set<Int>)? = nil
                for await r in group { if let r { result = r } }
                return result!
            }
            acknowledged.formUnion(ackedAtCrash)
            await store.close()
            fs = clone
        }
    }
}

enum LogOptionsForTests {
    static let small = LogOptions(segmentBytes: 16 << 10)
    /// Tiny memtables and an early compaction trigger, so tests go through flushes, index files,
    /// the manifest and compactions many times.
    static let store = StoreOptions(
        log: LogOptions(segmentBytes: LogLimits.minSegmentBytes), memtableBytes: 3000, compactionTrigger: 3, cleaningRatio: 1.5)
}

final class AckSet: Sendable {
    let ids = Mutex<Set<Int>>([])
}
