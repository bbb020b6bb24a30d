/// Mutable state format version 2: `u8 2 | fields` in the tagged encoding of `FieldWriter`.
/// Field numbers are part of the on-disk format (docs/format/mutable-state.md): never reuse one;
/// a new field takes the next number. Maps are repeated `{1: key, 2: value}` entries, in key
/// order so equal states encode to equal bytes.
extension MutableStateCodec {
    static func encodeV2(_ s: MutableState) -> [UInt8] {
        var w = FieldWriter()
        w.varint(UInt64(version2))
        w.string(1, s.namespaceID)
        w.string(2, s.workflowID)
        w.string(3, s.runID)
        w.string(4, s.firstExecutionRunID)
        w.string(5, s.workflowType)
        w.string(6, s.taskQueue)
        w.int(7, s.workflowTaskTimeoutNanos)
        w.int(8, s.runTimeoutNanos)
        w.int(9, s.executionTimeoutNanos)
        w.int(10, s.startTime)
        w.int(11, s.closeTime)
        w.int(12, always: Int64(s.status))
        w.string(13, s.createRequestID)
        w.int(14, s.nextEventID)
        w.int(15, s.lastEventTxnID)
        w.int(16, s.dbRecordVersion)
        w.int(17, s.lastCompletedWorkflowTaskStartedEventID)
        if let task = s.workflowTask { w.record(18) { encode(task, &$0) } }
        w.int(19, s.workflowTaskFailures)
        for (id, activity) in s.activities.sorted(by: { $0.key < $1.key }) {
            w.record(20) { e in
                e.int(1, always: id)
                e.record(2) { encode(activity, &$0) }
            }
        }
        for (id, timer) in s.timers.sorted(by: { $0.key < $1.key }) {
            w.record(21) { e in
                e.string(1, always: id)
                e.record(2) { encode(timer, &$0) }
            }
        }
        for event in s.bufferedEvents { w.data(22, always: event) }
        for id in s.signalRequestIDs { w.string(23, always: id) }
        w.bool(24, s.cancelRequested)
        w.string(25, s.cancelRequestID)
        w.data(26, s.searchAttributes)
        w.data(27, s.memo)
        w.int(28, s.closeEventID)
        if let task = s.runTimeoutTask { w.record(29) { encode(task, &$0) } }
        w.int(30, s.historySizeBytes)
        w.int(31, s.signalCount)
        w.string(32, s.continuedFromRunID)
        w.string(33, s.newRunID)
        w.string(34, s.namespaceName)
        if let parent = s.parent {
            w.record(35) { e in
                e.string(1, parent.namespaceID)
                e.string(2, parent.namespaceName)
                e.string(3, parent.workflowID)
                e.string(4, parent.runID)
                e.int(5, parent.initiatedEventID)
            }
        }
        for (id, child) in s.children.sorted(by: { $0.key < $1.key }) {
            w.record(36) { e in
                e.int(1, always: id)
                e.record(2) { c in
                    c.int(1, child.initiatedEventID)
                    c.string(2, child.workflowID)
                    c.string(3, child.workflowType)
                    c.string(4, child.runID)
                    c.int(5, child.startedEventID)
                    c.int(6, child.parentClosePolicy)
                    c.data(7, child.initiatedAttributes)
                }
            }
        }
        for (id, request) in s.externalRequests.sorted(by: { $0.key < $1.key }) {
            w.record(37) { e in
                e.int(1, always: id)
                e.record(2) { r in
                    r.int(1, request.initiatedEventID)
                    r.bool(2, request.isCancel)
                    r.string(3, request.workflowID)
                    r.string(4, request.runID)
                    r.data(5, request.initiatedAttributes)
                }
            }
        }
        if let queue = s.stickyQueue { w.string(38, always: queue) }
        if let nanos = s.stickyScheduleToStartNanos { w.int(39, always: nanos) }
        for (id, update) in s.updates.sorted(by: { $0.key < $1.key }) {
            w.record(40) { e in
                e.string(1, always: id)
                e.record(2) { u in
                    u.int(1, update.acceptedEventID)
                    u.bool(2, update.completed)
                    u.data(3, update.outcome)
                }
            }
        }
        return w.bytes
    }

    private static func encode(_ t: TaskRef, _ w: inout FieldWriter) {
        w.int(1, t.fireTime)
        w.int(2, t.taskID)
    }

    private static func encode(_ t: WorkflowTaskInfo, _ w: inout FieldWriter) {
        w.int(1, t.scheduledEventID)
        w.int(2, t.startedEventID)
        w.int(3, t.attempt)
        w.string(4, t.taskQueue)
        w.int(5, t.scheduledTime)
        w.int(6, t.startedTime)
        w.int(7, t.startToCloseNanos)
        w.string(8, t.startRequestID)
        w.string(9, t.identity)
        if let task = t.transferTask { w.record(10) { encode(task, &$0) } }
        if let task = t.timeoutTask { w.record(11) { encode(task, &$0) } }
        if let sticky = t.sticky { w.int(12, always: sticky ? 1 : 0) }
        if let task = t.scheduleToStartTask { w.record(13) { encode(task, &$0) } }
    }

    private static func encode(_ a: ActivityInfo, _ w: inout FieldWriter) {
        w.int(1, a.scheduledEventID)
        w.string(2, a.activityID)
        w.string(3, a.activityType)
        w.string(4, a.taskQueue)
        w.data(5, a.scheduledAttributes)
        w.int(6, always: Int64(a.attempt))
        w.int(7, a.scheduledTime)
        w.int(8, a.currentAttemptScheduledTime)
        w.int(9, a.startedTime)
        w.string(10, a.startedIdentity)
        w.string(11, a.startRequestID)
        w.int(12, a.scheduleToCloseNanos)
        w.int(13, a.scheduleToStartNanos)
        w.int(14, a.startToCloseNanos)
        w.int(15, a.heartbeatNanos)
        w.data(16, a.heartbeatDetails)
        w.int(17, a.lastHeartbeatTime)
        w.bool(18, a.cancelRequested)
        w.data(19, a.lastFailure)
        if let task = a.transferTask { w.record(20) { encode(task, &$0) } }
        for task in a.timerTasks { w.record(21) { encode(task, &$0) } }
    }

    private static func encode(_ t: TimerInfo, _ w: inout FieldWriter) {
        w.string(1, t.timerID)
        w.int(2, t.startedEventID)
        w.int(3, t.fireTime)
        w.record(4) { encode(t.task, &$0) }
    }

    // MARK: - Decoding

    static func decodeV2(_ bytes: [UInt8]) throws(HistoryError) -> MutableState {
        var r = FieldReader(bytes[1...], what: "mutable state (version 2)")
        var s = MutableState(
            namespaceID: "", workflowID: "", runID: "", firstExecutionRunID: "", workflowType: "", taskQueue: "",
            workflowTaskTimeoutNanos: 0, runTimeoutNanos: 0, executionTimeoutNanos: 0, startTime: 0, createRequestID: "")
        s.status = 0
        s.nextEventID = 0
        while let (field, v) = try r.next() {
            switch field {
            case 1: s.namespaceID = try r.string(v)
            case 2: s.workflowID = try r.string(v)
            case 3: s.runID = try r.string(v)
            case 4: s.firstExecutionRunID = try r.string(v)
            case 5: s.workflowType = try r.string(v)
            case 6: s.taskQueue = try r.string(v)
            case 7: s.workflowTaskTimeoutNanos = try r.int(v)
            case 8: s.runTimeoutNanos = try r.int(v)
            case 9: s.executionTimeoutNanos = try r.int(v)
            case 10: s.startTime = try r.int(v)
            case 11: s.closeTime = try r.int(v)
            case 12: s.status = try r.int32(v)
            case 13: s.createRequestID = try r.string(v)
            case 14: s.nextEventID = try r.int(v)
            case 15: s.lastEventTxnID = try r.int(v)
            case 16: s.dbRecordVersion = try r.int(v)
            case 17: s.lastCompletedWorkflowTaskStartedEventID = try r.int(v)
            case 18: s.workflowTask = try decodeWorkflowTask(try r.record(v, "workflow task"))
            case 19: s.workflowTaskFailures = try r.int32(v)
            case 20:
                let (id, activity) = try r.entry(v, "activity", key: Int64.self, item: decodeActivity)
                s.activities[id] = activity
            case 21:
                let (id, timer) = try r.entry(v, "timer", key: String.self, item: decodeTimer)
                s.timers[id] = timer
            case 22: s.bufferedEvents.append(try r.data(v))
            case 23: s.signalRequestIDs.append(try r.string(v))
            case 24: s.cancelRequested = try r.bool(v)
            case 25: s.cancelRequestID = try r.string(v)
            case 26: s.searchAttributes = try r.data(v)
            case 27: s.memo = try r.data(v)
            case 28: s.closeEventID = try r.int(v)
            case 29: s.runTimeoutTask = try decodeTaskRef(try r.record(v, "run timeout task"))
            case 30: s.historySizeBytes = try r.int(v)
            case 31: s.signalCount = try r.int(v)
            case 32: s.continuedFromRunID = try r.string(v)
            case 33: s.newRunID = try r.string(v)
            case 34: s.namespaceName = try r.string(v)
            case 35:
                var p = try r.record(v, "parent")
                var parent = ParentInfo(namespaceID: "", namespaceName: "", workflowID: "", runID: "", initiatedEventID: 0)
                while let (f, pv) = try p.next() {
                    switch f {
                    case 1: parent.namespaceID = try p.string(pv)
                    case 2: parent.namespaceName = try p.string(pv)
                    case 3: parent.workflowID = try p.string(pv)
                    case 4: parent.runID = try p.string(pv)
                    case 5: parent.initiatedEventID = try p.int(pv)
                    default: break
                    }
                }
                s.parent = parent
            case 36:
                let (id, child) = try r.entry(v, "child", key: Int64.self, item: decodeChild)
                s.children[id] = child
            case 37:
                let (id, request) = try r.entry(v, "external request", key: Int64.self, item: decodeExternalRequest)
                s.externalRequests[id] = request
            case 38: s.stickyQueue = try r.string(v)
            case 39: s.stickyScheduleToStartNanos = try r.int(v)
            case 40:
                let (id, update) = try r.entry(v, "update", key: String.self, item: decodeUpdate)
                s.updates[id] = update
            default: break  // a field of a newer version
            }
        }
        return s
    }

    private static func decodeTaskRef(_ reader: FieldReader) throws(HistoryError) -> TaskRef {
        var r = reader
        var t = TaskRef(fireTime: 0, taskID: 0)
        while let (f, v) = try r.next() {
            switch f {
            case 1: t.fireTime = try r.int(v)
            case 2: t.taskID = try r.int(v)
            default: break
            }
        }
        return t
    }

    private static func decodeWorkflowTask(_ reader: FieldReader) throws(HistoryError) -> WorkflowTaskInfo {
        var r = reader
        var t = WorkflowTaskInfo(scheduledEventID: 0, attempt: 0, taskQueue: "", scheduledTime: 0, startToCloseNanos: 0)
        while let (f, v) = try r.next() {
            switch f {
            case 1: t.scheduledEventID = try r.int(v)
            case 2: t.startedEventID = try r.int(v)
            case 3: t.attempt = try r.int32(v)
            case 4: t.taskQueue = try r.string(v)
            case 5: t.scheduledTime = try r.int(v)
            case 6: t.startedTime = try r.int(v)
            case 7: t.startToCloseNanos = try r.int(v)
            case 8: t.startRequestID = try r.string(v)
            case 9: t.identity = try r.string(v)
            case 10: t.transferTask = try decodeTaskRef(try r.record(v, "transfer task"))
            case 11: t.timeoutTask = try decodeTaskRef(try r.record(v, "timeout task"))
            case 12: t.sticky = try r.bool(v)
            case 13: t.scheduleToStartTask = try decodeTaskRef(try r.record(v, "schedule-to-start task"))
            default: break
            }
        }
        return t
    }

    private static func decodeActivity(_ reader: FieldReader) throws(HistoryError) -> ActivityInfo {
        var r = reader
        var a = ActivityInfo(
            scheduledEventID: 0, activityID: "", activityType: "", taskQueue: "", scheduledAttributes: [], attempt: 0, scheduledTime: 0,
            currentAttemptScheduledTime: 0, scheduleToCloseNanos: 0, scheduleToStartNanos: 0, startToCloseNanos: 0, heartbeatNanos: 0)
        while let (f, v) = try r.next() {
            switch f {
            case 1: a.scheduledEventID = try r.int(v)
            case 2: a.activityID = try r.string(v)
            case 3: a.activityType = try r.string(v)
            case 4: a.taskQueue = try r.string(v)
            case 5: a.scheduledAttributes = try r.data(v)
            case 6: a.attempt = try r.int32(v)
            case 7: a.scheduledTime = try r.int(v)
            case 8: a.currentAttemptScheduledTime = try r.int(v)
            case 9: a.startedTime = try r.int(v)
            case 10: a.startedIdentity = try r.string(v)
            case 11: a.startRequestID = try r.string(v)
            case 12: a.scheduleToCloseNanos = try r.int(v)
            case 13: a.scheduleToStartNanos = try r.int(v)
            case 14: a.startToCloseNanos = try r.int(v)
            case 15: a.heartbeatNanos = try r.int(v)
            case 16: a.heartbeatDetails = try r.data(v)
            case 17: a.lastHeartbeatTime = try r.int(v)
            case 18: a.cancelRequested = try r.bool(v)
            case 19: a.lastFailure = try r.data(v)
            case 20: a.transferTask = try decodeTaskRef(try r.record(v, "transfer task"))
            case 21: a.timerTasks.append(try decodeTaskRef(try r.record(v, "timer task")))
            default: break
            }
        }
        return a
    }

    private static func decodeTimer(_ reader: FieldReader) throws(HistoryError) -> TimerInfo {
        var r = reader
        var t = TimerInfo(timerID: "", startedEventID: 0, fireTime: 0, task: TaskRef(fireTime: 0, taskID: 0))
        while let (f, v) = try r.next() {
            switch f {
            case 1: t.timerID = try r.string(v)
            case 2: t.startedEventID = try r.int(v)
            case 3: t.fireTime = try r.int(v)
            case 4: t.task = try decodeTaskRef(try r.record(v, "timer task"))
            default: break
            }
        }
        return t
    }

    private static func decodeChild(_ reader: FieldReader) throws(HistoryError) -> ChildInfo {
        var r = reader
        var c = ChildInfo(initiatedEventID: 0, workflowID: "", workflowType: "", parentClosePolicy: 0, initiatedAttributes: [])
        while let (f, v) = try r.next() {
            switch f {
            case 1: c.initiatedEventID = try r.int(v)
            case 2: c.workflowID = try r.string(v)
            case 3: c.workflowType = try r.string(v)
            case 4: c.runID = try r.string(v)
            case 5: c.startedEventID = try r.int(v)
            case 6: c.parentClosePolicy = Int(try r.int(v))
            case 7: c.initiatedAttributes = try r.data(v)
            default: break
            }
        }
        return c
    }

    private static func decodeUpdate(_ reader: FieldReader) throws(HistoryError) -> UpdateRecord {
        var r = reader
        var u = UpdateRecord(acceptedEventID: 0)
        while let (f, v) = try r.next() {
            switch f {
            case 1: u.acceptedEventID = try r.int(v)
            case 2: u.completed = try r.bool(v)
            case 3: u.outcome = try r.data(v)
            default: break
            }
        }
        return u
    }

    private static func decodeExternalRequest(_ reader: FieldReader) throws(HistoryError) -> ExternalRequestInfo {
        var r = reader
        var x = ExternalRequestInfo(initiatedEventID: 0, isCancel: false, workflowID: "", runID: "", initiatedAttributes: [])
        while let (f, v) = try r.next() {
            switch f {
            case 1: x.initiatedEventID = try r.int(v)
            case 2: x.isCancel = try r.bool(v)
            case 3: x.workflowID = try r.string(v)
            case 4: x.runID = try r.string(v)
            case 5: x.initiatedAttributes = try r.data(v)
            default: break
            }
        }
        return x
    }
}
