import Foundation
import Persistence
import SwiftProtobuf
import TemporalAPI

typealias HistoryEvent = Temporal_Api_History_V1_HistoryEvent

/// What happens after a transaction commits (never before: nobody may see uncommitted state).
enum Effect: Sendable {
    case dispatchWorkflowTask(taskQueue: String, scheduledEventID: Int64)
    case dispatchActivityTask(taskQueue: String, scheduledEventID: Int64, attempt: Int32)
    case timer(HistoryTask)
    /// Cross-workflow work (start a child, report to a parent, signal or cancel another run).
    case transfer(TaskRef, TransferTask)
}

/// One change to one run, built in memory: the new mutable state, the events to append (ids
/// assigned in order), the shard tasks to create and complete, and the effects to run after the
/// commit. `HistoryEngine.commit` persists it as one conditional batch carrying its history node and
/// visibility record.
struct WorkflowTransaction {
    var ms: MutableState
    let now: Int64
    let shard: Shard
    var events: [HistoryEvent] = []
    var newTasks: [HistoryTask] = []
    var completedTasks: [(HistoryTaskCategory, HistoryTaskKey)] = []
    var effects: [Effect] = []
    /// An external event was appended directly: a workflow task must be scheduled to deliver it
    /// (after every event of the change, so a result's Started/Completed pair stays together).
    var needsWorkflowTask = false
    /// The run's visibility record is rewritten in the commit's batch.
    var visibilityChanged = false
    /// Activities this change scheduled and started at once for the completing worker (eager
    /// execution), by scheduled event id.
    var eagerActivities: [Int64] = []
    /// The identity of the worker completing the workflow task this change applies ("" when the
    /// change is not a completion: no eager starts then).
    var eagerIdentity = ""
    /// A run this change creates in the same batch (continue-as-new), with its own events,
    /// tasks and effects.
    var newRuns: [WorkflowTransaction] = []

    init(ms: MutableState, now: Int64, shard: Shard) {
        self.ms = ms
        self.now = now
        self.shard = shard
    }

    var key: WorkflowKey { ms.key }

    /// Appends an event with the next id.
    @discardableResult
    mutating func addEvent(_ type: Temporal_Api_Enums_V1_EventType, _ fill: (inout HistoryEvent) -> Void) -> Int64 {
        var event = HistoryEvent()
        event.eventType = type
        event.eventTime = ProtoTime.timestamp(now)
        event.eventID = ms.nextEventID
        fill(&event)
        ms.nextEventID += 1
        events.append(event)
        return event.eventID
    }

    /// An event from outside the workflow task (signal, activity result, fired timer, cancel
    /// request): buffered while a workflow task is started, else appended, with a workflow task
    /// scheduled to deliver it.
    mutating func addExternalEvent(_ type: Temporal_Api_Enums_V1_EventType, _ fill: (inout HistoryEvent) -> Void) {
        if let task = ms.workflowTask, task.isStarted {
            var event = HistoryEvent()
            event.eventType = type
            event.eventTime = ProtoTime.timestamp(now)
            fill(&event)
            ms.bufferedEvents.append((try? event.serializedBytes()) ?? [])
            return
        }
        addEvent(type, fill)
        needsWorkflowTask = true
    }

    /// Writes the buffered events with ids, pointing activity results at their Started events.
    mutating func flushBufferedEvents() {
        let buffered = ms.bufferedEvents
        ms.bufferedEvents = []
        var activityStartedIDs: [Int64: Int64] = [:]
        var childStartedIDs: [Int64: Int64] = [:]
        for bytes in buffered {
            guard var event = try? HistoryEvent(serializedBytes: bytes) else { continue }
            switch event.eventType {
            case .activityTaskCompleted:
                if let id = activityStartedIDs[event.activityTaskCompletedEventAttributes.scheduledEventID] {
                    event.activityTaskCompletedEventAttributes.startedEventID = id
                }
            case .activityTaskFailed:
                if let id = activityStartedIDs[event.activityTaskFailedEventAttributes.scheduledEventID] {
                    event.activityTaskFailedEventAttributes.startedEventID = id
                }
            case .activityTaskTimedOut:
                if let id = activityStartedIDs[event.activityTaskTimedOutEventAttributes.scheduledEventID] {
                    event.activityTaskTimedOutEventAttributes.startedEventID = id
                }
            case .activityTaskCanceled:
                if let id = activityStartedIDs[event.activityTaskCanceledEventAttributes.scheduledEventID] {
                    event.activityTaskCanceledEventAttributes.startedEventID = id
                }
            case .childWorkflowExecutionCompleted, .childWorkflowExecutionFailed, .childWorkflowExecutionCanceled,
                .childWorkflowExecutionTerminated, .childWorkflowExecutionTimedOut:
                let initiated = Self.childInitiatedEventID(event)
                if let id = childStartedIDs[initiated] ?? ms.children[initiated]?.startedEventID { Self.setChildStartedEventID(&event, id) }
            default: break
            }
            let copy = event
            let id = addEvent(copy.eventType) { e in
                let assigned = e.eventID
                e = copy
                e.eventID = assigned
            }
            if copy.eventType == .activityTaskStarted {
                activityStartedIDs[copy.activityTaskStartedEventAttributes.scheduledEventID] = id
            }
            if copy.eventType == .childWorkflowExecutionStarted {
                let initiated = copy.childWorkflowExecutionStartedEventAttributes.initiatedEventID
                childStartedIDs[initiated] = id
                ms.children[initiated]?.startedEventID = id
            }
        }
    }

    /// Schedules a workflow task unless one is pending or the run is closed.
    mutating func scheduleWorkflowTask() {
        guard ms.isRunning, ms.workflowTask == nil else { return }
        let attempt = ms.workflowTaskFailures + 1
        let timeout = ms.workflowTaskTimeoutNanos
        let normal = ms.taskQueue
        // Sticky only for first attempts to a worker that has not shut down.
        let sticky = attempt == 1 ? ms.stickyQueue.flatMap { shard.stickyQueues.isLive($0) ? $0 : nil } : nil
        let queue = sticky ?? normal
        let id = addEvent(.workflowTaskScheduled) {
            $0.workflowTaskScheduledEventAttributes.taskQueue.name = queue
            $0.workflowTaskScheduledEventAttributes.taskQueue.kind = sticky == nil ? .normal : .sticky
            if sticky != nil { $0.workflowTaskScheduledEventAttributes.taskQueue.normalName = normal }
            $0.workflowTaskScheduledEventAttributes.startToCloseTimeout = ProtoTime.duration(timeout)
            $0.workflowTaskScheduledEventAttributes.attempt = attempt
        }
        var info = WorkflowTaskInfo(
            scheduledEventID: id, attempt: attempt, taskQueue: queue, scheduledTime: now, startToCloseNanos: timeout)
        info.transferTask = addTransferTask(.workflowTask(scheduledEventID: id))
        if sticky != nil {
            info.sticky = true
            info.scheduleToStartTask = addTimerTask(
                .stickyScheduleToStart(scheduledEventID: id), at: now + (ms.stickyScheduleToStartNanos ?? 10_000_000_000))
        }
        ms.workflowTask = info
        effects.append(.dispatchWorkflowTask(taskQueue: queue, scheduledEventID: id))
    }

    static func childInitiatedEventID(_ e: HistoryEvent) -> Int64 {
        switch e.eventType {
        case .childWorkflowExecutionCompleted: return e.childWorkflowExecutionCompletedEventAttributes.initiatedEventID
        case .childWorkflowExecutionFailed: return e.childWorkflowExecutionFailedEventAttributes.initiatedEventID
        case .childWorkflowExecutionCanceled: return e.childWorkflowExecutionCanceledEventAttributes.initiatedEventID
        case .childWorkflowExecutionTerminated: return e.childWorkflowExecutionTerminatedEventAttributes.initiatedEventID
        case .childWorkflowExecutionTimedOut: return e.childWorkflowExecutionTimedOutEventAttributes.initiatedEventID
        default: return 0
        }
    }

    static func setChildStartedEventID(_ e: inout HistoryEvent, _ id: Int64) {
        switch e.eventType {
        case .childWorkflowExecutionCompleted: e.childWorkflowExecutionCompletedEventAttributes.startedEventID = id
        case .childWorkflowExecutionFailed: e.childWorkflowExecutionFailedEventAttributes.startedEventID = id
        case .childWorkflowExecutionCanceled: e.childWorkflowExecutionCanceledEventAttributes.startedEventID = id
        case .childWorkflowExecutionTerminated: e.childWorkflowExecutionTerminatedEventAttributes.startedEventID = id
        case .childWorkflowExecutionTimedOut: e.childWorkflowExecutionTimedOutEventAttributes.startedEventID = id
        default: break
        }
    }

    /// A transfer task for cross-workflow work, processed after the commit (and again after a
    /// restart while its row remains).
    mutating func addTransferWork(_ task: TransferTask) {
        let ref = addTransferTask(task)
        effects.append(.transfer(ref, task))
    }

    mutating func addTransferTask(_ task: TransferTask) -> TaskRef {
        let id = shard.allocateTaskID()
        newTasks.append(HistoryTask(category: .transfer, taskID: id, key: key, data: task.encode()))
        return TaskRef(fireTime: 0, taskID: id)
    }

    mutating func addTimerTask(_ task: TimerTask, at fireTime: Int64) -> TaskRef {
        let id = shard.allocateTaskID()
        let row = HistoryTask(category: .timer, taskID: id, fireTime: fireTime, key: key, data: task.encode())
        newTasks.append(row)
        effects.append(.timer(row))
        return TaskRef(fireTime: fireTime, taskID: id)
    }

    /// Asks for the run's visibility record to be rewritten, in the commit's batch.
    mutating func updateVisibility() {
        visibilityChanged = true
    }

    mutating func complete(_ category: HistoryTaskCategory, _ ref: TaskRef?) {
        guard let ref else { return }
        // A task this transaction created is simply not created (its row is never written).
        if let index = newTasks.firstIndex(where: { $0.category == category && $0.taskKey == ref.key }) {
            newTasks.remove(at: index)
            effects.removeAll { effect in
                switch effect {
                case .timer(let row): return row.category == category && row.taskKey == ref.key
                case .transfer(let transfer, _): return category == .transfer && transfer.key == ref.key
                case .dispatchWorkflowTask, .dispatchActivityTask: return false
                }
            }
            return
        }
        completedTasks.append((category, ref.key))
    }

    /// Starts the scheduled, unstarted workflow task for `identity`: WorkflowTaskStarted, its
    /// start-to-close timeout, and the end of its dispatch (transfer task, sticky schedule-to-start
    /// timer, and the offer to matching when this transaction made it).
    mutating func startWorkflowTask(identity: String) {
        guard var wft = ms.workflowTask, !wft.isStarted else { return }
        let scheduledEventID = wft.scheduledEventID
        let requestID = UUID().uuidString.lowercased()
        let historySize = ms.historySizeBytes
        wft.startedEventID = addEvent(.workflowTaskStarted) {
            $0.workflowTaskStartedEventAttributes.scheduledEventID = scheduledEventID
            $0.workflowTaskStartedEventAttributes.identity = identity
            $0.workflowTaskStartedEventAttributes.requestID = requestID
            $0.workflowTaskStartedEventAttributes.historySizeBytes = historySize
        }
        wft.startedTime = now
        wft.identity = identity
        wft.startRequestID = requestID
        complete(.transfer, wft.transferTask)
        wft.transferTask = nil
        complete(.timer, wft.scheduleToStartTask)
        wft.scheduleToStartTask = nil
        effects.removeAll { effect in
            if case .dispatchWorkflowTask(_, let id) = effect { return id == scheduledEventID }
            return false
        }
        wft.timeoutTask = addTimerTask(
            .workflowTaskTimeout(scheduledEventID: scheduledEventID, attempt: wft.attempt), at: now + wft.startToCloseNanos)
        ms.workflowTask = wft
    }

    /// Closes the run with `status`; `eventID` is its close event.
    mutating func close(_ status: WorkflowStatus, eventID: Int64) {
        ms.status = status.rawValue
        ms.closeTime = now
        ms.closeEventID = eventID
        for activity in ms.activities.values {
            complete(.transfer, activity.transferTask)
            for task in activity.timerTasks { complete(.timer, task) }
        }
        for timer in ms.timers.values { complete(.timer, timer.task) }
        if let task = ms.workflowTask {
            complete(.transfer, task.transferTask)
            complete(.timer, task.timeoutTask)
            complete(.timer, task.scheduleToStartTask)
        }
        complete(.timer, ms.runTimeoutTask)
        if ms.parent != nil { addTransferWork(.recordChildClosed) }
        if ms.children.values.contains(where: { $0.parentClosePolicy != 2 }) { addTransferWork(.closeChildren) }
        ms.activities = [:]
        ms.timers = [:]
        ms.workflowTask = nil
        ms.runTimeoutTask = nil
        updateVisibility()
    }
}
