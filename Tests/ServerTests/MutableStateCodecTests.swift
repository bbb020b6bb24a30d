import Foundation
@testable import History
import StorageTesting
import Testing

/// The mutable-state record (docs/format/mutable-state.md): version 2 round-trips every field,
/// matches its golden bytes, still reads version 1, and rejects damage with a clear error.
@Suite("Mutable state codec")
struct MutableStateCodecTests {
    /// A version 1 record as earlier builds wrote it: `u8 1 | JSON` (byte arrays base64).
    static func versionOne(_ state: MutableState) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dataEncodingStrategy = .base64
        return [1] + Array(try encoder.encode(state))
    }

    /// A state with every field, at every depth, away from its default, so a field the codec
    /// forgets fails the round trip (`everyFieldIsSet` checks the sample itself).
    static var full: MutableState {
        var s = MutableState(
            namespaceID: "ns-id", workflowID: "wf", runID: "run-2", firstExecutionRunID: "run-1", workflowType: "Order",
            taskQueue: "q", workflowTaskTimeoutNanos: 10_000_000_000, runTimeoutNanos: 3_600_000_000_000,
            executionTimeoutNanos: 7_200_000_000_000, startTime: 1_700_000_000_000_000_000, createRequestID: "req-1")
        s.closeTime = 1_700_000_001_000_000_000
        s.status = 2
        s.nextEventID = 42
        s.lastEventTxnID = 1 << 20 | 7
        s.dbRecordVersion = 9
        s.lastCompletedWorkflowTaskStartedEventID = 30
        var task = WorkflowTaskInfo(scheduledEventID: 40, attempt: 2, taskQueue: "sticky-q", scheduledTime: 5, startToCloseNanos: 6)
        task.startedEventID = 41
        task.startedTime = 7
        task.startRequestID = "poll-1"
        task.identity = "worker@host"
        task.transferTask = TaskRef(fireTime: 0, taskID: 100)
        task.timeoutTask = TaskRef(fireTime: 8, taskID: 101)
        task.sticky = false
        task.scheduleToStartTask = TaskRef(fireTime: 9, taskID: 102)
        s.workflowTask = task
        s.workflowTaskFailures = 1
        var activity = ActivityInfo(
            scheduledEventID: 12, activityID: "a1", activityType: "Charge", taskQueue: "aq", scheduledAttributes: [1, 2, 3],
            scheduledTime: 11, currentAttemptScheduledTime: 12, scheduleToCloseNanos: 13, scheduleToStartNanos: 14,
            startToCloseNanos: 15, heartbeatNanos: 16)
        activity.attempt = 3
        activity.startedTime = 17
        activity.startedIdentity = "worker-2"
        activity.startRequestID = "poll-2"
        activity.heartbeatDetails = [4]
        activity.lastHeartbeatTime = 18
        activity.cancelRequested = true
        activity.lastFailure = [5, 6]
        activity.transferTask = TaskRef(fireTime: 0, taskID: 103)
        activity.timerTasks = [TaskRef(fireTime: 19, taskID: 104), TaskRef(fireTime: 20, taskID: 105)]
        s.activities = [12: activity, 14: ActivityInfo(
            scheduledEventID: 14, activityID: "a2", activityType: "Ship", taskQueue: "aq", scheduledAttributes: [],
            scheduledTime: 1, currentAttemptScheduledTime: 1, scheduleToCloseNanos: 0, scheduleToStartNanos: 0, startToCloseNanos: 1,
            heartbeatNanos: 0)]
        s.timers = ["t1": TimerInfo(timerID: "t1", startedEventID: 20, fireTime: 21, task: TaskRef(fireTime: 21, taskID: 106))]
        s.bufferedEvents = [[7, 8], []]
        s.signalRequestIDs = ["sig-1", "sig-2"]
        s.cancelRequested = true
        s.cancelRequestID = "cancel-1"
        s.searchAttributes = [9]
        s.memo = [10]
        s.closeEventID = 41
        s.runTimeoutTask = TaskRef(fireTime: 22, taskID: 107)
        s.historySizeBytes = 12_345
        s.signalCount = 2
        s.continuedFromRunID = "run-0"
        s.newRunID = "run-3"
        s.namespaceName = "default"
        s.parent = ParentInfo(namespaceID: "pns", namespaceName: "parent-ns", workflowID: "pwf", runID: "prun", initiatedEventID: 5)
        var child = ChildInfo(initiatedEventID: 25, workflowID: "child", workflowType: "Sub", parentClosePolicy: 3, initiatedAttributes: [11])
        child.runID = "child-run"
        child.startedEventID = 26
        s.children = [25: child]
        s.externalRequests = [27: ExternalRequestInfo(initiatedEventID: 27, isCancel: true, workflowID: "other", runID: "other-run", initiatedAttributes: [12])]
        s.stickyQueue = "sticky-q"
        s.stickyScheduleToStartNanos = 0
        var update = UpdateRecord(acceptedEventID: 33)
        update.completed = true
        update.outcome = [13]
        s.updates = ["u1": update]
        return s
    }

    /// Every stored property of the sample (and of its nested records) differs from what a
    /// freshly made value holds, so the round trip covers them all.
    @Test func everyFieldIsSet() {
        let blank = MutableState(
            namespaceID: "", workflowID: "", runID: "", firstExecutionRunID: "", workflowType: "", taskQueue: "",
            workflowTaskTimeoutNanos: 0, runTimeoutNanos: 0, executionTimeoutNanos: 0, startTime: 0, createRequestID: "")
        let sample = Mirror(reflecting: Self.full).children
        let defaults = Dictionary(uniqueKeysWithValues: Mirror(reflecting: blank).children.map { ($0.label!, "\($0.value)") })
        for field in sample {
            #expect("\(field.value)" != defaults[field.label!], "field \(field.label!) of the sample holds its default")
        }
        let task = Self.full.workflowTask!
        let blankTask = WorkflowTaskInfo(scheduledEventID: 0, attempt: 0, taskQueue: "", scheduledTime: 0, startToCloseNanos: 0)
        let taskDefaults = Dictionary(uniqueKeysWithValues: Mirror(reflecting: blankTask).children.map { ($0.label!, "\($0.value)") })
        for field in Mirror(reflecting: task).children {
            #expect("\(field.value)" != taskDefaults[field.label!], "workflow task field \(field.label!) holds its default")
        }
        let activity = Self.full.activities[12]!
        let blankActivity = ActivityInfo(
            scheduledEventID: 0, activityID: "", activityType: "", taskQueue: "", scheduledAttributes: [], attempt: 0, scheduledTime: 0,
            currentAttemptScheduledTime: 0, scheduleToCloseNanos: 0, scheduleToStartNanos: 0, startToCloseNanos: 0, heartbeatNanos: 0)
        let activityDefaults = Dictionary(uniqueKeysWithValues: Mirror(reflecting: blankActivity).children.map { ($0.label!, "\($0.value)") })
        for field in Mirror(reflecting: activity).children {
            #expect("\(field.value)" != activityDefaults[field.label!], "activity field \(field.label!) holds its default")
        }
    }

    @Test func version2RoundTripsEveryField() throws {
        let bytes = try MutableStateCodec.encode(Self.full)
        #expect(bytes.first == 2)
        #expect(try MutableStateCodec.decode(bytes) == Self.full)
        // Defaults and absent optionals survive too.
        var sparse = Self.full
        sparse.workflowTask = nil
        sparse.activities = [:]
        sparse.parent = nil
        sparse.stickyQueue = nil
        sparse.stickyScheduleToStartNanos = nil
        sparse.status = 0
        sparse.closeTime = 0
        #expect(try MutableStateCodec.decode(try MutableStateCodec.encode(sparse)) == sparse)
        // Equal states encode to equal bytes (maps in key order).
        #expect(try MutableStateCodec.encode(Self.full) == bytes)
        // Far smaller than version 1.
        #expect(bytes.count * 2 < (try Self.versionOne(Self.full)).count)
    }

    @Test func version1RecordsStillRead() throws {
        let v1 = try Self.versionOne(Self.full)
        #expect(v1.first == 1)
        #expect(try MutableStateCodec.decode(v1) == Self.full)
    }

    @Test func version2MatchesTheGoldenFixture() throws {
        let directory = fixturesDirectory() + "/mutable-state-v2"
        let path = directory + "/full.hex"
        let hex = try MutableStateCodec.encode(Self.full).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "\n"
        if writeFixtures {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try hex.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(golden == hex)
        // The fixture decodes to the sample (a reader of today's build reads yesterday's bytes).
        let trimmed = golden.trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes: [UInt8] = []
        var index = trimmed.startIndex
        while index < trimmed.endIndex {
            let next = trimmed.index(index, offsetBy: 2)
            bytes.append(UInt8(trimmed[index..<next], radix: 16)!)
            index = next
        }
        #expect(try MutableStateCodec.decode(bytes) == Self.full)
    }

    @Test func damageIsReportedNotMisread() throws {
        let bytes = try MutableStateCodec.encode(Self.full)
        #expect(throws: HistoryError.self) { try MutableStateCodec.decode([]) }
        #expect(throws: HistoryError.self) { try MutableStateCodec.decode([9] + bytes.dropFirst()) }
        // Every truncation either fails or (cut at a field boundary) decodes to something else;
        // none crashes.
        var failures = 0
        for cut in 1..<bytes.count {
            if let decoded = try? MutableStateCodec.decode(Array(bytes[..<cut])) {
                #expect(decoded != Self.full)
            } else {
                failures += 1
            }
        }
        #expect(failures > bytes.count / 2)
        // A bad wire type, an overlong varint, a length past the end, text that is not UTF-8.
        for bad: [UInt8] in [[2, 0x0B], [2, 0x08] + Array(repeating: 0xFF, count: 11), [2, 0x0A, 0x7F, 0x41], [2, 0x0A, 0x01, 0xFF]] {
            #expect(throws: HistoryError.self) { try MutableStateCodec.decode(bad) }
        }
        // A field from a newer version is skipped.
        let extended = bytes + [0xB8, 0x3E, 0x05, 0xD2, 0x3E, 0x01, 0x61]  // field 999 varint 5, field 1002 text "a"
        #expect(try MutableStateCodec.decode(extended) == Self.full)
    }
}
