/// Namespaces, cluster metadata, visibility records and matching's task queues.

/// A namespace. `data` is opaque to persistence (the frontend's encoding of its info and config).
public struct NamespaceRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Bumped by every update; updates are conditioned on the previous value.
    public var notificationVersion: Int64
    public var data: [UInt8]

    public init(id: String, name: String, notificationVersion: Int64 = 0, data: [UInt8]) {
        self.id = id
        self.name = name
        self.notificationVersion = notificationVersion
        self.data = data
    }
}

/// Cluster metadata: one versioned opaque blob per cluster name.
public struct ClusterMetadataRecord: Sendable, Equatable {
    public var clusterName: String
    public var version: Int64
    public var data: [UInt8]

    public init(clusterName: String, version: Int64, data: [UInt8]) {
        self.clusterName = clusterName
        self.version = version
        self.data = data
    }
}

/// A search attribute value, typed as Temporal's `IndexedValueType`.
public enum SearchAttributeValue: Sendable, Equatable, Hashable {
    case keyword(String)
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Unix nanoseconds.
    case datetime(Int64)
    case keywordList([String])
}

/// What visibility knows of one run: written on start, on search-attribute upserts and on close.
public struct VisibilityRecord: Sendable, Equatable {
    public var key: WorkflowKey
    public var workflowType: String
    public var taskQueue: String
    public var status: WorkflowStatus
    /// Unix nanoseconds.
    public var startTime: Int64
    /// Unix nanoseconds; 0 while running.
    public var executionTime: Int64
    /// Unix nanoseconds; 0 while running.
    public var closeTime: Int64
    public var historyLength: Int64
    public var searchAttributes: [String: SearchAttributeValue]
    /// Opaque (the memo payloads as the frontend encodes them).
    public var memo: [UInt8]
    /// Opaque extra fields for the frontend (parent execution, root execution, ...).
    public var data: [UInt8]

    public init(
        key: WorkflowKey, workflowType: String, taskQueue: String, status: WorkflowStatus, startTime: Int64,
        executionTime: Int64 = 0, closeTime: Int64 = 0, historyLength: Int64 = 0,
        searchAttributes: [String: SearchAttributeValue] = [:], memo: [UInt8] = [], data: [UInt8] = []
    ) {
        self.key = key
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.status = status
        self.startTime = startTime
        self.executionTime = executionTime
        self.closeTime = closeTime
        self.historyLength = historyLength
        self.searchAttributes = searchAttributes
        self.memo = memo
        self.data = data
    }
}

/// Matching's task queue kinds (Temporal's `TaskQueueType` numbering).
public enum TaskQueueType: Int32, Sendable, Equatable, CaseIterable {
    case workflow = 1
    case activity = 2
}

public struct TaskQueueKey: Hashable, Sendable {
    public var namespaceID: String
    public var name: String
    public var type: TaskQueueType

    public init(namespaceID: String, name: String, type: TaskQueueType) {
        self.namespaceID = namespaceID
        self.name = name
        self.type = type
    }
}

/// A task queue's row: its lease (`rangeID`) and opaque info (ack level and the like).
public struct TaskQueueRecord: Sendable, Equatable {
    public var key: TaskQueueKey
    public var rangeID: Int64
    public var data: [UInt8]

    public init(key: TaskQueueKey, rangeID: Int64, data: [UInt8] = []) {
        self.key = key
        self.rangeID = rangeID
        self.data = data
    }
}

/// A backlog task of a task queue. `data` is opaque.
public struct TaskQueueTask: Sendable, Equatable {
    public var taskID: Int64
    /// Unix nanoseconds; 0 for none.
    public var expiryTime: Int64
    public var data: [UInt8]

    public init(taskID: Int64, expiryTime: Int64 = 0, data: [UInt8]) {
        self.taskID = taskID
        self.expiryTime = expiryTime
        self.data = data
    }
}
