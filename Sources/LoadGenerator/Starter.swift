import Foundation
import SwiftProtobuf
import GRPCCore
import Synchronization
import TemporalAPI

/// Starts workflows with at most `concurrency` in flight, sends the `signal` workload's signal, and
/// waits for each close event (GetWorkflowExecutionHistory, wait_new_event, CLOSE_EVENT — the way
/// SDK clients wait for a result), checking that the workflow completed with the expected result.
struct Starter: Sendable {
    let clients: ClientPool
    let context: WorkerContext
    /// Prefix of every workflow id of this run.
    let runID: String
    let concurrency: Int

    /// Runs `count` workflows named `<runID>-<phase>-<n>` and returns when all have closed, failed or timed out.
    func run(phase: String, count: Int) async {
        let dispenser = IndexDispenser()
        await withDiscardingTaskGroup { group in
            for driver in 0..<min(concurrency, count) {
                group.addTask {
                    let client = clients.user(driver)
                    while !Task.isCancelled {
                        let index = dispenser.take()
                        guard index < count else { return }
                        await runWorkflow(workflowID: "\(runID)-\(phase)-\(index)", client: client)
                    }
                }
            }
        }
    }

    private func runWorkflow(workflowID: String, client: PooledClient) async {
        let startTime = ContinuousClock.now
        let deadline = startTime + .seconds(context.workflowTimeoutSeconds)
        let runID: String
        do {
            runID = try await start(workflowID: workflowID, client: client)
        } catch {
            context.stats.recordError(.start, describe(error))
            return
        }
        context.stats.recordStarted()
        let execution = Temporal_Api_Common_V1_WorkflowExecution.with {
            $0.workflowID = workflowID
            $0.runID = runID
        }
        if context.workload == .signal {
            do {
                try await signal(execution, client: client)
                context.stats.recordTransition()
            } catch {
                context.stats.recordError(.signal, describe(error))
                await terminate(execution, reason: "signal failed", client: client)
                return
            }
        }
        switch await waitForClose(execution, until: deadline, client: client) {
        case .closed(let event):
            let latency = ContinuousClock.now - startTime
            if let (kind, message) = CloseCheck.problem(with: event, workload: context.workload, workflowID: workflowID) {
                context.stats.recordError(kind, message)
            } else {
                context.stats.recordCompleted(latency: latency, extraTransitions: extraTransitions)
            }
        case .timedOut:
            context.stats.recordError(.stuck, "not closed within \(context.workflowTimeoutSeconds) s")
            await terminate(execution, reason: "stuck: not closed within the bench workflow timeout", client: client)
        case .failed(let error):
            context.stats.recordError(.history, describe(error))
        }
    }

    /// Transitions credited when a workflow completes: the timer firing, which no worker call
    /// shows; with an external worker, everything the starter did not count itself.
    private var extraTransitions: Int {
        guard context.externalWorker else { return context.workload == .timer ? 1 : 0 }
        return context.workload.nominalTransitions - 1 - (context.workload == .signal ? 1 : 0)
    }

    private func start(workflowID: String, client: PooledClient) async throws -> String {
        var request = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest()
        request.namespace = context.namespace
        request.workflowID = workflowID
        request.workflowType.name = context.workload.workflowTypeName
        request.taskQueue.name = context.taskQueue
        request.taskQueue.kind = .normal
        request.input = Payloads.payloads(WorkloadScript.workflowInput(workflowID: workflowID))
        request.workflowTaskTimeout = .init(seconds: BenchLimits.workflowTaskTimeoutSeconds)
        request.identity = context.identity
        request.requestID = UUID().uuidString.lowercased()
        // The same request_id on a retry makes the start idempotent.
        let response = try await withRetries {
            try await client.call { try await $0.startWorkflowExecution(request, options: .timeout(BenchLimits.rpcTimeout)) }
        }
        return response.runID
    }

    private func signal(_ execution: Temporal_Api_Common_V1_WorkflowExecution, client: PooledClient) async throws {
        var request = Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest()
        request.namespace = context.namespace
        request.workflowExecution = execution
        request.signalName = WorkloadScript.signalName
        request.input = Payloads.payloads(WorkloadScript.signalPayload(workflowID: execution.workflowID))
        request.identity = context.identity
        request.requestID = UUID().uuidString.lowercased()
        _ = try await withRetries {
            try await client.call { try await $0.signalWorkflowExecution(request, options: .timeout(BenchLimits.rpcTimeout)) }
        }
    }

    private enum CloseWait {
        case closed(Temporal_Api_History_V1_HistoryEvent)
        case timedOut
        case failed(any Error)
    }

    private func waitForClose(
        _ execution: Temporal_Api_Common_V1_WorkflowExecution,
        until deadline: ContinuousClock.Instant,
        client: PooledClient
    ) async -> CloseWait {
        var request = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
        request.namespace = context.namespace
        request.execution = execution
        request.waitNewEvent = true
        request.historyEventFilterType = .closeEvent
        request.skipArchival = true
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return .timedOut }
            do {
                let response = try await client.call {
                    try await $0.getWorkflowExecutionHistory(
                        request,
                        options: .timeout(min(remaining, BenchLimits.historyLongPollTimeout))
                    )
                }
                if let event = response.history.events.last {
                    return .closed(event)
                }
                // An idle long poll ends with no events (and usually a token to continue from).
                request.nextPageToken = response.nextPageToken
            } catch let error as RPCError where error.code == .deadlineExceeded {
                continue
            } catch let error as RPCError where error.isRetryable {
                // Transient (e.g. RESOURCE_EXHAUSTED "Workflow is busy"): ask again, within the deadline.
                try? await Task.sleep(for: BenchLimits.pollErrorBackoffInitial)
                continue
            } catch {
                return Task.isCancelled ? .timedOut : .failed(error)
            }
        }
    }

    private func terminate(
        _ execution: Temporal_Api_Common_V1_WorkflowExecution,
        reason: String,
        client: PooledClient
    ) async {
        var request = Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest()
        request.namespace = context.namespace
        request.workflowExecution = execution
        request.reason = reason
        request.identity = context.identity
        _ = try? await client.call { try await $0.terminateWorkflowExecution(request, options: .timeout(BenchLimits.cleanupTimeout)) }
    }
}

/// Hands out 0, 1, 2, ... to concurrent drivers.
final class IndexDispenser: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int {
        next.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}

/// Retries `body` on the status codes that mean "not applied, try again".
func withRetries<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch let error as RPCError where attempt < BenchLimits.maxRpcAttempts && error.isRetryable {
            attempt += 1
            try await Task.sleep(for: BenchLimits.pollErrorBackoffInitial * attempt)
        }
    }
}

extension RPCError {
    var isRetryable: Bool {
        [.unavailable, .resourceExhausted, .aborted].contains(code)
    }
}
