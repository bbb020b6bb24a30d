/// The versioned encodings of the persistence rows' value columns (docs/data-model.md, golden
/// bytes in Tests/Fixtures/persistence-v1). Each starts with a version byte.
///
/// Part of the on-disk format. Never change an encoding; add a new version instead.
package enum RowCodec {
    package static let version: UInt8 = 1

    // MARK: Executions

    package static func encode(_ s: WorkflowSnapshot) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.key(s.key)
        w.executionState(s.executionState)
        w.i64(s.nextEventID)
        w.i64(s.lastEventTxnID)
        w.i64(s.dbRecordVersion)
        w.raw(s.mutableState)
        return w.bytes
    }

    package static func decodeSnapshot(_ bytes: [UInt8]) throws -> WorkflowSnapshot {
        var r = try ByteReader(bytes, what: "execution", version: version)
        let key = try r.key()
        let state = try r.executionState()
        let snapshot = WorkflowSnapshot(
            key: key, executionState: state, nextEventID: try r.i64(), lastEventTxnID: try r.i64(),
            dbRecordVersion: try r.i64(), mutableState: try r.raw())
        try r.finish()
        return snapshot
    }

    package static func encode(_ c: CurrentExecution) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.string(c.runID)
        w.executionState(c.executionState)
        return w.bytes
    }

    package static func decodeCurrent(_ bytes: [UInt8]) throws -> CurrentExecution {
        var r = try ByteReader(bytes, what: "current execution", version: version)
        let current = CurrentExecution(runID: try r.string(), executionState: try r.executionState())
        try r.finish()
        return current
    }

    package static func encode(_ t: HistoryTask) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.i32(t.category.rawValue)
        w.i64(t.taskID)
        w.i64(t.fireTime)
        w.key(t.key)
        w.raw(t.data)
        return w.bytes
    }

    package static func decodeHistoryTask(_ bytes: [UInt8]) throws -> HistoryTask {
        var r = try ByteReader(bytes, what: "history task", version: version)
        let category = try r.enumValue(try r.i32(), HistoryTaskCategory.self)
        let task = HistoryTask(category: category, taskID: try r.i64(), fireTime: try r.i64(), key: try r.key(), data: try r.raw())
        try r.finish()
        return task
    }

    // MARK: History

    package static func encode(_ n: HistoryNode) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.i64(n.nodeID)
        w.i64(n.lastEventID)
        w.i64(n.txnID)
        w.i64(n.prevTxnID)
        w.raw(n.events)
        return w.bytes
    }

    package static func decodeHistoryNode(_ bytes: [UInt8]) throws -> HistoryNode {
        var r = try ByteReader(bytes, what: "history node", version: version)
        let node = HistoryNode(nodeID: try r.i64(), lastEventID: try r.i64(), txnID: try r.i64(), prevTxnID: try r.i64(), events: try r.raw())
        try r.finish()
        return node
    }

    package static func encode(ancestors: [BranchAncestor]) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.u32(UInt32(ancestors.count))
        for a in ancestors {
            w.string(a.branchID)
            w.i64(a.endNodeID)
        }
        return w.bytes
    }

    package static func decodeAncestors(_ bytes: [UInt8]) throws -> [BranchAncestor] {
        var r = try ByteReader(bytes, what: "history branch", version: version)
        let count = try r.u32()
        var out: [BranchAncestor] = []
        for _ in 0..<count { out.append(BranchAncestor(branchID: try r.string(), endNodeID: try r.i64())) }
        try r.finish()
        return out
    }

    // MARK: Task queues

    package static func encode(_ q: TaskQueueRecord) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.string(q.key.namespaceID)
        w.string(q.key.name)
        w.i32(q.key.type.rawValue)
        w.i64(q.rangeID)
        w.raw(q.data)
        return w.bytes
    }

    package static func decodeTaskQueue(_ bytes: [UInt8]) throws -> TaskQueueRecord {
        var r = try ByteReader(bytes, what: "task queue", version: version)
        let ns = try r.string()
        let name = try r.string()
        let type = try r.enumValue(try r.i32(), TaskQueueType.self)
        let record = TaskQueueRecord(key: TaskQueueKey(namespaceID: ns, name: name, type: type), rangeID: try r.i64(), data: try r.raw())
        try r.finish()
        return record
    }

    package static func encode(_ t: TaskQueueTask) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.i64(t.taskID)
        w.i64(t.expiryTime)
        w.raw(t.data)
        return w.bytes
    }

    package static func decodeTaskQueueTask(_ bytes: [UInt8]) throws -> TaskQueueTask {
        var r = try ByteReader(bytes, what: "task queue task", version: version)
        let task = TaskQueueTask(taskID: try r.i64(), expiryTime: try r.i64(), data: try r.raw())
        try r.finish()
        return task
    }

    // MARK: Metadata

    package static func encode(_ n: NamespaceRecord) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.string(n.id)
        w.string(n.name)
        w.i64(n.notificationVersion)
        w.raw(n.data)
        return w.bytes
    }

    package static func decodeNamespace(_ bytes: [UInt8]) throws -> NamespaceRecord {
        var r = try ByteReader(bytes, what: "namespace", version: version)
        let record = NamespaceRecord(id: try r.string(), name: try r.string(), notificationVersion: try r.i64(), data: try r.raw())
        try r.finish()
        return record
    }

    package static func encode(_ c: ClusterMetadataRecord) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.string(c.clusterName)
        w.i64(c.version)
        w.raw(c.data)
        return w.bytes
    }

    package static func decodeClusterMetadata(_ bytes: [UInt8]) throws -> ClusterMetadataRecord {
        var r = try ByteReader(bytes, what: "cluster metadata", version: version)
        let record = ClusterMetadataRecord(clusterName: try r.string(), version: try r.i64(), data: try r.raw())
        try r.finish()
        return record
    }

    // MARK: Visibility

    package static func encode(_ v: VisibilityRecord) -> [UInt8] {
        var w = ByteWriter(version: version)
        w.key(v.key)
        w.string(v.workflowType)
        w.string(v.taskQueue)
        w.i32(v.status.rawValue)
        w.i64(v.startTime)
        w.i64(v.executionTime)
        w.i64(v.closeTime)
        w.i64(v.historyLength)
        let names = v.searchAttributes.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        w.u32(UInt32(names.count))
        for name in names {
            w.string(name)
            w.searchAttribute(v.searchAttributes[name]!)
        }
        w.raw(v.memo)
        w.raw(v.data)
        return w.bytes
    }

    package static func decodeVisibility(_ bytes: [UInt8]) throws -> VisibilityRecord {
        var r = try ByteReader(bytes, what: "visibility", version: version)
        let key = try r.key()
        let type = try r.string()
        let queue = try r.string()
        let status = try r.enumValue(try r.i32(), WorkflowStatus.self)
        let start = try r.i64()
        let execution = try r.i64()
        let close = try r.i64()
        let length = try r.i64()
        var attributes: [String: SearchAttributeValue] = [:]
        for _ in 0..<(try r.u32()) {
            let name = try r.string()
            attributes[name] = try r.searchAttribute()
        }
        let record = VisibilityRecord(
            key: key, workflowType: type, taskQueue: queue, status: status, startTime: start, executionTime: execution,
            closeTime: close, historyLength: length, searchAttributes: attributes, memo: try r.raw(), data: try r.raw())
        try r.finish()
        return record
    }
}

/// A segment of a forked branch's history taken from another branch: nodes below `endNodeID`
/// (and at or above the previous ancestor's end) are read from `branchID`.
package struct BranchAncestor: Sendable, Equatable {
    package var branchID: String
    package var endNodeID: Int64

    package init(branchID: String, endNodeID: Int64) {
        self.branchID = branchID
        self.endNodeID = endNodeID
    }
}

/// Search attribute value tags. Part of the on-disk format.
enum SearchAttributeTag: UInt8 {
    case keyword = 1, text = 2, int = 3, double = 4, bool = 5, datetime = 6, keywordList = 7
}

extension ByteWriter {
    mutating func key(_ k: WorkflowKey) {
        string(k.namespaceID)
        string(k.workflowID)
        string(k.runID)
    }

    mutating func executionState(_ s: ExecutionState) {
        string(s.createRequestID)
        i32(s.state.rawValue)
        i32(s.status.rawValue)
        i64(s.startTime)
    }

    mutating func searchAttribute(_ v: SearchAttributeValue) {
        switch v {
        case .keyword(let s): u8(SearchAttributeTag.keyword.rawValue); string(s)
        case .text(let s): u8(SearchAttributeTag.text.rawValue); string(s)
        case .int(let i): u8(SearchAttributeTag.int.rawValue); i64(i)
        case .double(let d): u8(SearchAttributeTag.double.rawValue); u64(d.bitPattern)
        case .bool(let b): u8(SearchAttributeTag.bool.rawValue); u8(b ? 1 : 0)
        case .datetime(let t): u8(SearchAttributeTag.datetime.rawValue); i64(t)
        case .keywordList(let list):
            u8(SearchAttributeTag.keywordList.rawValue)
            u32(UInt32(list.count))
            for s in list { string(s) }
        }
    }
}

extension ByteReader {
    mutating func key() throws -> WorkflowKey {
        WorkflowKey(namespaceID: try string(), workflowID: try string(), runID: try string())
    }

    mutating func executionState() throws -> ExecutionState {
        let request = try string()
        let state = try enumValue(try i32(), WorkflowState.self)
        let status = try enumValue(try i32(), WorkflowStatus.self)
        return ExecutionState(createRequestID: request, state: state, status: status, startTime: try i64())
    }

    mutating func searchAttribute() throws -> SearchAttributeValue {
        switch try enumValue(try u8(), SearchAttributeTag.self) {
        case .keyword: return .keyword(try string())
        case .text: return .text(try string())
        case .int: return .int(try i64())
        case .double: return .double(Double(bitPattern: try u64()))
        case .bool: return .bool(try u8() != 0)
        case .datetime: return .datetime(try i64())
        case .keywordList:
            var list: [String] = []
            for _ in 0..<(try u32()) { list.append(try string()) }
            return .keywordList(list)
        }
    }
}
