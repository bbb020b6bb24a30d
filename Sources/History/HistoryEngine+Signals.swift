public import Persistence
import SwiftProtobuf
public import TemporalAPI

extension HistoryEngine {
    /// Signal request ids remembered per run for dedupe.
    static let maxRememberedSignalRequestIDs = 100
    /// Signals accepted per run over its life (Temporal's default limit).
    static let maxSignalsPerRun: Int64 = 10_000

    public func signal(
        _ key: WorkflowKey, name: String, input: Temporal_Api_Common_V1_Payloads?, header: Temporal_Api_Common_V1_Header?,
        identity: String, requestID: String
    ) async throws(HistoryError) {
        try await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            guard tx.ms.isRunning else { throw .notFound("workflow execution already completed") }
            if !requestID.isEmpty && tx.ms.signalRequestIDs.contains(requestID) { return }
            guard tx.ms.signalCount < HistoryEngine.maxSignalsPerRun else {
                throw .resourceExhausted("the run has received \(HistoryEngine.maxSignalsPerRun) signals, the most one run accepts")
            }
            tx.addExternalEvent(.workflowExecutionSignaled) {
                $0.workflowExecutionSignaledEventAttributes.signalName = name
                if let input { $0.workflowExecutionSignaledEventAttributes.input = input }
                if let header { $0.workflowExecutionSignaledEventAttributes.header = header }
                $0.workflowExecutionSignaledEventAttributes.identity = identity
                $0.workflowExecutionSignaledEventAttributes.requestID = requestID
            }
            tx.ms.signalCount += 1
            if !requestID.isEmpty {
                tx.ms.signalRequestIDs.append(requestID)
                if tx.ms.signalRequestIDs.count > HistoryEngine.maxRememberedSignalRequestIDs { tx.ms.signalRequestIDs.removeFirst() }
            }
        }
    }

    public func requestCancel(_ key: WorkflowKey, reason: String, identity: String, requestID: String) async throws(HistoryError) {
        try await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            guard tx.ms.isRunning else { throw .notFound("workflow execution already completed") }
            if tx.ms.cancelRequested { return }  // Temporal answers a repeated request with OK
            tx.addExternalEvent(.workflowExecutionCancelRequested) {
                $0.workflowExecutionCancelRequestedEventAttributes.cause = reason
                $0.workflowExecutionCancelRequestedEventAttributes.identity = identity
            }
            tx.ms.cancelRequested = true
            tx.ms.cancelRequestID = requestID
        }
    }

    public func terminate(_ key: WorkflowKey, reason: String, details: Temporal_Api_Common_V1_Payloads?, identity: String) async throws(HistoryError) {
        try await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) in
            guard tx.ms.isRunning else { throw .notFound("workflow execution already completed") }
            self.closeFromOutside(&tx)
            let id = tx.addEvent(.workflowExecutionTerminated) {
                $0.workflowExecutionTerminatedEventAttributes.reason = reason
                if let details { $0.workflowExecutionTerminatedEventAttributes.details = details }
                $0.workflowExecutionTerminatedEventAttributes.identity = identity
            }
            tx.close(.terminated, eventID: id)
        }
    }

    /// Before a close that does not come from the workflow (terminate, run timeout): end a
    /// started workflow task with WorkflowTaskFailed and write what was buffered, so the close
    /// event is the last event.
    func closeFromOutside(_ tx: inout WorkflowTransaction) {
        if let wft = tx.ms.workflowTask, wft.isStarted {
            tx.addEvent(.workflowTaskFailed) {
                $0.workflowTaskFailedEventAttributes.scheduledEventID = wft.scheduledEventID
                $0.workflowTaskFailedEventAttributes.startedEventID = wft.startedEventID
                $0.workflowTaskFailedEventAttributes.cause = .forceCloseCommand
            }
            tx.ms.workflowTask = nil
            tx.complete(.timer, wft.timeoutTask)
            tx.flushBufferedEvents()
        }
        tx.needsWorkflowTask = false
    }

    /// Applies a fired timer task; false when it no longer matches the run's state.
    func applyTimer(_ timer: TimerTask, task: HistoryTask, tx: inout WorkflowTransaction) throws(HistoryError) -> Bool {
        guard tx.ms.isRunning else { return false }
        switch timer {
        case .userTimer(let timerID, let startedEventID):
            guard let info = tx.ms.timers[timerID], info.startedEventID == startedEventID else { return false }
            tx.ms.timers[timerID] = nil
            tx.addExternalEvent(.timerFired) {
                $0.timerFiredEventAttributes.timerID = timerID
                $0.timerFiredEventAttributes.startedEventID = startedEventID
            }
            return true
        case .workflowTaskTimeout(let id, let attempt):
            return workflowTaskTimedOut(&tx, scheduledEventID: id, attempt: attempt)
        case .stickyScheduleToStart(let id):
            return stickyTaskTimedOut(&tx, scheduledEventID: id)
        case .activityTimeout, .activityRetry:
            return activityTimer(timer, tx: &tx)
        case .workflowRunTimeout:
            closeFromOutside(&tx)
            let id = tx.addEvent(.workflowExecutionTimedOut) {
                $0.workflowExecutionTimedOutEventAttributes.retryState = .timeout
            }
            tx.ms.runTimeoutTask = nil
            tx.close(.timedOut, eventID: id)
            return true
        }
    }
}
