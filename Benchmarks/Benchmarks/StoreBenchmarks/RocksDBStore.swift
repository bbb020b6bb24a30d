import StoreWorkload
import Glibc
import CRocksDB
import Synchronization

/// RocksDB (librocksdb C API): WAL with sync on every write, a per-shard lock around the
/// compare-and-set's read-check-write. Two settings: one transaction per write from 16 threads
/// (RocksDB groups the concurrent writers' syncs itself), and `transactions(shard:_:)`, 16
/// transactions per write from 4 threads (the caller groups them; `driveBatched`).
final class RocksDBStore: BlockingStore, @unchecked Sendable {
    public let name = "rocksdb"
    let db: OpaquePointer
    let writeOptions: OpaquePointer
    let readOptions: OpaquePointer
    let options: OpaquePointer
    let shardLocks = (0..<Workload.shards).map { _ in ShardLock() }

    final class ShardLock: Sendable { let mutex = Mutex(()) }

    init(directory: String) throws {
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, 2)
        var error: UnsafeMutablePointer<CChar>?
        guard let handle = rocksdb_open(options, directory + "/rocksdb", &error) else {
            throw BenchmarkFailure(description: "rocksdb open: \(error.map { String(cString: $0) } ?? "?")")
        }
        db = handle
        writeOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(writeOptions, 1)
        readOptions = rocksdb_readoptions_create()
    }

    private func get(_ key: String) throws -> [UInt8]? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = key.withCString { rocksdb_get(db, readOptions, $0, strlen($0), &length, &error) }
        if let error { throw BenchmarkFailure(description: "rocksdb get: \(String(cString: error))") }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func transaction(workflow: Int, version: Int) throws {
        try transactions(shard: Workload.shard(of: workflow), [(workflow, version)])
    }

    /// Several workflows' transactions (all in `shard`) in one `WriteBatch`, one WAL sync: the
    /// group commit done by the caller, RocksDB's best setting in the log's anchors.
    func transactions(shard: Int, _ items: [(workflow: Int, version: Int)]) throws {
        try shardLocks[shard].mutex.withLock { _ in
            let batch = rocksdb_writebatch_create()
            defer { rocksdb_writebatch_destroy(batch) }
            func put(_ key: String, _ value: [UInt8]) {
                key.withCString { k in value.withUnsafeBytes { v in
                    rocksdb_writebatch_put(batch, k, strlen(k), v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                } }
            }
            for (workflow, version) in items {
                precondition(Workload.shard(of: workflow) == shard)
                let stateKey = "e/\(shard)/\(workflow)"
                let current = try get(stateKey)
                let currentVersion = current.map { $0.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } } ?? 0
                guard currentVersion == UInt64(version) else { throw BenchmarkFailure(description: "rocksdb: version mismatch") }
                for i in 0..<Workload.eventsPerTransaction {
                    let node = version * Workload.eventsPerTransaction + i
                    put("h/\(workflow)/\(String(repeating: "0", count: 8 - String(node).count))\(node)", Workload.events[(workflow + node) % Workload.events.count])
                }
                var state: [UInt8] = []
                withUnsafeBytes(of: UInt64(version + 1)) { state.append(contentsOf: $0) }
                state += Workload.states[(workflow + version) % Workload.states.count]
                put(stateKey, state)
                put("t/\(shard)/\(workflow)/\(version)", Workload.tasks[version % Workload.tasks.count])
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_write(db, writeOptions, batch, &error)
            if let error { throw BenchmarkFailure(description: "rocksdb write: \(String(cString: error))") }
        }
    }

    public func readState(workflow: Int) throws -> Int {
        try get("e/\(Workload.shard(of: workflow))/\(workflow)")?.count ?? 0
    }

    public func readHistory(workflow: Int, limit: Int) throws -> Int {
        let iterator = rocksdb_create_iterator(db, readOptions)
        defer { rocksdb_iter_destroy(iterator) }
        let prefix = "h/\(workflow)/"
        prefix.withCString { rocksdb_iter_seek(iterator, $0, strlen($0)) }
        var rows = 0
        while rows < limit && rocksdb_iter_valid(iterator) != 0 {
            var length = 0
            let key = rocksdb_iter_key(iterator, &length)!
            let text = String(decoding: UnsafeRawBufferPointer(start: key, count: length), as: UTF8.self)
            guard text.hasPrefix(prefix) else { break }
            rows += 1
            rocksdb_iter_next(iterator)
        }
        return rows
    }

    public func close() {
        rocksdb_close(db)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_options_destroy(options)
    }
}

/// RocksDB with the caller's group commit: one thread per shard, each writing all 16 of its
/// workflows' next transactions in one `WriteBatch` with one sync, `perWorkflow` times. Every
/// transaction's latency is its batch's.
func driveBatched(_ store: RocksDBStore, _ versions: Versions, perWorkflow: Int) async throws -> (Double, [Int]) {
    try await driveThreads(Workload.shards, versions, perWorkflow: perWorkflow) { shard, snapshot in
        let workflows = Array(stride(from: shard, to: Workload.workflows, by: Workload.shards))
        var mine: [Int] = []
        for step in 0..<perWorkflow {
            let t0 = ContinuousClock.now
            try store.transactions(shard: shard, workflows.map { ($0, snapshot[$0] + step) })
            mine += Array(repeating: micros(ContinuousClock.now - t0), count: workflows.count)
        }
        return mine
    }
}
