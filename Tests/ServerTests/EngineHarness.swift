import Foundation
import History
import Persistence
import SwiftProtobuf
import Synchronization
import TemporalAPI
import Testing

/// A wall clock tests move by hand.
final class ManualClock: WallClock {
    private let now = Mutex<Int64>(1_700_000_000_000_000_000)
    func nowNanos() -> Int64 { now.withLock { $0 } }
    func advance(seconds: Double) { now.withLock { $0 += Int64(seconds * 1_000_000_000) } }
}

/// A history engine on a persistence, driven like a worker would.
struct EngineHarness {
    let engine: HistoryEngine
    let clock: ManualClock
    let namespaceID = "ns-1"
    let taskQueue = "tq"

    static func start(
        _ persistence: any Persistence, clock: ManualClock = ManualClock(), maxBacklogPerQueue: Int = 100_000
    ) async throws -> EngineHarness {
        var configuration = HistoryConfiguration(shardCount: 2)
        configuration.longPollExpiry = .seconds(2)
        configuration.maxBacklogPerQueue = maxBacklogPerQueue
        configuration.transferRetryBaseDelay = .milliseconds(20)
        let engine = try await HistoryEngine.start(persistence: persistence, configuration: configuration, clock: clock)
        return EngineHarness(engine: engine, clock: clock)
    }

    func start(_ workflowID: String, requestID: String = UUID().uuidString) async throws -> WorkflowKey {
        let p = StartParameters(
            namespaceID: namespaceID, namespaceName: "default", workflowID: workflowID, workflowType: "Wf", taskQueue: taskQueue,
            requestID: requestID)
        let (runID, _) = try await engine.startWorkflow(p)
        return WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID)
    }

    func pollWorkflowTask(timeout: Duration = .seconds(2)) async throws -> PollWorkflowTaskResponse {
        try await engine.pollWorkflowTask(namespaceID: namespaceID, taskQueue: taskQueue, identity: "test-worker", timeout: timeout)
    }

    func pollActivityTask(timeout: Duration = .seconds(2)) async throws -> PollActivityTaskResponse {
        try await engine.pollActivityTask(namespaceID: namespaceID, namespaceName: "default", taskQueue: taskQueue, identity: "test-worker", timeout: timeout)
    }

    /// The next activity task once a retry's backoff has passed: polls, moving the manual clock
    /// a second at a time (at most 20), until a task arrives.
    func pollActivityRetry() async throws -> PollActivityTaskResponse {
        var task = try await pollActivityTask(timeout: .milliseconds(300))
        for _ in 0..<20 where task.taskToken.isEmpty {
            clock.advance(seconds: 1)
            task = try await pollActivityTask(timeout: .milliseconds(300))
        }
        return task
    }

    func complete(_ task: PollWorkflowTaskResponse, _ commands: [Temporal_Api_Command_V1_Command], force: Bool = false) async throws {
        var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        request.taskToken = task.taskToken
        request.commands = commands
        request.identity = "test-worker"
        request.forceCreateNewWorkflowTask = force
        _ = try await engine.completeWorkflowTask(try TaskToken.decode(Array(task.taskToken)), request)
    }

    /// Every event of the run, in order.
    func events(_ key: WorkflowKey) async throws -> [Temporal_Api_History_V1_HistoryEvent] {
        var all: [Temporal_Api_History_V1_HistoryEvent] = []
        var token: [UInt8] = []
        repeat {
            let page = try await engine.history(
                HistoryRequest(key: key, pageToken: token, waitNewEvent: false, closeEventOnly: false, maximumPageSize: 0, timeout: .seconds(1)))
            all += page.history.events
            token = Array(page.nextPageToken)
        } while !token.isEmpty
        return all
    }

    func types(_ key: WorkflowKey) async throws -> [Temporal_Api_Enums_V1_EventType] {
        let events = try await events(key)
        #expect(events.map(\.eventID) == Array(1...Int64(events.count)), "event ids must be contiguous from 1")
        return events.map(\.eventType)
    }
}

enum Commands {
    static func startTimer(_ id: String, seconds: Int64) -> Temporal_Api_Command_V1_Command {
        var c = Temporal_Api_Command_V1_Command()
        c.commandType = .startTimer
        c.startTimerCommandAttributes.timerID = id
        c.startTimerCommandAttributes.startToFireTimeout = Google_Protobuf_Duration(seconds: seconds)
        return c
    }

    static func startChild(_ workflowID: String) -> Temporal_Api_Command_V1_Command {
        var c = Temporal_Api_Command_V1_Command()
        c.commandType = .startChildWorkflowExecution
        c.startChildWorkflowExecutionCommandAttributes.workflowID = workflowID
        c.startChildWorkflowExecutionCommandAttributes.workflowType.name = "Child"
        c.startChildWorkflowExecutionCommandAttributes.taskQueue.name = "tq"
        return c
    }

    static func complete(_ text: String = "done") -> Temporal_Api_Command_V1_Command {
        var c = Temporal_Api_Command_V1_Command()
        c.commandType = .completeWorkflowExecution
        var payload = Temporal_Api_Common_V1_Payload()
        payload.data = Data(text.utf8)
        c.completeWorkflowExecutionCommandAttributes.result.payloads = [payload]
        return c
    }

    static func scheduleActivity(_ id: String, maximumAttempts: Int32 = 0, startToCloseSeconds: Int64 = 10) -> Temporal_Api_Command_V1_Command {
        var c = Temporal_Api_Command_V1_Command()
        c.commandType = .scheduleActivityTask
        c.scheduleActivityTaskCommandAttributes.activityID = id
        c.scheduleActivityTaskCommandAttributes.activityType.name = "Act"
        c.scheduleActivityTaskCommandAttributes.startToCloseTimeout = Google_Protobuf_Duration(seconds: startToCloseSeconds)
        c.scheduleActivityTaskCommandAttributes.retryPolicy.maximumAttempts = maximumAttempts
        c.scheduleActivityTaskCommandAttributes.retryPolicy.initialInterval = Google_Protobuf_Duration(nanos: 1_000_000)
        return c
    }
}
