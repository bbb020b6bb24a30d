import Foundation
import Matching
public import Persistence
import Synchronization
public import TemporalAPI

/// A query waiting in a workflow task queue for a worker.
public struct QueryTask: Sendable {
    public var id: String
    public var key: WorkflowKey
    public var query: Temporal_Api_Query_V1_WorkflowQuery
}

/// Queries waiting for their answers, by query id. A query is registered before it is offered
/// to a worker, so an answer can never arrive for a query nobody waits on.
final class QueryRegistry: Sendable {
    typealias Answer = Result<Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest, HistoryError>
    /// Queries in flight at once (each holds a client call open).
    static let maxPending = 10_000

    private struct Slot {
        var answer: Answer?
        var continuation: CheckedContinuation<Answer, Never>?
    }

    private let slots = Mutex<[String: Slot]>([:])

    func register(_ id: String) -> Bool {
        slots.withLock { slots in
            guard slots.count < QueryRegistry.maxPending else { return false }
            slots[id] = Slot()
            return true
        }
    }

    func isPending(_ id: String) -> Bool { slots.withLock { $0[id].map { $0.answer == nil } ?? false } }

    /// Delivers the answer; false if the query is not waiting (answered or timed out already).
    @discardableResult
    func answer(_ id: String, _ answer: Answer) -> Bool {
        let continuation: CheckedContinuation<Answer, Never>?? = slots.withLock { slots in
            guard var slot = slots[id], slot.answer == nil else { return .none }
            if let continuation = slot.continuation {
                slots[id] = nil
                return .some(continuation)
            }
            slot.answer = answer
            slots[id] = slot
            return .some(nil)
        }
        guard let continuation else { return false }
        continuation?.resume(returning: answer)
        return true
    }

    /// Waits for the registered query's answer, at most `timeout`.
    func wait(_ id: String, timeout: Duration) async -> Answer {
        await withTaskGroup(of: Answer?.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Answer, Never>) in
                    let ready: Answer? = self.slots.withLock { slots in
                        guard var slot = slots[id] else { return .failure(.internal("query \(id) is not registered")) }
                        if let answer = slot.answer {
                            slots[id] = nil
                            return answer
                        }
                        slot.continuation = continuation
                        slots[id] = slot
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try? await ContinuousClock().sleep(for: timeout)
                return nil
            }
            while let next = await group.next() {
                if let answer = next {
                    group.cancelAll()
                    return answer
                }
                // The timer ended first (or the call was cancelled): withdraw the query, which
                // ends the waiting child with this failure.
                self.answer(id, .failure(.deadlineExceeded("query timed out before a worker answered it")))
            }
            return .failure(.deadlineExceeded("query timed out"))
        }
    }
}

extension HistoryEngine {
    /// QueryWorkflow through a legacy query task: waits for a pending workflow task to finish,
    /// then hands the query to a worker on the run's task queue and waits for its answer.
    public func query(
        _ key: WorkflowKey, _ query: Temporal_Api_Query_V1_WorkflowQuery, rejectCondition: Temporal_Api_Enums_V1_QueryRejectCondition,
        timeout: Duration
    ) async throws(HistoryError) -> Temporal_Api_Workflowservice_V1_QueryWorkflowResponse {
        let deadline = ContinuousClock.now + timeout
        var ms = try await load(key, shard: shard(for: key))
        if rejectCondition == .notOpen && !ms.isRunning || rejectCondition == .notCompletedCleanly && !ms.isRunning && ms.workflowStatus != .completed {
            var response = Temporal_Api_Workflowservice_V1_QueryWorkflowResponse()
            response.queryRejected.status = Temporal_Api_Enums_V1_WorkflowExecutionStatus(rawValue: Int(ms.status)) ?? .unspecified
            return response
        }
        while ms.isRunning, ms.workflowTask != nil {
            if let wft = ms.workflowTask, wft.attempt >= 3 {
                throw .failedPrecondition("WorkflowNotReady: the workflow task is failing (attempt \(wft.attempt)); the query cannot be answered now")
            }
            let seen = notifier.version(key)
            ms = try await load(key, shard: shard(for: key))
            guard ms.workflowTask != nil else { break }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { throw .deadlineExceeded("query timed out waiting for the running workflow task to finish") }
            await notifier.wait(key, after: seen, timeout: remaining)
            ms = try await load(key, shard: shard(for: key))
        }
        let task = QueryTask(id: UUID().uuidString.lowercased(), key: key, query: query)
        let queue = TaskQueueMatcher<WorkflowQueueItem>.QueueName(namespaceID: key.namespaceID, name: ms.taskQueue, kind: .workflow)
        guard queries.register(task.id) else { throw .resourceExhausted("\(QueryRegistry.maxPending) queries are in flight") }
        guard workflowMatcher.offer(.query(task), to: queue, urgent: true) else {
            queries.answer(task.id, .failure(.resourceExhausted("the task queue \(ms.taskQueue) is full")))
            _ = await queries.wait(task.id, timeout: .zero)
            throw .resourceExhausted("the task queue \(ms.taskQueue) is full")
        }
        let result = await queries.wait(task.id, timeout: max(.zero, deadline - ContinuousClock.now))
        switch result {
        case .failure(let error): throw error
        case .success(let completed):
            if completed.completedType == .failed {
                throw .queryFailed(completed.errorMessage.isEmpty ? completed.failure.message : completed.errorMessage)
            }
            var response = Temporal_Api_Workflowservice_V1_QueryWorkflowResponse()
            if completed.hasQueryResult { response.queryResult = completed.queryResult }
            return response
        }
    }

    /// The poll response carrying a query (full history, `query` set); nil if the query is gone.
    func queryTaskResponse(_ task: QueryTask) async throws(HistoryError) -> PollWorkflowTaskResponse? {
        guard queries.isPending(task.id) else { return nil }
        let ms: MutableState
        do {
            ms = try await load(task.key, shard: shard(for: task.key))
        } catch {
            queries.answer(task.id, .failure(error))
            return nil
        }
        var response = PollWorkflowTaskResponse()
        response.taskToken = Data(TaskToken(kind: .query, key: task.key, scheduledEventID: 0, attempt: 1, queryID: task.id).encode())
        response.workflowExecution.workflowID = task.key.workflowID
        response.workflowExecution.runID = task.key.runID
        response.workflowType.name = ms.workflowType
        response.previousStartedEventID = ms.lastCompletedWorkflowTaskStartedEventID
        response.startedEventID = ms.lastCompletedWorkflowTaskStartedEventID
        response.attempt = 1
        response.workflowExecutionTaskQueue.name = ms.taskQueue
        response.workflowExecutionTaskQueue.kind = .normal
        response.query = task.query
        let (events, token) = try await readHistory(ms, from: 1, through: ms.nextEventID - 1, pageEvents: configuration.historyPageEvents)
        response.history = Temporal_Api_History_V1_History()
        response.history.events = events
        if let token { response.nextPageToken = Data(token.encode()) }
        return response
    }

    public func respondQueryTask(_ token: TaskToken, _ request: Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest) throws(HistoryError) {
        guard token.kind == .query else { throw .invalidArgument("the task token is not a query task's") }
        guard queries.answer(token.queryID, .success(request)) else {
            throw .notFound("query \(token.queryID) is no longer waiting (it timed out)")
        }
    }
}
