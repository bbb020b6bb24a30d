/// One change to one row (or one clustering range) of a table.
public struct Mutation: Sendable {
    public enum Operation: Sendable, Equatable {
        /// Replaces the whole row.
        case put(Row)
        /// Sets the given columns (nil removes a column), creating the row if absent.
        case update([String: [UInt8]?])
        /// Deletes the row.
        case delete
        /// Deletes every row with `clustering <= key < end`.
        case deleteRange(end: Key)
    }

    public var table: String
    public var partition: Key
    public var clustering: Key
    public var operation: Operation

    public init(table: String, partition: Key, clustering: Key, _ operation: Operation) {
        self.table = table
        self.partition = partition
        self.clustering = clustering
        self.operation = operation
    }

    public static func put(_ table: String, _ partition: Key, _ clustering: Key, _ row: Row) -> Mutation {
        Mutation(table: table, partition: partition, clustering: clustering, .put(row))
    }

    public static func update(_ table: String, _ partition: Key, _ clustering: Key, _ columns: [String: [UInt8]?]) -> Mutation {
        Mutation(table: table, partition: partition, clustering: clustering, .update(columns))
    }

    public static func delete(_ table: String, _ partition: Key, _ clustering: Key) -> Mutation {
        Mutation(table: table, partition: partition, clustering: clustering, .delete)
    }

    public static func deleteRange(_ table: String, _ partition: Key, from start: Key, to end: Key) -> Mutation {
        Mutation(table: table, partition: partition, clustering: start, .deleteRange(end: end))
    }
}

/// A condition on one row of the batch's partition (Cassandra's `IF`).
public enum Condition: Sendable, Equatable {
    case rowAbsent(Key)
    case rowPresent(Key)
    /// The column holds exactly `value` (nil: the row or the column is absent).
    case columnEquals(Key, column: String, value: [UInt8]?)

    public var clustering: Key {
        switch self {
        case .rowAbsent(let k), .rowPresent(let k), .columnEquals(let k, _, _): return k
        }
    }

    /// Whether the condition holds for a row in its encoding (nil: the row is absent).
    func holds(forEncoded row: [UInt8]?) throws -> Bool {
        switch self {
        case .rowAbsent: return row == nil
        case .rowPresent: return row != nil
        case .columnEquals(_, let column, let value):
            guard let row else { return value == nil }
            return try Row.column(column, inEncoded: row, equals: value, subject: .text("the row of a condition"))
        }
    }
}

/// What a compare-and-set returns: applied, or the current value of every conditioned row.
public enum CASOutcome: Sendable, Equatable {
    case applied
    /// Nothing was written. `current` holds each conditioned row's clustering key and current row
    /// (nil when absent), in the order of the conditions, without duplicates.
    case notApplied(current: [ConditionedRow])

    public var applied: Bool { self == .applied }
}

public struct ConditionedRow: Sendable, Equatable {
    public var clustering: Key
    public var row: Row?

    public init(clustering: Key, row: Row?) {
        self.clustering = clustering
        self.row = row
    }
}
