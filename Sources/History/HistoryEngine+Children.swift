import Synchronization
import Foundation
public import Persistence
import SwiftProtobuf
import TemporalAPI

/// Child workflows and requests to other workflows. The initiating change writes the initiated
/// event, the pending entry in mutable state and a transfer task in one batch; the task is then
/// processed (after the commit, and again after a restart while its row remains): the action on
/// the other workflow is idempotent (request ids derived from the initiating run and event), and
/// its outcome is recorded on the initiating run in a transaction that also deletes the task.
extension HistoryEngine {
    static let maxPendingChildren = 2_000
    static let maxPendingExternalRequests = 2_000

    // MARK: Commands

    func initiateChild(_ a: Temporal_Api_Command_V1_StartChildWorkflowExecutionCommandAttributes, completedEventID: Int64, tx: inout WorkflowTransaction) {
        var e = Temporal_Api_History_V1_StartChildWorkflowExecutionInitiatedEventAttributes()
        e.namespace = tx.ms.namespaceName
        e.namespaceID = tx.ms.namespaceID
        e.workflowID = a.workflowID
        e.workflowType = a.workflowType
        e.taskQueue = a.taskQueue
        if e.taskQueue.name.isEmpty { e.taskQueue.name = tx.ms.taskQueue }
        e.taskQueue.kind = .normal
        if a.hasInput { e.input = a.input }
        e.workflowExecutionTimeout = a.workflowExecutionTimeout
        e.workflowRunTimeout = a.workflowRunTimeout
        e.workflowTaskTimeout = a.workflowTaskTimeout
        e.parentClosePolicy = a.parentClosePolicy == .unspecified ? .terminate : a.parentClosePolicy
        e.control = a.control
        e.workflowTaskCompletedEventID = completedEventID
        e.workflowIDReusePolicy = a.workflowIDReusePolicy
        if a.hasRetryPolicy { e.retryPolicy = a.retryPolicy }
        if a.hasHeader { e.header = a.header }
        if a.hasMemo { e.memo = a.memo }
        if a.hasSearchAttributes { e.searchAttributes = a.searchAttributes }
        let attributes = e
        let id = tx.addEvent(.startChildWorkflowExecutionInitiated) { $0.startChildWorkflowExecutionInitiatedEventAttributes = attributes }
        tx.ms.children[id] = ChildInfo(
            initiatedEventID: id, workflowID: a.workflowID, workflowType: a.workflowType.name,
            parentClosePolicy: attributes.parentClosePolicy.rawValue, initiatedAttributes: (try? attributes.serializedBytes()) ?? [])
        tx.addTransferWork(.startChild(initiatedEventID: id))
    }

    func initiateExternalSignal(_ a: Temporal_Api_Command_V1_SignalExternalWorkflowExecutionCommandAttributes, completedEventID: Int64, tx: inout WorkflowTransaction) {
        var e = Temporal_Api_History_V1_SignalExternalWorkflowExecutionInitiatedEventAttributes()
        e.workflowTaskCompletedEventID = completedEventID
        e.namespace = tx.ms.namespaceName
        e.namespaceID = tx.ms.namespaceID
        e.workflowExecution = a.execution
        e.signalName = a.signalName
        if a.hasInput { e.input = a.input }
        e.control = a.control
        e.childWorkflowOnly = a.childWorkflowOnly
        if a.hasHeader { e.header = a.header }
        let attributes = e
        let id = tx.addEvent(.signalExternalWorkflowExecutionInitiated) { $0.signalExternalWorkflowExecutionInitiatedEventAttributes = attributes }
        tx.ms.externalRequests[id] = ExternalRequestInfo(
            initiatedEventID: id, isCancel: false, workflowID: a.execution.workflowID, runID: a.execution.runID,
            initiatedAttributes: (try? attributes.serializedBytes()) ?? [])
        tx.addTransferWork(.externalRequest(initiatedEventID: id))
    }

    func initiateExternalCancel(_ a: Temporal_Api_Command_V1_RequestCancelExternalWorkflowExecutionCommandAttributes, completedEventID: Int64, tx: inout WorkflowTransaction) {
        var e = Temporal_Api_History_V1_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes()
        e.workflowTaskCompletedEventID = completedEventID
        e.namespace = tx.ms.namespaceName
        e.namespaceID = tx.ms.namespaceID
        e.workflowExecution.workflowID = a.workflowID
        e.workflowExecution.runID = a.runID
        e.control = a.control
        e.childWorkflowOnly = a.childWorkflowOnly
        e.reason = a.reason
        let attributes = e
        let id = tx.addEvent(.requestCancelExternalWorkflowExecutionInitiated) {
            $0.requestCancelExternalWorkflowExecutionInitiatedEventAttributes = attributes
        }
        tx.ms.externalRequests[id] = ExternalRequestInfo(
            initiatedEventID: id, isCancel: true, workflowID: a.workflowID, runID: a.runID, initiatedAttributes: (try? attributes.serializedBytes()) ?? [])
        tx.addTransferWork(.externalRequest(initiatedEventID: id))
    }

    // MARK: Processing

    func processTransfer(_ key: WorkflowKey, ref: TaskRef, task: TransferTask, shard: Shard, attempt: Int = 1) async {
        do {
            switch task {
            case .startChild(let id): try await startChild(key, initiatedEventID: id, ref: ref)
            case .recordChildClosed: try await recordChildClosed(key, ref: ref, shard: shard)
            case .externalRequest(let id): try await deliverExternalRequest(key, initiatedEventID: id, ref: ref)
            case .closeChildren: try await applyParentClosePolicies(key, ref: ref, shard: shard)
            case .workflowTask, .activityTask: return
            }
        } catch {
            // Retried with backoff (doubling from `transferRetryBaseDelay` up to
            // `transferRetryMaxDelay`) while the process runs, and from its row after a restart.
            // A run that closed meanwhile makes the retry a no-op.
            let delay = min(configuration.transferRetryMaxDelay, configuration.transferRetryBaseDelay * (1 << min(attempt - 1, 20)))
            logger("transfer task \(ref.taskID) of \(key) failed (attempt \(attempt), retried in \(delay)): \(error)")
            Task {
                try? await Task.sleep(for: delay)
                guard !self.stopped.withLock({ $0 }) else { return }
                await self.processTransfer(key, ref: ref, task: task, shard: shard, attempt: attempt + 1)
            }
        }
    }

    /// Completes a transfer task whose work no longer applies.
    private func drop(_ key: WorkflowKey, _ ref: TaskRef) async throws {
        try await persistence.completeHistoryTask(shardID: shard(for: key).id, category: .transfer, key: ref.key)
    }

    private func startChild(_ parentKey: WorkflowKey, initiatedEventID: Int64, ref: TaskRef) async throws {
        let parent = try await load(parentKey, shard: shard(for: parentKey))
        guard parent.isRunning, let child = parent.children[initiatedEventID], child.runID.isEmpty else {
            return try await drop(parentKey, ref)
        }
        let a = try Temporal_Api_History_V1_StartChildWorkflowExecutionInitiatedEventAttributes(serializedBytes: child.initiatedAttributes)
        var p = StartParameters(
            namespaceID: parent.namespaceID, namespaceName: parent.namespaceName, workflowID: a.workflowID, workflowType: a.workflowType.name,
            taskQueue: a.taskQueue.name, requestID: "\(parentKey.runID):\(initiatedEventID)")
        if a.hasInput { p.input = a.input }
        if a.hasHeader { p.header = a.header }
        if a.hasWorkflowTaskTimeout { p.workflowTaskTimeoutNanos = ProtoTime.nanos(a.workflowTaskTimeout) }
        p.runTimeoutNanos = ProtoTime.nanos(a.workflowRunTimeout)
        p.executionTimeoutNanos = ProtoTime.nanos(a.workflowExecutionTimeout)
        p.reusePolicy = a.workflowIDReusePolicy
        if a.hasRetryPolicy { p.retryPolicy = a.retryPolicy }
        if a.hasMemo { p.memo = a.memo }
        if a.hasSearchAttributes { p.searchAttributes = a.searchAttributes }
        p.parent = ParentInfo(
            namespaceID: parent.namespaceID, namespaceName: parent.namespaceName, workflowID: parent.workflowID, runID: parent.runID,
            initiatedEventID: initiatedEventID)
        let runID: String?
        do {
            runID = try await startWorkflow(p).runID
        } catch .workflowAlreadyStarted {
            runID = nil
        }
        try await update(parentKey) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            tx.complete(.transfer, ref)
            guard tx.ms.isRunning, var info = tx.ms.children[initiatedEventID], info.runID.isEmpty else { return }
            guard let runID else {
                let ns = tx.ms.namespaceName, nsID = tx.ms.namespaceID
                tx.addExternalEvent(.startChildWorkflowExecutionFailed) {
                    $0.startChildWorkflowExecutionFailedEventAttributes.namespace = ns
                    $0.startChildWorkflowExecutionFailedEventAttributes.namespaceID = nsID
                    $0.startChildWorkflowExecutionFailedEventAttributes.workflowID = a.workflowID
                    $0.startChildWorkflowExecutionFailedEventAttributes.workflowType = a.workflowType
                    $0.startChildWorkflowExecutionFailedEventAttributes.cause = .workflowAlreadyExists
                    $0.startChildWorkflowExecutionFailedEventAttributes.control = a.control
                    $0.startChildWorkflowExecutionFailedEventAttributes.initiatedEventID = initiatedEventID
                    $0.startChildWorkflowExecutionFailedEventAttributes.workflowTaskCompletedEventID = a.workflowTaskCompletedEventID
                }
                tx.ms.children[initiatedEventID] = nil
                return
            }
            info.runID = runID
            self.addChildStarted(&info, a: a, tx: &tx)
            tx.ms.children[initiatedEventID] = info
        }
    }

    private func addChildStarted(
        _ info: inout ChildInfo, a: Temporal_Api_History_V1_StartChildWorkflowExecutionInitiatedEventAttributes, tx: inout WorkflowTransaction
    ) {
        let before = tx.events.count
        let ns = tx.ms.namespaceName, nsID = tx.ms.namespaceID
        let child = info
        tx.addExternalEvent(.childWorkflowExecutionStarted) {
            $0.childWorkflowExecutionStartedEventAttributes.namespace = ns
            $0.childWorkflowExecutionStartedEventAttributes.namespaceID = nsID
            $0.childWorkflowExecutionStartedEventAttributes.initiatedEventID = child.initiatedEventID
            $0.childWorkflowExecutionStartedEventAttributes.workflowExecution.workflowID = child.workflowID
            $0.childWorkflowExecutionStartedEventAttributes.workflowExecution.runID = child.runID
            $0.childWorkflowExecutionStartedEventAttributes.workflowType = a.workflowType
            if a.hasHeader { $0.childWorkflowExecutionStartedEventAttributes.header = a.header }
        }
        if tx.events.count > before { info.startedEventID = tx.events.last!.eventID }
    }

    /// The child closed: write the matching Child… event on the parent (starting it first if the
    /// parent has not recorded the start yet), then delete the child's task.
    private func recordChildClosed(_ childKey: WorkflowKey, ref: TaskRef, shard: Shard) async throws {
        let child = try await load(childKey, shard: shard)
        guard let parentInfo = child.parent, !child.isRunning else { return try await drop(childKey, ref) }
        let (events, _) = try await readHistory(child, from: child.closeEventID, through: child.closeEventID, pageEvents: 1)
        guard let close = events.first else { return try await drop(childKey, ref) }
        do {
            try await update(parentInfo.key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
                guard tx.ms.isRunning, var info = tx.ms.children[parentInfo.initiatedEventID], info.workflowID == childKey.workflowID else { return }
                // A continued-as-new child reports its final run; the chain is the same child.
                if info.runID.isEmpty {
                    info.runID = childKey.runID
                    let a = (try? Temporal_Api_History_V1_StartChildWorkflowExecutionInitiatedEventAttributes(serializedBytes: info.initiatedAttributes)) ?? .init()
                    self.addChildStarted(&info, a: a, tx: &tx)
                }
                if close.eventType == .workflowExecutionContinuedAsNew { return }
                let execution = Temporal_Api_Common_V1_WorkflowExecution.with {
                    $0.workflowID = childKey.workflowID
                    $0.runID = childKey.runID
                }
                let started = info.startedEventID
                let ns = tx.ms.namespaceName, nsID = tx.ms.namespaceID
                var type = Temporal_Api_Common_V1_WorkflowType()
                type.name = info.workflowType
                let initiated = info.initiatedEventID
                switch close.eventType {
                case .workflowExecutionCompleted:
                    tx.addExternalEvent(.childWorkflowExecutionCompleted) {
                        let c = close.workflowExecutionCompletedEventAttributes
                        $0.childWorkflowExecutionCompletedEventAttributes = .with {
                            if c.hasResult { $0.result = c.result }
                            $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = execution; $0.workflowType = type
                            $0.initiatedEventID = initiated; $0.startedEventID = started
                        }
                    }
                case .workflowExecutionFailed:
                    tx.addExternalEvent(.childWorkflowExecutionFailed) {
                        let c = close.workflowExecutionFailedEventAttributes
                        $0.childWorkflowExecutionFailedEventAttributes = .with {
                            $0.failure = c.failure; $0.retryState = c.retryState
                            $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = execution; $0.workflowType = type
                            $0.initiatedEventID = initiated; $0.startedEventID = started
                        }
                    }
                case .workflowExecutionCanceled:
                    tx.addExternalEvent(.childWorkflowExecutionCanceled) {
                        let c = close.workflowExecutionCanceledEventAttributes
                        $0.childWorkflowExecutionCanceledEventAttributes = .with {
                            if c.hasDetails { $0.details = c.details }
                            $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = execution; $0.workflowType = type
                            $0.initiatedEventID = initiated; $0.startedEventID = started
                        }
                    }
                case .workflowExecutionTerminated:
                    tx.addExternalEvent(.childWorkflowExecutionTerminated) {
                        $0.childWorkflowExecutionTerminatedEventAttributes = .with {
                            $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = execution; $0.workflowType = type
                            $0.initiatedEventID = initiated; $0.startedEventID = started
                        }
                    }
                default:
                    tx.addExternalEvent(.childWorkflowExecutionTimedOut) {
                        $0.childWorkflowExecutionTimedOutEventAttributes = .with {
                            $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = execution; $0.workflowType = type
                            $0.initiatedEventID = initiated; $0.startedEventID = started; $0.retryState = .timeout
                        }
                    }
                }
                tx.ms.children[initiated] = nil
            }
        } catch .notFound {
            // The parent is gone (deleted): nothing to report to.
        }
        try await drop(childKey, ref)
    }

    private func deliverExternalRequest(_ sourceKey: WorkflowKey, initiatedEventID: Int64, ref: TaskRef) async throws {
        let source = try await load(sourceKey, shard: shard(for: sourceKey))
        guard source.isRunning, let request = source.externalRequests[initiatedEventID] else { return try await drop(sourceKey, ref) }
        let requestID = "\(sourceKey.runID):\(initiatedEventID)"
        var delivered = true
        var target = Temporal_Api_Common_V1_WorkflowExecution()
        target.workflowID = request.workflowID
        target.runID = request.runID
        do {
            let key = try await resolveKey(namespaceID: source.namespaceID, workflowID: request.workflowID, runID: request.runID)
            if request.isCancel {
                let a = try Temporal_Api_History_V1_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(serializedBytes: request.initiatedAttributes)
                try await requestCancel(key, reason: a.reason, identity: "", requestID: requestID)
            } else {
                let a = try Temporal_Api_History_V1_SignalExternalWorkflowExecutionInitiatedEventAttributes(serializedBytes: request.initiatedAttributes)
                try await signal(key, name: a.signalName, input: a.hasInput ? a.input : nil, header: a.hasHeader ? a.header : nil, identity: "", requestID: requestID)
            }
        } catch HistoryError.notFound {
            delivered = false
        }
        let ok = delivered
        try await update(sourceKey) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            tx.complete(.transfer, ref)
            guard tx.ms.isRunning, let request = tx.ms.externalRequests.removeValue(forKey: initiatedEventID) else { return }
            let ns = tx.ms.namespaceName, nsID = tx.ms.namespaceID
            switch (request.isCancel, ok) {
            case (false, true):
                tx.addExternalEvent(.externalWorkflowExecutionSignaled) {
                    $0.externalWorkflowExecutionSignaledEventAttributes = .with {
                        $0.initiatedEventID = initiatedEventID; $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = target
                    }
                }
            case (false, false):
                tx.addExternalEvent(.signalExternalWorkflowExecutionFailed) {
                    $0.signalExternalWorkflowExecutionFailedEventAttributes = .with {
                        $0.cause = .externalWorkflowExecutionNotFound; $0.initiatedEventID = initiatedEventID
                        $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = target
                    }
                }
            case (true, true):
                tx.addExternalEvent(.externalWorkflowExecutionCancelRequested) {
                    $0.externalWorkflowExecutionCancelRequestedEventAttributes = .with {
                        $0.initiatedEventID = initiatedEventID; $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = target
                    }
                }
            case (true, false):
                tx.addExternalEvent(.requestCancelExternalWorkflowExecutionFailed) {
                    $0.requestCancelExternalWorkflowExecutionFailedEventAttributes = .with {
                        $0.cause = .externalWorkflowExecutionNotFound; $0.initiatedEventID = initiatedEventID
                        $0.namespace = ns; $0.namespaceID = nsID; $0.workflowExecution = target
                    }
                }
            }
        }
    }

    /// The parent closed: terminate or cancel its started children per their policies.
    private func applyParentClosePolicies(_ parentKey: WorkflowKey, ref: TaskRef, shard: Shard) async throws {
        let parent = try await load(parentKey, shard: shard)
        for child in parent.children.values where !child.runID.isEmpty {
            let key = WorkflowKey(namespaceID: parent.namespaceID, workflowID: child.workflowID, runID: "")
            guard let current = try? await resolveKey(namespaceID: key.namespaceID, workflowID: key.workflowID, runID: "") else { continue }
            switch child.parentClosePolicy {
            case 1: try? await terminate(current, reason: "by parent close policy", details: nil, identity: "")
            case 3: try? await requestCancel(current, reason: "by parent close policy", identity: "", requestID: "\(parentKey.runID):close:\(child.initiatedEventID)")
            default: break
            }
        }
        try await drop(parentKey, ref)
    }
}
