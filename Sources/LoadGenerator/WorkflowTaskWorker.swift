import GRPCCore
import SwiftProtobuf
import TemporalAPI

/// Polls the run's workflow task queue and answers each task with the workload's scripted
/// commands, a pure function of the workflow's history. Like the SDKs, it asks for sticky
/// execution (unless `context.stickyQueue` is nil): the server then sends the run's next tasks to
/// this worker's own queue with only the new events, and `StickyCache` has the rest.
struct WorkflowTaskWorker: Sendable {
    let clients: ClientPool
    let pollers: Int
    let context: WorkerContext
    let cache: StickyCache

    init(clients: ClientPool, pollers: Int, context: WorkerContext) {
        self.clients = clients
        self.pollers = pollers
        self.context = context
        // Every workflow in flight fits (a run leaves the cache when its script closes it).
        self.cache = StickyCache(capacity: max(1, 2 * context.concurrency))
    }

    /// Runs `pollers` poll loops on the normal queue (and as many on the sticky queue) until the
    /// calling task is cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for index in 0..<pollers {
                group.addTask { await pollLoop(client: clients.user(index), sticky: false) }
                if context.stickyQueue != nil {
                    group.addTask { await pollLoop(client: clients.user(pollers + index), sticky: true) }
                }
            }
        }
    }

    private func pollLoop(client: PooledClient, sticky: Bool) async {
        var backoff = PollBackoff()
        var request = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest()
        request.namespace = context.namespace
        if sticky, let queue = context.stickyQueue {
            request.taskQueue.name = queue
            request.taskQueue.kind = .sticky
            request.taskQueue.normalName = context.taskQueue
        } else {
            request.taskQueue.name = context.taskQueue
            request.taskQueue.kind = .normal
        }
        request.identity = context.identity
        while !Task.isCancelled {
            do {
                var task: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse? =
                    try await client.call { try await $0.pollWorkflowTaskQueue(request, options: .timeout(BenchLimits.pollTimeout)) }
                backoff.reset()
                // An empty response is an idle long poll ending; a reply may carry the next task inline.
                while let current = task, !current.taskToken.isEmpty {
                    context.stats.recordTransition()
                    task = try await handle(current, client: client)
                }
            } catch {
                if Task.isCancelled || error.isCancellation { return }
                context.stats.recordError(.worker, "workflow task: \(describe(error))")
                try? await Task.sleep(for: backoff.take())
            }
        }
    }

    /// Answers one workflow task; returns the next task if the server handed one back inline.
    private func handle(
        _ task: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse,
        client: PooledClient
    ) async throws -> Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse? {
        var reply = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        let runID = task.workflowExecution.runID
        let events: [Temporal_Api_History_V1_HistoryEvent]
        if task.nextPageToken.isEmpty, let extended = cache.extend(runID: runID, with: task.history.events) {
            events = extended
        } else {
            events = try await fullHistory(of: task, client: client)
        }
        let workflowID = task.workflowExecution.workflowID
        let progress = WorkflowProgress(workflowID: workflowID, events: events)
        let script = WorkloadScript.nextCommands(workload: context.workload, progress: progress)
        if let queue = context.stickyQueue, !script.contains(where: \.closesWorkflow) {
            cache.store(runID: runID, history: events)
            reply.stickyAttributes.workerTaskQueue.name = queue
            reply.stickyAttributes.workerTaskQueue.kind = .sticky
            reply.stickyAttributes.workerTaskQueue.normalName = context.taskQueue
            reply.stickyAttributes.scheduleToStartTimeout = .init(seconds: BenchLimits.stickyScheduleToStartSeconds)
        } else {
            cache.remove(runID: runID)
        }

        reply.namespace = context.namespace
        reply.taskToken = task.taskToken
        reply.identity = context.identity
        reply.returnNewWorkflowTask = true
        reply.commands = script.map {
            $0.command(
                taskQueue: context.taskQueue, activityScheduleToCloseSeconds: Int64(context.workflowTimeoutSeconds),
                eager: context.eagerActivities)
        }
        let response = try await client.call { try await $0.respondWorkflowTaskCompleted(reply, options: .timeout(BenchLimits.rpcTimeout)) }
        context.stats.recordTransition()
        // Activities the server started for this worker (eager execution) run here, as an SDK
        // worker runs them in the slots it reserved.
        for activity in response.activityTasks {
            context.stats.recordTransition()
            context.stats.recordEagerActivityTask()
            try await ActivityWorker.handle(activity, client: client, context: context)
        }
        return response.hasWorkflowTask ? response.workflowTask : nil
    }

    /// The task's history, with any further pages fetched.
    ///
    /// A task handed back inline by RespondWorkflowTaskCompleted (`return_new_workflow_task`) may
    /// carry only the events after the previous task (the real server does this, assuming the
    /// worker still has the rest); then, as when a task carries no events, the whole history is
    /// read from the first event.
    private func fullHistory(
        of task: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse,
        client: PooledClient
    ) async throws -> [Temporal_Api_History_V1_HistoryEvent] {
        var events = task.history.events
        var pageToken = task.nextPageToken
        var pages = 0
        if events.first?.eventID != 1 {
            pages = 1
            var request = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            request.namespace = context.namespace
            request.execution = task.workflowExecution
            let page = try await client.call { try await $0.getWorkflowExecutionHistory(request, options: .timeout(BenchLimits.rpcTimeout)) }
            events = page.history.events
            pageToken = page.nextPageToken
        }
        while !pageToken.isEmpty {
            pages += 1
            guard pages <= BenchLimits.maxHistoryPages else {
                throw RPCError(code: .outOfRange, message: "history of \(task.workflowExecution.workflowID) has over \(BenchLimits.maxHistoryPages) pages")
            }
            var request = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            request.namespace = context.namespace
            request.execution = task.workflowExecution
            request.nextPageToken = pageToken
            let page = try await client.call { try await $0.getWorkflowExecutionHistory(request, options: .timeout(BenchLimits.rpcTimeout)) }
            events.append(contentsOf: page.history.events)
            pageToken = page.nextPageToken
        }
        return events
    }
}

/// A short, single-line description of an RPC failure for the report.
func describe(_ error: any Error) -> String {
    if let rpcError = error as? RPCError {
        return "\(rpcError.code): \(rpcError.message)"
    }
    return String(describing: error)
}
