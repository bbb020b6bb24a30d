import GRPCCore
import TemporalAPI

/// Polls the run's activity task queue and completes each scripted activity with the result
/// `WorkloadScript.activityResult(input:)`; anything else is failed (and counted as an error).
struct ActivityWorker: Sendable {
    let clients: ClientPool
    let pollers: Int
    let context: WorkerContext

    func run() async {
        await withDiscardingTaskGroup { group in
            for index in 0..<pollers {
                group.addTask { await pollLoop(client: clients.user(index)) }
            }
        }
    }

    private func pollLoop(client: PooledClient) async {
        var backoff = PollBackoff()
        var request = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest()
        request.namespace = context.namespace
        request.taskQueue.name = context.taskQueue
        request.taskQueue.kind = .normal
        request.identity = context.identity
        while !Task.isCancelled {
            do {
                let task = try await client.call { try await $0.pollActivityTaskQueue(request, options: .timeout(BenchLimits.pollTimeout)) }
                backoff.reset()
                if task.taskToken.isEmpty { continue }
                context.stats.recordTransition()
                try await Self.handle(task, client: client, context: context)
            } catch {
                if Task.isCancelled || error.isCancellation { return }
                context.stats.recordError(.worker, "activity task: \(describe(error))")
                try? await Task.sleep(for: backoff.take())
            }
        }
    }

    /// Completes (or fails) one activity task, from a poll or handed over eagerly.
    static func handle(
        _ task: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse,
        client: PooledClient, context: WorkerContext
    ) async throws {
        guard task.activityType.name == WorkloadScript.activityTypeName,
            let input = Payloads.string(from: task.input)
        else {
            let reason = "unexpected activity \(task.activityType.name) \(task.activityID) of \(task.workflowExecution.workflowID)"
            context.stats.recordError(.worker, reason)
            var failed = Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest()
            failed.namespace = context.namespace
            failed.taskToken = task.taskToken
            failed.identity = context.identity
            failed.failure.message = reason
            failed.failure.applicationFailureInfo.nonRetryable = true
            _ = try await client.call { try await $0.respondActivityTaskFailed(failed, options: .timeout(BenchLimits.rpcTimeout)) }
            return
        }
        var completed = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest()
        completed.namespace = context.namespace
        completed.taskToken = task.taskToken
        completed.identity = context.identity
        completed.result = Payloads.payloads(WorkloadScript.activityResult(input: input))
        _ = try await client.call { try await $0.respondActivityTaskCompleted(completed, options: .timeout(BenchLimits.rpcTimeout)) }
        context.stats.recordTransition()
    }
}
