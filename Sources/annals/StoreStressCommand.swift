import ArgumentParser
import Glibc
import StorageEngine
import StorageIO
import StorageLog

struct StoreStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract: "Run a seeded workload of conditional and unconditional batches, printing `ack N` per durable batch.",
        discussion: """
            Writers each own three partitions in each of two tables and issue their batches one at a time; \
            N is the batch's sequence number in the seeded workload. Kill it at any moment (kill -9), then \
            check the directory with `annals store stress-verify` and the same seed and writers.
            Example: annals store stress /tmp/s --seed 3 > acks & sleep 3; kill -9 $!; \
            annals store stress-verify /tmp/s --seed 3 --acks acks
            """)

    @Argument(help: "The data directory (created if missing).") var directory: String
    @Option(help: "Seed of the workload.") var seed: UInt64
    @Option(help: "Concurrent writers.") var writers: Int = 16
    @Option(help: "Stop after this many seconds (default: run until killed).") var seconds: Double?
    @Option(help: "Memtable size in bytes (small values exercise flushes and compactions).") var memtableBytes: Int = 256 << 10
    @Option(help: "Log segment size in bytes (small values exercise log cleaning).") var segmentBytes: Int = 64 << 10

    func validate() throws {
        guard writers > 0, writers <= 1024 else { throw ValidationError("--writers must be 1...1024") }
        guard memtableBytes >= 1024 else { throw ValidationError("--memtable-bytes must be at least 1024") }
        guard segmentBytes >= LogLimits.minSegmentBytes else {
            throw ValidationError("--segment-bytes must be at least \(LogLimits.minSegmentBytes)")
        }
    }

    func run() async throws {
        let store = try Store.open(
            directory: directory,
            options: StoreOptions(log: LogOptions(segmentBytes: segmentBytes), memtableBytes: memtableBytes, compactionTrigger: 4))
        let workload = StoreStressWorkload(seed: seed, writers: writers)
        let deadline = seconds.map { ContinuousClock.now + .milliseconds(Int($0 * 1000)) }
        let output = LinePrinter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    // Resume after whatever this writer already has in the store (a restart).
                    var index = try StoreStressVerifyCommand.presentBatches(store: store, workload: workload, writer: writer)
                    var model = workload.model(writer: writer, batches: index)
                    while deadline.map({ ContinuousClock.now < $0 }) ?? true {
                        switch workload.batch(writer: writer, index: index, model: model) {
                        case .write(let mutations):
                            try await store.write(mutations)
                            StoreStressWorkload.apply(mutations, to: &model)
                        case .compareAndSet(let table, let partition, let conditions, let mutations, let expectApplied):
                            let outcome = try await store.compareAndSet(
                                table: table, partition: partition, conditions: conditions, mutations: mutations)
                            guard outcome.applied == expectApplied else {
                                throw ValidationError("batch \(workload.sequence(writer: writer, index: index)): compare-and-set applied=\(outcome.applied), expected \(expectApplied)")
                            }
                            if expectApplied { StoreStressWorkload.apply(mutations, to: &model) }
                        }
                        output.print("ack \(workload.sequence(writer: writer, index: index))")
                        index += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        let statistics = store.statistics
        await store.close()
        FileHandleStderr.write(
            "stress: \(statistics.flushes) flushes, \(statistics.compactions) compactions, \(statistics.cleanedSegments) log segments cleaned\n")
    }
}

struct StoreStressVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress-verify",
        abstract: "Open (recovering) a directory written by `annals store stress` and compare it with the seeded model.",
        discussion: """
            For each writer, finds how many of its batches are present and checks the store equals the model \
            after exactly that many (so no batch is partly applied), and that every acknowledged batch is there. \
            Prints `ok K` (batches present) and exits 0, or the first difference and exits 1.
            """)

    @Argument(help: "The data directory.") var directory: String
    @Option(help: "Seed the workload used.") var seed: UInt64
    @Option(help: "Writers the workload used.") var writers: Int = 16
    @Option(help: "Every batch with a sequence number up to this one was acknowledged.") var acked: Int?
    @Option(help: "A file of `ack N` lines printed by `annals store stress`.") var acks: String?

    func run() async throws {
        let store = try Store.open(directory: directory)
        let workload = StoreStressWorkload(seed: seed, writers: writers)
        var acknowledged = Set<Int>()
        if let acked { acknowledged.formUnion(1...max(1, acked)) }
        if let acks {
            for line in try readText(acks).split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[0] == "ack", let n = Int(parts[1]) { acknowledged.insert(n) }
            }
        }
        var highestAckedIndex = [Int](repeating: -1, count: writers)
        for sequence in acknowledged where sequence >= 1 {
            let writer = (sequence - 1) % writers
            highestAckedIndex[writer] = max(highestAckedIndex[writer], (sequence - 1) / writers)
        }
        var total = 0
        var problem: String? = nil
        for writer in 0..<writers where problem == nil {
            let present = try Self.presentBatches(store: store, workload: workload, writer: writer)
            total += present
            // Every acknowledged batch that changes the store must be among those present.
            var model: StoreStressWorkload.Model = [:]
            var index = 0
            while true {
                let sequence = workload.sequence(writer: writer, index: index)
                if index >= present && index > highestAckedIndex[writer] { break }
                let batch = workload.batch(writer: writer, index: index, model: model)
                let applies: Bool
                switch batch {
                case .write(let mutations):
                    applies = true
                    if index < present { StoreStressWorkload.apply(mutations, to: &model) }
                case .compareAndSet(_, _, _, let mutations, let expectApplied):
                    applies = expectApplied
                    if index < present && expectApplied { StoreStressWorkload.apply(mutations, to: &model) }
                }
                if index >= present && applies && acknowledged.contains(sequence) {
                    problem = "acknowledged batch \(sequence) (writer \(writer), batch \(index)) is missing: only \(present) batches present"
                    break
                }
                index += 1
            }
            if problem != nil { break }
            if let difference = try Self.difference(store: store, model: model, workload: workload, writer: writer) {
                problem = "writer \(writer) after \(present) batches: \(difference)"
            }
        }
        await store.close()
        if let problem {
            print("FAIL \(problem)")
            throw ExitCode(1)
        }
        print("ok \(total) batches present, \(acknowledged.count) acknowledged")
    }

    /// How many of `writer`'s batches are in the store: one past the highest progress index.
    static func presentBatches(store: Store, workload: StoreStressWorkload, writer: Int) throws -> Int {
        var highest = -1
        for table in StoreStressWorkload.tables {
            for partition in workload.partitions(of: writer) {
                if let seq = try store.read(table: table, partition: partition, clustering: StoreStressWorkload.progressKey)?["seq"],
                    let index = Int(String(decoding: seq, as: UTF8.self))
                {
                    highest = max(highest, index)
                }
            }
        }
        return highest + 1
    }

    /// The first difference between the store and the model in `writer`'s partitions, if any.
    static func difference(store: Store, model: StoreStressWorkload.Model, workload: StoreStressWorkload, writer: Int) throws -> String? {
        for table in StoreStressWorkload.tables {
            for partition in workload.partitions(of: writer) {
                let expected = (model[table]?[partition] ?? [:]).sorted { $0.key < $1.key }
                var actual: [(clustering: Key, row: Row)] = []
                var token: [UInt8]? = nil
                repeat {
                    let page = try store.scan(table: table, partition: partition, limit: 500, pageToken: token)
                    actual += page.rows
                    token = page.nextPageToken
                } while token != nil
                if actual.map(\.clustering) != expected.map(\.key) {
                    return "\(table) \(partition): rows \(actual.map(\.clustering)) but the model has \(expected.map(\.key))"
                }
                for (got, want) in zip(actual, expected) where got.row != want.value {
                    return "\(table) \(partition) \(got.clustering): \(got.row) but the model has \(want.value)"
                }
            }
        }
        return nil
    }
}

enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
