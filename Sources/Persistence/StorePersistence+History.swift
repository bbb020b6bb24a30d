import StorageEngine
import StorageCodec

/// History branches: `history_node` (partition = tree id; clustering branch, node id, txn id
/// descending) and `history_tree` (partition = tree id; clustering branch: a forked branch's
/// ancestors).
extension StorePersistence {
    public func appendHistoryNode(branch: BranchToken, node: HistoryNode) async throws {
        try checkNode(node)
        try await write([Self.nodeMutation(branch, node)])
    }

    static func nodeMutation(_ branch: BranchToken, _ node: HistoryNode) -> Mutation {
        .put(
            Schema.historyNode, Schema.treePartition(branch.treeID), Schema.nodeRow(branch.branchID, node.nodeID, node.txnID),
            Row([Schema.node: RowCodec.encode(node)]))
    }

    func ancestors(of branch: BranchToken) throws -> [BranchAncestor] {
        guard let row = try read(Schema.historyTree, Schema.treePartition(branch.treeID), Schema.branchRow(branch.branchID)) else { return [] }
        return try RowCodec.decodeAncestors(try column(row, Schema.ancestors, "history branch"))
    }

    public func readHistoryBranch(
        branch: BranchToken, minEventID: Int64, maxEventID: Int64, lastTxnID: Int64, pageSize: Int, pageToken: [UInt8]?
    ) async throws -> HistoryPage {
        try checkPageSize(pageSize, max: PersistenceLimits.maxHistoryPageNodes)
        let token = try pageToken.map { try HistoryPageToken(decoding: $0) }
        var chain = HistoryChain(lastTxnID: lastTxnID, previous: token?.previous)
        var out: [HistoryNode] = []
        let start = max(minEventID, token?.nextNodeID ?? minEventID)
        let partition = Schema.treePartition(branch.treeID)
        let chunk = min(StoreLimits.maxScanRows, 2 * pageSize + 16)
        segments: for segment in branchSegments(branchID: branch.branchID, ancestors: try ancestors(of: branch)) {
            let low = max(start, segment.begin)
            let high = min(maxEventID, segment.end)
            guard low < high else { continue }
            var scanToken: [UInt8]? = nil
            repeat {
                let page = try scan(
                    Schema.historyNode, partition, from: Schema.nodeBound(segment.branchID, low), to: Schema.nodeBound(segment.branchID, high),
                    limit: chunk, token: scanToken)
                for (_, row) in page.rows {
                    let node = try RowCodec.decodeHistoryNode(try column(row, Schema.node, "history node"))
                    if chain.offer(node) {
                        out.append(node)
                        if out.count == pageSize { break segments }
                    }
                }
                scanToken = page.nextPageToken
            } while scanToken != nil
        }
        return try historyPage(out, pageSize: pageSize, chain: chain, firstPage: pageToken == nil, minEventID: minEventID, branch: branch)
    }

    public func forkHistoryBranch(from branch: BranchToken, forkNodeID: Int64, newBranchID: String, lastTxnID: Int64) async throws -> BranchToken {
        try checkFork(branch, forkNodeID: forkNodeID, newBranchID: newBranchID)
        let ancestors = forkedAncestors(from: branch.branchID, ancestors: try ancestors(of: branch), forkNodeID: forkNodeID)
        let partition = Schema.treePartition(branch.treeID)
        let newRow = Schema.branchRow(newBranchID)
        if try await cas(
            Schema.historyTree, partition, [.rowAbsent(newRow)],
            [.put(Schema.historyTree, partition, newRow, Row([Schema.ancestors: RowCodec.encode(ancestors: ancestors)]))]) != nil
        {
            throw PersistenceError.alreadyExists("history branch \(branch.treeID)/\(newBranchID)")
        }
        return BranchToken(treeID: branch.treeID, branchID: newBranchID)
    }

    public func deleteHistoryBranch(_ branch: BranchToken) async throws {
        let partition = Schema.treePartition(branch.treeID)
        var others: [[BranchAncestor]] = []
        var token: [UInt8]? = nil
        repeat {
            let page = try scan(Schema.historyTree, partition, from: nil, to: nil, limit: 1000, token: token)
            for (clustering, row) in page.rows where clustering != Schema.branchRow(branch.branchID) {
                others.append(try RowCodec.decodeAncestors(try column(row, Schema.ancestors, "history branch")))
            }
            token = page.nextPageToken
        } while token != nil
        let keepBelow = sharedEnd(of: branch.branchID, amongAncestorsOf: others)
        try await write([
            .deleteRange(
                Schema.historyNode, partition, from: Schema.nodeBound(branch.branchID, keepBelow), to: Schema.nodeBound(branch.branchID, Int64.max)),
            .delete(Schema.historyTree, partition, Schema.branchRow(branch.branchID)),
        ])
    }
}
