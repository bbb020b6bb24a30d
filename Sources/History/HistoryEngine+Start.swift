import Foundation
public import Persistence
import SwiftProtobuf
public import TemporalAPI

/// A validated start request (StartWorkflowExecution, or the start half of SignalWithStart).
public struct StartParameters: Sendable {
    public var namespaceID: String
    public var namespaceName: String
    public var workflowID: String
    public var workflowType: String
    public var taskQueue: String
    public var input: Temporal_Api_Common_V1_Payloads?
    public var header: Temporal_Api_Common_V1_Header?
    public var workflowTaskTimeoutNanos: Int64
    public var runTimeoutNanos: Int64
    public var executionTimeoutNanos: Int64
    public var identity: String
    public var requestID: String
    public var reusePolicy: Temporal_Api_Enums_V1_WorkflowIdReusePolicy
    public var conflictPolicy: Temporal_Api_Enums_V1_WorkflowIdConflictPolicy
    public var retryPolicy: Temporal_Api_Common_V1_RetryPolicy?
    public var memo: Temporal_Api_Common_V1_Memo?
    public var searchAttributes: Temporal_Api_Common_V1_SearchAttributes?
    /// SignalWithStart: the signal delivered with (or to) the run.
    public var signal: (name: String, input: Temporal_Api_Common_V1_Payloads?, header: Temporal_Api_Common_V1_Header?)?
    /// A child's parent.
    public var parent: ParentInfo?

    public init(namespaceID: String, namespaceName: String, workflowID: String, workflowType: String, taskQueue: String, requestID: String) {
        self.namespaceID = namespaceID
        self.namespaceName = namespaceName
        self.workflowID = workflowID
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.requestID = requestID
        self.workflowTaskTimeoutNanos = 10_000_000_000
        self.runTimeoutNanos = 0
        self.executionTimeoutNanos = 0
        self.identity = ""
        self.reusePolicy = .allowDuplicate
        self.conflictPolicy = .unspecified
    }
}

extension HistoryEngine {
    /// Longest workflow task timeout accepted (Temporal caps it the same way).
    static let maxWorkflowTaskTimeoutNanos: Int64 = 120_000_000_000

    /// Starts a run (or, for a retried request id, returns the run it started). Returns the run id
    /// and whether this call created it.
    public func startWorkflow(_ p: StartParameters) async throws(HistoryError) -> (runID: String, started: Bool) {
        let idKey = WorkflowKey(namespaceID: p.namespaceID, workflowID: p.workflowID, runID: "")
        let shard = shards[shardIndex(namespaceID: p.namespaceID, workflowID: p.workflowID)]
        do {
            return try await shard.locks.withLock(idKey) {
                try await shard.ensureRange()
                var mode = CreateWorkflowMode.brandNew
                if let current = try? await persistence.getCurrentExecution(
                    shardID: shard.id, namespaceID: p.namespaceID, workflowID: p.workflowID)
                {
                    let running = current.executionState.status == .running
                    if current.executionState.createRequestID == p.requestID && !p.requestID.isEmpty {
                        return (current.runID, false)
                    }
                    if running {
                        if let signal = p.signal {
                            let key = WorkflowKey(namespaceID: p.namespaceID, workflowID: p.workflowID, runID: current.runID)
                            try await self.signal(key, name: signal.name, input: signal.input, header: signal.header, identity: p.identity, requestID: p.requestID)
                            return (current.runID, false)
                        }
                        switch p.conflictPolicy {
                        case .useExisting:
                            return (current.runID, false)
                        case .terminateExisting:
                            let key = WorkflowKey(namespaceID: p.namespaceID, workflowID: p.workflowID, runID: current.runID)
                            try await terminate(key, reason: "terminated by a start with the TerminateExisting conflict policy", details: nil, identity: p.identity)
                        default:
                            throw HistoryError.workflowAlreadyStarted(
                                message: "Workflow execution is already running. WorkflowId: \(p.workflowID), RunId: \(current.runID).",
                                startRequestID: current.executionState.createRequestID, runID: current.runID)
                        }
                    } else {
                        switch p.reusePolicy {
                        case .rejectDuplicate:
                            throw HistoryError.workflowAlreadyStarted(
                                message: "Workflow execution already finished and the id reuse policy rejects duplicates. WorkflowId: \(p.workflowID), RunId: \(current.runID).",
                                startRequestID: current.executionState.createRequestID, runID: current.runID)
                        case .allowDuplicateFailedOnly where current.executionState.status == .completed:
                            throw HistoryError.workflowAlreadyStarted(
                                message: "Workflow execution already completed successfully and the id reuse policy allows failed runs only. WorkflowId: \(p.workflowID), RunId: \(current.runID).",
                                startRequestID: current.executionState.createRequestID, runID: current.runID)
                        default: break
                        }
                    }
                    mode = .updateCurrent(previousRunID: current.runID)
                }
                let runID = UUID().uuidString.lowercased()
                var tx = try newRunTransaction(p, runID: runID, shard: shard)
                do {
                    try await commit(&tx, shard: shard, create: mode)
                } catch PersistenceError.currentWorkflowConditionFailed(_, _, let current?) where current.executionState.status == .running {
                    throw HistoryError.workflowAlreadyStarted(
                        message: "Workflow execution is already running. WorkflowId: \(p.workflowID), RunId: \(current.runID).",
                        startRequestID: current.executionState.createRequestID, runID: current.runID)
                }
                return (runID, true)
            }
        } catch {
            throw HistoryError.from(error)
        }
    }

    /// The first transaction of a run: Started (+ Signaled), WorkflowTaskScheduled, run timeout.
    func newRunTransaction(
        _ p: StartParameters, runID: String, shard: Shard, continuing previous: MutableState? = nil, now: Int64? = nil
    ) throws(HistoryError) -> WorkflowTransaction {
        let now = now ?? clock.nowNanos()
        let firstRunID = previous?.firstExecutionRunID ?? runID
        let wftTimeout = p.workflowTaskTimeoutNanos <= 0 ? 10_000_000_000 : min(p.workflowTaskTimeoutNanos, HistoryEngine.maxWorkflowTaskTimeoutNanos)
        let runTimeout = p.runTimeoutNanos > 0 ? p.runTimeoutNanos : p.executionTimeoutNanos
        var ms = MutableState(
            namespaceID: p.namespaceID, workflowID: p.workflowID, runID: runID, firstExecutionRunID: runID,
            workflowType: p.workflowType, taskQueue: p.taskQueue, workflowTaskTimeoutNanos: wftTimeout,
            runTimeoutNanos: runTimeout, executionTimeoutNanos: p.executionTimeoutNanos, startTime: now,
            createRequestID: p.requestID)
        ms.firstExecutionRunID = firstRunID
        ms.namespaceName = p.namespaceName
        ms.parent = p.parent
        ms.continuedFromRunID = previous?.runID ?? ""
        ms.memo = (try? p.memo?.serializedBytes()) ?? []
        ms.searchAttributes = (try? p.searchAttributes?.serializedBytes()) ?? []
        var tx = WorkflowTransaction(ms: ms, now: now, shard: shard)
        tx.addEvent(.workflowExecutionStarted) { e in
            var a = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
            a.workflowType.name = p.workflowType
            a.taskQueue.name = p.taskQueue
            a.taskQueue.kind = .normal
            if let input = p.input { a.input = input }
            if let header = p.header { a.header = header }
            a.workflowExecutionTimeout = ProtoTime.duration(p.executionTimeoutNanos)
            a.workflowRunTimeout = ProtoTime.duration(runTimeout)
            a.workflowTaskTimeout = ProtoTime.duration(wftTimeout)
            a.originalExecutionRunID = runID
            a.firstExecutionRunID = firstRunID
            if let previous {
                a.continuedExecutionRunID = previous.runID
                a.initiator = .workflow
            }
            a.identity = p.identity
            a.attempt = 1
            a.workflowID = p.workflowID
            if let parent = p.parent {
                a.parentWorkflowNamespace = parent.namespaceName
                a.parentWorkflowNamespaceID = parent.namespaceID
                a.parentWorkflowExecution.workflowID = parent.workflowID
                a.parentWorkflowExecution.runID = parent.runID
                a.parentInitiatedEventID = parent.initiatedEventID
            }
            if let retry = p.retryPolicy { a.retryPolicy = retry }
            if let memo = p.memo { a.memo = memo }
            if let sa = p.searchAttributes { a.searchAttributes = sa }
            a.firstWorkflowTaskBackoff = ProtoTime.duration(0)
            if p.executionTimeoutNanos > 0 {
                a.workflowExecutionExpirationTime = ProtoTime.timestamp(now + p.executionTimeoutNanos)
            }
            e.workflowExecutionStartedEventAttributes = a
        }
        if let signal = p.signal {
            tx.addEvent(.workflowExecutionSignaled) { e in
                e.workflowExecutionSignaledEventAttributes.signalName = signal.name
                if let input = signal.input { e.workflowExecutionSignaledEventAttributes.input = input }
                if let header = signal.header { e.workflowExecutionSignaledEventAttributes.header = header }
                e.workflowExecutionSignaledEventAttributes.identity = p.identity
            }
            tx.ms.signalCount += 1
        }
        tx.scheduleWorkflowTask()
        if runTimeout > 0 {
            tx.ms.runTimeoutTask = tx.addTimerTask(.workflowRunTimeout, at: now + runTimeout)
        }
        tx.updateVisibility()
        return tx
    }
}
