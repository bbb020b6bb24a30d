/// Checks and orders both implementations share, so they fail and list identically.

func checkTaskCount(_ count: Int) throws {
    guard count <= PersistenceLimits.maxTasksPerWrite else {
        throw PersistenceError.invalidArgument("\(count) tasks in one write exceed the limit of \(PersistenceLimits.maxTasksPerWrite)")
    }
}

/// The current-run rule of a create: `current` is the workflow id's current-run row.
func checkCreateMode(_ mode: CreateWorkflowMode, key: WorkflowKey, current: CurrentExecution?) throws {
    switch mode {
    case .brandNew:
        if current != nil {
            throw PersistenceError.currentWorkflowConditionFailed(namespaceID: key.namespaceID, workflowID: key.workflowID, current: current)
        }
    case .updateCurrent(let previousRunID):
        guard let current, current.runID == previousRunID, current.executionState.isClosed else {
            throw PersistenceError.currentWorkflowConditionFailed(namespaceID: key.namespaceID, workflowID: key.workflowID, current: current)
        }
    case .bypassCurrent:
        break
    }
}

/// A continue-as-new run belongs to the same workflow id.
func checkNewRun(_ newKey: WorkflowKey?, of key: WorkflowKey) throws {
    guard let newKey else { return }
    guard newKey.namespaceID == key.namespaceID, newKey.workflowID == key.workflowID, newKey.runID != key.runID else {
        throw PersistenceError.invalidArgument("the new run \(newKey) must be another run of \(key.namespaceID)/\(key.workflowID)")
    }
}

func checkNode(_ node: HistoryNode) throws {
    guard node.nodeID >= 1, node.lastEventID >= node.nodeID, node.txnID > 0 else {
        throw PersistenceError.invalidArgument(
            "history node needs 1 <= nodeID <= lastEventID and txnID > 0 (node \(node.nodeID), last event \(node.lastEventID), txn \(node.txnID))")
    }
}

/// What may travel with a workflow change: valid nodes, and a bounded number of them.
func checkAttached(_ attached: AttachedWrites) throws {
    guard attached.historyNodes.count <= PersistenceLimits.maxAttachedWrites, attached.visibility.count <= PersistenceLimits.maxAttachedWrites else {
        throw PersistenceError.invalidArgument(
            "\(attached.historyNodes.count) history nodes and \(attached.visibility.count) visibility records in one write exceed the limit of \(PersistenceLimits.maxAttachedWrites) each")
    }
    for item in attached.historyNodes { try checkNode(item.node) }
}

func checkFork(_ branch: BranchToken, forkNodeID: Int64, newBranchID: String) throws {
    guard forkNodeID >= 1 else { throw PersistenceError.invalidArgument("fork node id must be >= 1, got \(forkNodeID)") }
    guard newBranchID != branch.branchID, !newBranchID.isEmpty else {
        throw PersistenceError.invalidArgument("the new branch id must be new and not empty")
    }
}

/// The page a history read returns: a token when the page is full.
func historyPage(
    _ nodes: [HistoryNode], pageSize: Int, chain: HistoryChain, firstPage: Bool, minEventID: Int64, branch: BranchToken
) throws -> HistoryPage {
    if nodes.isEmpty, firstPage, minEventID == 1 {
        throw PersistenceError.notFound("history branch \(branch.treeID)/\(branch.branchID) has no events")
    }
    guard nodes.count == pageSize, let last = nodes.last else { return HistoryPage(nodes: nodes, nextPageToken: nil) }
    return HistoryPage(nodes: nodes, nextPageToken: HistoryPageToken(nextNodeID: last.nodeID + 1, previous: chain.previous).encoded())
}

/// Nodes of `branchID` below the returned id are still read by a branch forked from it.
func sharedEnd(of branchID: String, amongAncestorsOf others: [[BranchAncestor]]) -> Int64 {
    var end = Int64.min
    for ancestors in others {
        for a in ancestors where a.branchID == branchID { end = max(end, a.endNodeID) }
    }
    return end
}

func taskQueueConditionFailed(_ key: TaskQueueKey, expected: Int64, current: Int64?) -> PersistenceError {
    .conditionFailed(
        "task queue \(key.namespaceID)/\(key.name)/\(key.type) range id is \(current.map(String.init) ?? "absent"), not \(expected)")
}

func taskQueueLess(_ a: TaskQueueKey, _ b: TaskQueueKey) -> Bool {
    if !a.namespaceID.utf8.elementsEqual(b.namespaceID.utf8) { return utf8Less(a.namespaceID, b.namespaceID) }
    if !a.name.utf8.elementsEqual(b.name.utf8) { return utf8Less(a.name, b.name) }
    return a.type.rawValue < b.type.rawValue
}

func checkNamespaceUpdate(_ record: NamespaceRecord, stored: NamespaceRecord) throws {
    guard stored.name == record.name else {
        throw PersistenceError.invalidArgument("namespace \(record.id) is named \(stored.name); the name cannot change to \(record.name)")
    }
    guard stored.notificationVersion == record.notificationVersion - 1 else {
        throw PersistenceError.conditionFailed(
            "namespace \(record.id) notification version is \(stored.notificationVersion), not \(record.notificationVersion - 1)")
    }
}

func checkClusterMetadataSave(_ record: ClusterMetadataRecord, storedVersion: Int64?) throws {
    guard record.version >= 1 else { throw PersistenceError.invalidArgument("cluster metadata version must be >= 1") }
    guard storedVersion == (record.version == 1 ? nil : record.version - 1) else {
        throw PersistenceError.conditionFailed(
            "cluster metadata \(record.clusterName) version is \(storedVersion.map(String.init) ?? "absent"), not \(record.version - 1)")
    }
}

/// Visibility order: newest start time first, then run id, then workflow id (UTF-8 order).
func visibilityLess(_ a: VisibilityRecord, _ b: VisibilityRecord) -> Bool {
    if a.startTime != b.startTime { return a.startTime > b.startTime }
    return utf8Less([a.key.runID, a.key.workflowID], [b.key.runID, b.key.workflowID])
}
