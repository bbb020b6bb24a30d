import Foundation
import Persistence
import SwiftProtobuf
import TemporalAPI

typealias Command = Temporal_Api_Command_V1_Command
typealias FailedCause = Temporal_Api_Enums_V1_WorkflowTaskFailedCause

extension HistoryEngine {
    /// Pending activities and timers a run may hold.
    static let maxPendingActivities = 2_000
    static let maxPendingTimers = 10_000

    /// Checks a completion's commands before anything is written. A rejection fails the
    /// workflow task (the real server's behaviour) with the cause the SDKs know.
    func validate(_ commands: [Command], _ ms: MutableState, messageIDs: Set<String> = []) -> (cause: FailedCause, message: String)? {
        var activityIDs = Set(ms.activities.values.map(\.activityID))
        var timerIDs = Set(ms.timers.keys)
        for (index, command) in commands.enumerated() {
            switch command.commandType {
            case .scheduleActivityTask:
                let a = command.scheduleActivityTaskCommandAttributes
                if a.activityID.isEmpty { return (.badScheduleActivityAttributes, "BadScheduleActivityAttributes: ActivityId is not set.") }
                if a.activityType.name.isEmpty { return (.badScheduleActivityAttributes, "BadScheduleActivityAttributes: ActivityType is not set.") }
                if !activityIDs.insert(a.activityID).inserted {
                    return (.scheduleActivityDuplicateID, "ScheduleActivityDuplicateId: activity id \(a.activityID) is already pending.")
                }
                if ProtoTime.nanos(a.scheduleToCloseTimeout) <= 0 && ProtoTime.nanos(a.startToCloseTimeout) <= 0 {
                    return (.badScheduleActivityAttributes, "BadScheduleActivityAttributes: a valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.")
                }
                if activityIDs.count > HistoryEngine.maxPendingActivities {
                    return (.pendingActivitiesLimitExceeded, "PendingActivitiesLimitExceeded: at most \(HistoryEngine.maxPendingActivities) pending activities per run.")
                }
            case .startTimer:
                let a = command.startTimerCommandAttributes
                if a.timerID.isEmpty { return (.badStartTimerAttributes, "BadStartTimerAttributes: TimerId is not set.") }
                if ProtoTime.nanos(a.startToFireTimeout) <= 0 { return (.badStartTimerAttributes, "BadStartTimerAttributes: StartToFireTimeout must be positive.") }
                if !timerIDs.insert(a.timerID).inserted { return (.startTimerDuplicateID, "StartTimerDuplicateId: timer id \(a.timerID) is already started.") }
                if timerIDs.count > HistoryEngine.maxPendingTimers { return (.badStartTimerAttributes, "at most \(HistoryEngine.maxPendingTimers) pending timers per run.") }
            case .cancelTimer:
                if !timerIDs.contains(command.cancelTimerCommandAttributes.timerID) {
                    return (.badCancelTimerAttributes, "BadCancelTimerAttributes: timer id \(command.cancelTimerCommandAttributes.timerID) is not started.")
                }
                timerIDs.remove(command.cancelTimerCommandAttributes.timerID)
            case .requestCancelActivityTask:
                if ms.activities[command.requestCancelActivityTaskCommandAttributes.scheduledEventID] == nil
                    && !commands[..<index].contains(where: { $0.commandType == .scheduleActivityTask })
                {
                    return (.badRequestCancelActivityAttributes, "BadRequestCancelActivityAttributes: no pending activity with scheduled event id \(command.requestCancelActivityTaskCommandAttributes.scheduledEventID).")
                }
            case .completeWorkflowExecution, .failWorkflowExecution, .cancelWorkflowExecution, .continueAsNewWorkflowExecution:
                if !ms.bufferedEvents.isEmpty {
                    return (.unhandledCommand, "UnhandledCommand: new events arrived while the workflow task was running; the workflow must handle them before closing.")
                }
            case .recordMarker:
                if command.recordMarkerCommandAttributes.markerName.isEmpty { return (.badRecordMarkerAttributes, "BadRecordMarkerAttributes: MarkerName is not set.") }
            case .upsertWorkflowSearchAttributes, .modifyWorkflowProperties:
                break
            case .startChildWorkflowExecution:
                let a = command.startChildWorkflowExecutionCommandAttributes
                if a.workflowID.isEmpty { return (.badStartChildExecutionAttributes, "BadStartChildExecutionAttributes: WorkflowId is not set.") }
                if a.workflowType.name.isEmpty { return (.badStartChildExecutionAttributes, "BadStartChildExecutionAttributes: WorkflowType is not set.") }
                if ms.children.count >= HistoryEngine.maxPendingChildren {
                    return (.pendingChildWorkflowsLimitExceeded, "PendingChildWorkflowsLimitExceeded: at most \(HistoryEngine.maxPendingChildren) pending children per run.")
                }
            case .signalExternalWorkflowExecution:
                let a = command.signalExternalWorkflowExecutionCommandAttributes
                if a.execution.workflowID.isEmpty { return (.badSignalWorkflowExecutionAttributes, "BadSignalWorkflowExecutionAttributes: WorkflowId is not set.") }
                if a.signalName.isEmpty { return (.badSignalWorkflowExecutionAttributes, "BadSignalWorkflowExecutionAttributes: SignalName is not set.") }
                if ms.externalRequests.count >= HistoryEngine.maxPendingExternalRequests {
                    return (.pendingSignalsLimitExceeded, "PendingSignalsLimitExceeded: at most \(HistoryEngine.maxPendingExternalRequests) pending requests per run.")
                }
            case .requestCancelExternalWorkflowExecution:
                if command.requestCancelExternalWorkflowExecutionCommandAttributes.workflowID.isEmpty {
                    return (.badRequestCancelExternalWorkflowExecutionAttributes, "BadRequestCancelExternalWorkflowExecutionAttributes: WorkflowId is not set.")
                }
                if ms.externalRequests.count >= HistoryEngine.maxPendingExternalRequests {
                    return (.pendingRequestCancelLimitExceeded, "PendingRequestCancelLimitExceeded: at most \(HistoryEngine.maxPendingExternalRequests) pending requests per run.")
                }
            case .protocolMessage:
                if !messageIDs.contains(command.protocolMessageCommandAttributes.messageID) {
                    return (.badUpdateWorkflowExecutionMessage, "BadUpdateWorkflowExecutionMessage: no message \(command.protocolMessageCommandAttributes.messageID) in the completion.")
                }
            default:
                return (.unhandledCommand, "UnhandledCommand: command type \(command.commandType) is not supported by this server.")
            }
        }
        return nil
    }

    /// Applies one validated command: its event, and the state and tasks it implies.
    func apply(_ command: Command, completedEventID: Int64, messages: [String: Temporal_Api_Protocol_V1_Message] = [:], tx: inout WorkflowTransaction) throws(HistoryError) {
        switch command.commandType {
        case .protocolMessage:
            if let message = messages[command.protocolMessageCommandAttributes.messageID] { try applyProtocolMessage(message, tx: &tx) }
        case .scheduleActivityTask:
            // Eager execution: the completing worker asked to run it and polls the same queue.
            let a = command.scheduleActivityTaskCommandAttributes
            let sameQueue = a.taskQueue.name.isEmpty || a.taskQueue.name == tx.ms.taskQueue
            let eager = a.requestEagerExecution && sameQueue && !tx.eagerIdentity.isEmpty
                && tx.eagerActivities.count < HistoryEngine.maxEagerActivitiesPerCompletion
            scheduleActivity(a, completedEventID: completedEventID, startedBy: eager ? tx.eagerIdentity : nil, tx: &tx)
        case .requestCancelActivityTask:
            requestCancelActivity(command.requestCancelActivityTaskCommandAttributes.scheduledEventID, completedEventID: completedEventID, tx: &tx)
        case .startTimer:
            let a = command.startTimerCommandAttributes
            let fireTime = tx.now + ProtoTime.nanos(a.startToFireTimeout)
            let id = tx.addEvent(.timerStarted) {
                $0.timerStartedEventAttributes.timerID = a.timerID
                $0.timerStartedEventAttributes.startToFireTimeout = a.startToFireTimeout
                $0.timerStartedEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            let task = tx.addTimerTask(.userTimer(timerID: a.timerID, startedEventID: id), at: fireTime)
            tx.ms.timers[a.timerID] = TimerInfo(timerID: a.timerID, startedEventID: id, fireTime: fireTime, task: task)
        case .cancelTimer:
            let timerID = command.cancelTimerCommandAttributes.timerID
            guard let timer = tx.ms.timers.removeValue(forKey: timerID) else { return }
            tx.addEvent(.timerCanceled) {
                $0.timerCanceledEventAttributes.timerID = timerID
                $0.timerCanceledEventAttributes.startedEventID = timer.startedEventID
                $0.timerCanceledEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            tx.complete(.timer, timer.task)
        case .completeWorkflowExecution:
            let a = command.completeWorkflowExecutionCommandAttributes
            let id = tx.addEvent(.workflowExecutionCompleted) {
                if a.hasResult { $0.workflowExecutionCompletedEventAttributes.result = a.result }
                $0.workflowExecutionCompletedEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            tx.close(.completed, eventID: id)
        case .failWorkflowExecution:
            let a = command.failWorkflowExecutionCommandAttributes
            let id = tx.addEvent(.workflowExecutionFailed) {
                if a.hasFailure { $0.workflowExecutionFailedEventAttributes.failure = a.failure }
                $0.workflowExecutionFailedEventAttributes.retryState = .retryPolicyNotSet
                $0.workflowExecutionFailedEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            tx.close(.failed, eventID: id)
        case .cancelWorkflowExecution:
            let a = command.cancelWorkflowExecutionCommandAttributes
            let id = tx.addEvent(.workflowExecutionCanceled) {
                if a.hasDetails { $0.workflowExecutionCanceledEventAttributes.details = a.details }
                $0.workflowExecutionCanceledEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            tx.close(.canceled, eventID: id)
        case .startChildWorkflowExecution:
            initiateChild(command.startChildWorkflowExecutionCommandAttributes, completedEventID: completedEventID, tx: &tx)
        case .signalExternalWorkflowExecution:
            initiateExternalSignal(command.signalExternalWorkflowExecutionCommandAttributes, completedEventID: completedEventID, tx: &tx)
        case .requestCancelExternalWorkflowExecution:
            initiateExternalCancel(command.requestCancelExternalWorkflowExecutionCommandAttributes, completedEventID: completedEventID, tx: &tx)
        case .continueAsNewWorkflowExecution:
            try continueAsNew(command.continueAsNewWorkflowExecutionCommandAttributes, completedEventID: completedEventID, tx: &tx)
        case .recordMarker:
            let a = command.recordMarkerCommandAttributes
            tx.addEvent(.markerRecorded) {
                $0.markerRecordedEventAttributes.markerName = a.markerName
                $0.markerRecordedEventAttributes.details = a.details
                if a.hasHeader { $0.markerRecordedEventAttributes.header = a.header }
                if a.hasFailure { $0.markerRecordedEventAttributes.failure = a.failure }
                $0.markerRecordedEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
        case .upsertWorkflowSearchAttributes:
            let a = command.upsertWorkflowSearchAttributesCommandAttributes
            tx.addEvent(.upsertWorkflowSearchAttributes) {
                $0.upsertWorkflowSearchAttributesEventAttributes.searchAttributes = a.searchAttributes
                $0.upsertWorkflowSearchAttributesEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            var current = (try? Temporal_Api_Common_V1_SearchAttributes(serializedBytes: tx.ms.searchAttributes)) ?? .init()
            for (name, value) in a.searchAttributes.indexedFields {
                // An empty payload (data "null" or nothing) removes the attribute.
                if value.data.isEmpty || value.data == Data("null".utf8) {
                    current.indexedFields[name] = nil
                } else {
                    current.indexedFields[name] = value
                }
            }
            tx.ms.searchAttributes = (try? current.serializedBytes()) ?? []
            tx.updateVisibility()
        case .modifyWorkflowProperties:
            let a = command.modifyWorkflowPropertiesCommandAttributes
            tx.addEvent(.workflowPropertiesModified) {
                $0.workflowPropertiesModifiedEventAttributes.upsertedMemo = a.upsertedMemo
                $0.workflowPropertiesModifiedEventAttributes.workflowTaskCompletedEventID = completedEventID
            }
            var memo = (try? Temporal_Api_Common_V1_Memo(serializedBytes: tx.ms.memo)) ?? .init()
            for (name, value) in a.upsertedMemo.fields {
                if value.data.isEmpty || value.data == Data("null".utf8) { memo.fields[name] = nil } else { memo.fields[name] = value }
            }
            tx.ms.memo = (try? memo.serializedBytes()) ?? []
            tx.updateVisibility()
        default:
            throw .internal("command \(command.commandType) passed validation but has no handler")
        }
    }
}

extension HistoryEngine {
    /// Closes the run as ContinuedAsNew and creates its successor (same workflow id, same chain)
    /// in the same batch; the successor becomes the current run.
    func continueAsNew(
        _ a: Temporal_Api_Command_V1_ContinueAsNewWorkflowExecutionCommandAttributes, completedEventID: Int64, tx: inout WorkflowTransaction
    ) throws(HistoryError) {
        let ms = tx.ms
        let newRunID = UUID().uuidString.lowercased()
        var p = StartParameters(
            namespaceID: ms.namespaceID, namespaceName: ms.namespaceName, workflowID: ms.workflowID,
            workflowType: a.workflowType.name.isEmpty ? ms.workflowType : a.workflowType.name,
            taskQueue: a.taskQueue.name.isEmpty ? ms.taskQueue : a.taskQueue.name, requestID: UUID().uuidString.lowercased())
        if a.hasInput { p.input = a.input }
        if a.hasHeader { p.header = a.header }
        p.workflowTaskTimeoutNanos = a.hasWorkflowTaskTimeout ? ProtoTime.nanos(a.workflowTaskTimeout) : ms.workflowTaskTimeoutNanos
        p.runTimeoutNanos = a.hasWorkflowRunTimeout ? ProtoTime.nanos(a.workflowRunTimeout) : ms.runTimeoutNanos
        p.executionTimeoutNanos = ms.executionTimeoutNanos
        if a.hasRetryPolicy { p.retryPolicy = a.retryPolicy }
        p.memo = a.hasMemo ? a.memo : (try? Temporal_Api_Common_V1_Memo(serializedBytes: ms.memo))
        p.searchAttributes = a.hasSearchAttributes ? a.searchAttributes : (try? Temporal_Api_Common_V1_SearchAttributes(serializedBytes: ms.searchAttributes))
        p.parent = ms.parent
        let newRun = try newRunTransaction(p, runID: newRunID, shard: tx.shard, continuing: ms, now: tx.now)
        let id = tx.addEvent(.workflowExecutionContinuedAsNew) {
            var e = Temporal_Api_History_V1_WorkflowExecutionContinuedAsNewEventAttributes()
            e.newExecutionRunID = newRunID
            e.workflowType.name = p.workflowType
            e.taskQueue.name = p.taskQueue
            e.taskQueue.kind = .normal
            if a.hasInput { e.input = a.input }
            e.workflowRunTimeout = ProtoTime.duration(p.runTimeoutNanos)
            e.workflowTaskTimeout = ProtoTime.duration(p.workflowTaskTimeoutNanos)
            e.workflowTaskCompletedEventID = completedEventID
            e.initiator = .workflow
            if a.hasHeader { e.header = a.header }
            if let memo = p.memo { e.memo = memo }
            if let sa = p.searchAttributes { e.searchAttributes = sa }
            $0.workflowExecutionContinuedAsNewEventAttributes = e
        }
        tx.close(.continuedAsNew, eventID: id)
        tx.ms.newRunID = newRunID
        tx.newRuns.append(newRun)
    }
}
