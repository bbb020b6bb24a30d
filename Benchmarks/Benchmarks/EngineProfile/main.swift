// The history engine over the store in one process, with no gRPC: the server's per-workflow work
// without the transport. It drives the `activities10` shape of `annals bench` (sticky execution,
// eager activities, the next workflow task returned inline, the starter waiting for the close
// event) straight through `HistoryEngine`'s methods, and prints workflows/s and the process's CPU
// per workflow. Compare that CPU with the server's in the side-by-side run to see the transport's
// share. For profilers: `perf record -g .build/release/EngineProfile 2000`.
//
//   EngineProfile [workflows] [concurrency] [activities]      defaults: 2000 20 10
// ANNALS_BENCH_DIR picks the data directory's parent (default /tmp/annals-bench); fsync stays on.

import Foundation
import History
import Persistence
import SwiftProtobuf
import Synchronization
import TemporalAPI

let arguments = CommandLine.arguments.dropFirst().map { Int($0) }
guard arguments.allSatisfy({ ($0 ?? 0) > 0 }) else {
    FileHandle.standardError.write(Data("usage: EngineProfile [workflows] [concurrency] [activities] (positive integers)\n".utf8))
    exit(2)
}
let workflows = arguments.first.flatMap { $0 } ?? 2_000
let concurrency = arguments.dropFirst().first.flatMap { $0 } ?? 20
let activities = arguments.dropFirst(2).first.flatMap { $0 } ?? 10
let warmup = min(concurrency, workflows)

let directory = (ProcessInfo.processInfo.environment["ANNALS_BENCH_DIR"] ?? "/tmp/annals-bench") + "/engine-profile"
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

let persistence = try StorePersistence.open(directory: directory)
let namespaceID = "engine-profile-ns"
let engine = try await HistoryEngine.start(persistence: persistence, configuration: HistoryConfiguration(shardCount: 4))

enum ProfileError: Error { case unexpected(String) }

/// The worker and the starters, sharing one engine.
final class Driver: Sendable {
    let taskQueue = "engine-profile"
    let stickyQueue = "engine-profile-sticky"
    let identity = "engine-profile-worker"

    /// Workflow tasks answered so far, per run: the next task's commands follow from it.
    let progress = Mutex<[String: Int]>([:])
    let engine: HistoryEngine
    let namespaceID: String
    let activities: Int
    let concurrency: Int

    init(engine: HistoryEngine, namespaceID: String, activities: Int, concurrency: Int) {
        self.engine = engine
        self.namespaceID = namespaceID
        self.activities = activities
        self.concurrency = concurrency
    }

    func payloads(_ text: String) -> Temporal_Api_Common_V1_Payloads {
        var payload = Temporal_Api_Common_V1_Payload()
        payload.metadata = ["encoding": Data("json/plain".utf8)]
        payload.data = Data("\"\(text)\"".utf8)
        var payloads = Temporal_Api_Common_V1_Payloads()
        payloads.payloads = [payload]
        return payloads
    }

    /// The commands for the run's next workflow task: the next activity, or the completion.
    func commands(workflowID: String, step: Int) -> [Temporal_Api_Command_V1_Command] {
        var command = Temporal_Api_Command_V1_Command()
        if step < activities {
            command.commandType = .scheduleActivityTask
            command.scheduleActivityTaskCommandAttributes.activityID = String(step + 1)
            command.scheduleActivityTaskCommandAttributes.activityType.name = "bench-activity"
            command.scheduleActivityTaskCommandAttributes.taskQueue.name = taskQueue
            command.scheduleActivityTaskCommandAttributes.input = payloads("\(workflowID)/step-\(step + 1)")
            command.scheduleActivityTaskCommandAttributes.scheduleToCloseTimeout = Google_Protobuf_Duration(seconds: 300)
            command.scheduleActivityTaskCommandAttributes.startToCloseTimeout = Google_Protobuf_Duration(seconds: 60)
            command.scheduleActivityTaskCommandAttributes.retryPolicy.maximumAttempts = 1
            command.scheduleActivityTaskCommandAttributes.requestEagerExecution = true
        } else {
            command.commandType = .completeWorkflowExecution
            command.completeWorkflowExecutionCommandAttributes.result = payloads("done:\(workflowID)")
        }
        return [command]
    }


    /// Answers a workflow task (and the eager activities and inline tasks that follow from it).
    func handle(_ first: PollWorkflowTaskResponse) async throws {
        var next: PollWorkflowTaskResponse? = first
        while let task = next, !task.taskToken.isEmpty {
            let runID = task.workflowExecution.runID
            let step = progress.withLock { state in
                let step = state[runID, default: 0]
                state[runID] = step + 1
                return step
            }
            var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
            request.taskToken = task.taskToken
            request.identity = identity
            request.returnNewWorkflowTask = true
            request.commands = commands(workflowID: task.workflowExecution.workflowID, step: step)
            if step < activities {
                request.stickyAttributes.workerTaskQueue.name = stickyQueue
                request.stickyAttributes.workerTaskQueue.kind = .sticky
                request.stickyAttributes.workerTaskQueue.normalName = taskQueue
                request.stickyAttributes.scheduleToStartTimeout = Google_Protobuf_Duration(seconds: 10)
            } else {
                progress.withLock { _ = $0.removeValue(forKey: runID) }
            }
            let response = try await engine.completeWorkflowTask(try TaskToken.decode(Array(task.taskToken)), request)
            for activity in response.activityTasks {
                let token = try TaskToken.decode(Array(activity.taskToken))
                try await engine.completeActivity(token, result: payloads("done:\(activity.activityID)"), identity: identity)
            }
            next = response.hasWorkflowTask ? response.workflowTask : nil
        }
    }

    func pollLoop(queue: String) async {
        while !Task.isCancelled {
            do {
                let task = try await engine.pollWorkflowTask(namespaceID: namespaceID, taskQueue: queue, identity: identity, timeout: .seconds(5))
                try await handle(task)
            } catch {
                if Task.isCancelled { return }
                FileHandle.standardError.write(Data("EngineProfile: workflow task: \(error)\n".utf8))
            }
        }
    }

    /// Starts one workflow and waits for its close event, as the load generator's starter does.
    func run(_ index: Int) async throws {
        let workflowID = "engine-profile-\(index)"
        var start = StartParameters(
            namespaceID: namespaceID, namespaceName: "default", workflowID: workflowID, workflowType: "bench-workflow",
            taskQueue: taskQueue, requestID: UUID().uuidString)
        start.input = payloads(workflowID)
        let (runID, _) = try await engine.startWorkflow(start)
        let key = WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID)
        var token: [UInt8] = []
        while true {
            let page = try await engine.history(
                HistoryRequest(key: key, pageToken: token, waitNewEvent: true, closeEventOnly: true, maximumPageSize: 0, timeout: .seconds(20)))
            if let event = page.history.events.last {
                guard event.eventType == .workflowExecutionCompleted else { throw ProfileError.unexpected("\(workflowID) closed with \(event.eventType)") }
                return
            }
            token = Array(page.nextPageToken)
        }
    }

    /// Runs workflows `range` with `concurrency` in flight.
    func runAll(_ range: Range<Int>) async throws {
        let nextIndex = Counter(range.lowerBound)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = nextIndex.value.withLock { value -> Int? in
                            guard value < range.upperBound else { return nil }
                            defer { value += 1 }
                            return value
                        }
                        guard let index else { return }
                        try await self.run(index)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

final class Counter: Sendable {
    let value: Mutex<Int>
    init(_ start: Int) { value = Mutex(start) }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

let driver = Driver(engine: engine, namespaceID: namespaceID, activities: activities, concurrency: concurrency)
let pollers = Task {
    await withDiscardingTaskGroup { group in
        for _ in 0..<max(concurrency, 4) {
            group.addTask { await driver.pollLoop(queue: driver.taskQueue) }
            group.addTask { await driver.pollLoop(queue: driver.stickyQueue) }
        }
    }
}

try await driver.runAll(0..<warmup)
let cpuBefore = cpuSeconds()
let started = ContinuousClock.now
try await driver.runAll(warmup..<(warmup + workflows))
let (s, atto) = (ContinuousClock.now - started).components
let elapsed = Double(s) + Double(atto) / 1e18
let cpu = cpuSeconds() - cpuBefore
pollers.cancel()
await engine.shutdown()
_ = await pollers.value

print("workflows: \(workflows), concurrency \(concurrency), activities per workflow \(activities)")
print("workflows/s: \(String(format: "%.1f", Double(workflows) / elapsed))")
print("CPU ms per workflow (whole process): \(String(format: "%.2f", cpu * 1000 / Double(workflows)))")
