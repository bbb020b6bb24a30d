import StorageIndex
import StorageTesting
import Testing

@Suite("Memtable")
struct MemtableTests {
    /// `apply` takes a batch's writes in runs of one partition (one hash lookup per run); the
    /// result, its byte and entry counts included, must be what setting the writes one at a
    /// time gives, whatever the runs look like.
    @Test func applyingABatchEqualsSettingItsWritesOneByOne() {
        let seed = SeededRandom.seedFromEnvironment(default: 0x3E37)
        print("MemtableTests seed=\(seed)")
        var rng = SeededRandom(seed: seed)
        let partitions = (0..<3).map { Memtable.Partition(table: "t\($0 % 2)", key: [UInt8($0)]) }
        var batched = Memtable()
        var single = Memtable()
        for lsn in UInt64(1)...400 {
            var writes: [Memtable.Write] = []
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let partition = partitions[Int(rng.next() % UInt64(partitions.count))]
                let clustering = [UInt8(rng.next() % 40)]
                let value: IndexValue = rng.next() % 5 == 0 ? .tombstone : .inline(rng.bytes(count: Int(rng.next() % 30)))
                writes.append(Memtable.Write(partition: partition, clustering: clustering, value: value))
            }
            batched.apply(writes, lsn: lsn)
            for write in writes { single.set(write.partition, write.clustering, IndexEntry(lsn: lsn, value: write.value)) }
            #expect(batched.bytes == single.bytes, "seed \(seed) lsn \(lsn)")
            #expect(batched.entries == single.entries, "seed \(seed) lsn \(lsn)")
        }
        #expect(batched.maxLSN == 400)
        var a: [([UInt8], IndexEntry)] = []
        var b: [([UInt8], IndexEntry)] = []
        batched.forEachSorted { a.append(($0, $1)) }
        single.forEachSorted { b.append(($0, $1)) }
        #expect(a.map(\.0) == b.map(\.0), "seed \(seed)")
        #expect(a.map(\.1) == b.map(\.1), "seed \(seed)")
        for partition in partitions {
            for key in 0..<40 {
                #expect(batched.get(partition, [UInt8(key)]) == single.get(partition, [UInt8(key)]), "seed \(seed)")
            }
        }
    }

    /// An empty batch (a record that wrote nothing) still advances the applied LSN, as replay
    /// and the checkpoint need.
    @Test func anEmptyBatchStillAdvancesTheAppliedLSN() {
        var memtable = Memtable()
        memtable.apply([], lsn: 7)
        #expect(memtable.maxLSN == 7)
        #expect(memtable.isEmpty)
    }
}
