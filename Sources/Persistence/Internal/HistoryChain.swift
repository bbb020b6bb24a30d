/// The history read rule both implementations share. Nodes are offered in (node id ascending,
/// txn id descending) order; per node id the first one with `txnID <= lastTxnID` whose
/// `prevTxnID` chains to the previously taken node (and that starts after its last event) is
/// taken; the rest of that node id is skipped. A batch written by a transaction whose state write
/// failed has a txn id above the run's `lastEventTxnID`, or does not chain: it stays invisible.
struct HistoryChain {
    let lastTxnID: Int64
    /// The txn id and last event id of the node taken last (nil before the first).
    var previous: (txnID: Int64, lastEventID: Int64)?
    private var decidedNodeID: Int64?

    init(lastTxnID: Int64, previous: (txnID: Int64, lastEventID: Int64)?) {
        self.lastTxnID = lastTxnID
        self.previous = previous
    }

    /// Whether `node` is the valid batch of its node id.
    mutating func offer(_ node: HistoryNode) -> Bool {
        if node.nodeID == decidedNodeID { return false }
        guard node.txnID <= lastTxnID else { return false }
        if let previous {
            guard node.prevTxnID == previous.txnID, node.nodeID > previous.lastEventID else { return false }
        }
        decidedNodeID = node.nodeID
        previous = (node.txnID, node.lastEventID)
        return true
    }
}

/// `u8 version (1) | i64 next node id | u8 has previous | i64 previous txn id | i64 previous last
/// event id`, little-endian: where a history read continues. Opaque to callers.
struct HistoryPageToken {
    var nextNodeID: Int64
    var previous: (txnID: Int64, lastEventID: Int64)?

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.i64(nextNodeID)
        w.u8(previous == nil ? 0 : 1)
        w.i64(previous?.txnID ?? 0)
        w.i64(previous?.lastEventID ?? 0)
        return w.bytes
    }

    init(nextNodeID: Int64, previous: (txnID: Int64, lastEventID: Int64)?) {
        self.nextNodeID = nextNodeID
        self.previous = previous
    }

    init(decoding token: [UInt8]) throws {
        do {
            var r = try ByteReader(token, what: "page token", version: 1)
            nextNodeID = try r.i64()
            let has = try r.u8()
            let txn = try r.i64()
            let last = try r.i64()
            try r.finish()
            guard has <= 1 else { throw PersistenceError.invalidArgument("malformed page token") }
            previous = has == 1 ? (txn, last) : nil
        } catch {
            throw PersistenceError.invalidArgument("malformed page token")
        }
    }
}

/// The branch segments a read of `branchID` with `ancestors` walks: `[begin, end)` per branch.
func branchSegments(branchID: String, ancestors: [BranchAncestor]) -> [(branchID: String, begin: Int64, end: Int64)] {
    var out: [(String, Int64, Int64)] = []
    var begin: Int64 = Int64.min
    for a in ancestors {
        out.append((a.branchID, begin, a.endNodeID))
        begin = a.endNodeID
    }
    out.append((branchID, begin, Int64.max))
    return out
}

/// The ancestors of a branch forked from a branch with `ancestors` at `forkNodeID`.
func forkedAncestors(from branchID: String, ancestors: [BranchAncestor], forkNodeID: Int64) -> [BranchAncestor] {
    var out: [BranchAncestor] = []
    for a in ancestors {
        if a.endNodeID >= forkNodeID {
            out.append(BranchAncestor(branchID: a.branchID, endNodeID: forkNodeID))
            return out
        }
        out.append(a)
    }
    out.append(BranchAncestor(branchID: branchID, endNodeID: forkNodeID))
    return out
}

/// `u8 version (1) | u64 offset`: the in-memory implementation's listing position.
enum OffsetPageToken {
    static func encode(_ offset: Int) -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.u64(UInt64(offset))
        return w.bytes
    }

    static func decode(_ token: [UInt8]?) throws -> Int {
        guard let token else { return 0 }
        do {
            var r = try ByteReader(token, what: "page token", version: 1)
            let offset = try r.u64()
            try r.finish()
            guard offset <= UInt64(Int.max) else { throw PersistenceError.invalidArgument("malformed page token") }
            return Int(offset)
        } catch {
            throw PersistenceError.invalidArgument("malformed page token")
        }
    }

    /// The page of `sorted` a token names.
    static func page<T: Sendable>(_ sorted: [T], pageSize: Int, token: [UInt8]?) throws -> Page<T> {
        let start = min(try decode(token), sorted.count)
        let end = min(start + pageSize, sorted.count)
        return Page(items: Array(sorted[start..<end]), nextPageToken: end < sorted.count ? encode(end) : nil)
    }
}

/// UTF-8 byte order: the store's key order for strings.
func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Compares tuples of strings in UTF-8 byte order, component by component.
func utf8Less(_ a: [String], _ b: [String]) -> Bool {
    for (x, y) in zip(a, b) where !x.utf8.elementsEqual(y.utf8) { return utf8Less(x, y) }
    return a.count < b.count
}
