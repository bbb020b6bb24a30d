import StorageCodec
import StorageEngine

/// The seeded workload of `annals store stress`: `writers` writers, each owning three partitions
/// in each of two tables and issuing its own sequence of batches one at a time. A batch is either
/// unconditional (possibly spanning two of the writer's partitions) or a compare-and-set on one
/// partition's progress row, expected to hold (or, one time in five, expected to fail).
///
/// Every applied batch also sets the `progress` row of each partition it touches to its batch
/// index, so a verifier finds how many of a writer's batches are present and checks the store
/// equals the model after exactly that many: a partly applied batch cannot match.
struct StoreStressWorkload {
    let seed: UInt64
    let writers: Int

    static let tables = ["executions", "history_node"]
    static let progressKey = Key(.string("progress"))

    enum Batch {
        case write([Mutation])
        case compareAndSet(table: String, partition: Key, conditions: [Condition], mutations: [Mutation], expectApplied: Bool)
    }

    /// table → partition → clustering → row, as the store should hold it.
    typealias Model = [String: [Key: [Key: Row]]]

    /// Global sequence number (1-based) of a writer's batch `index` (0-based), as printed in acks.
    func sequence(writer: Int, index: Int) -> Int { index * writers + writer + 1 }

    func partitions(of writer: Int) -> [Key] {
        (0..<3).map { Key(.int(Int64(writer * 3 + $0))) }
    }

    /// Batch `index` of `writer`, given the model of the writer's partitions before it.
    func batch(writer: Int, index: Int, model: Model) -> Batch {
        var rng = SplitMix(seed ^ (UInt64(writer) << 40) ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let own = partitions(of: writer)
        let table = Self.tables[Int(rng.next() % 2)]
        let first = own[Int(rng.next() % 3)]
        let conditional = rng.next() % 3 == 0
        var touched = [first]
        if !conditional && rng.next() % 2 == 0 {
            let second = own[Int(rng.next() % 3)]
            if second != first { touched.append(second) }
        }
        var mutations: [Mutation] = []
        for partition in touched {
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let key = Key([.string("row"), .int(Int64(rng.next() % 20))], order: [.ascending, .descending])
                switch rng.next() % 8 {
                case 0..<4:
                    mutations.append(.put(table, partition, key, Row(["v": bytes(&rng), "by": Array("\(index)".utf8)])))
                case 4, 5:
                    mutations.append(.update(table, partition, key, ["w": bytes(&rng), "v": rng.next() % 3 == 0 ? nil : bytes(&rng)]))
                case 6:
                    mutations.append(.delete(table, partition, key))
                default:
                    let a = Int64(rng.next() % 20)
                    let b = Int64(rng.next() % 20)
                    mutations.append(.deleteRange(
                        table, partition,
                        from: Key([.string("row"), .int(max(a, b))], order: [.ascending, .descending]),
                        to: Key([.string("row"), .int(min(a, b))], order: [.ascending, .descending])))
                }
            }
            mutations.append(.put(table, partition, Self.progressKey, Row(["seq": Array("\(index)".utf8)])))
        }
        guard conditional else { return .write(mutations) }
        let current = model[table]?[first]?[Self.progressKey]?["seq"]
        let expectApplied = rng.next() % 5 != 0
        let expected = expectApplied ? current : Array("never-\(index)".utf8)
        return .compareAndSet(
            table: table, partition: first, conditions: [.columnEquals(Self.progressKey, column: "seq", value: expected)],
            mutations: mutations, expectApplied: expectApplied)
    }

    private func bytes(_ rng: inout SplitMix) -> [UInt8] {
        (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Applies a batch to the model exactly as the store applies it.
    static func apply(_ mutations: [Mutation], to model: inout Model) {
        for mutation in mutations {
            var rows = model[mutation.table]?[mutation.partition] ?? [:]
            switch mutation.operation {
            case .put(let row):
                rows[mutation.clustering] = row
            case .update(let columns):
                var row = rows[mutation.clustering] ?? Row()
                for (name, value) in columns { row.columns[name] = value }
                rows[mutation.clustering] = row
            case .delete:
                rows[mutation.clustering] = nil
            case .deleteRange(let end):
                for key in rows.keys where key >= mutation.clustering && key < end { rows[key] = nil }
            }
            model[mutation.table, default: [:]][mutation.partition] = rows
        }
    }

    /// The model of `writer`'s partitions after its first `count` batches.
    func model(writer: Int, batches count: Int) -> Model {
        var model: Model = [:]
        for index in 0..<count {
            switch batch(writer: writer, index: index, model: model) {
            case .write(let mutations):
                Self.apply(mutations, to: &model)
            case .compareAndSet(_, _, _, let mutations, let expectApplied):
                if expectApplied { Self.apply(mutations, to: &model) }
            }
        }
        return model
    }
}
