import Foundation
public import Persistence
import SwiftProtobuf
import Synchronization
public import TemporalAPI

public typealias UpdateStage = Temporal_Api_Enums_V1_UpdateWorkflowExecutionLifecycleStage

/// Updates admitted but not yet accepted or rejected (in memory, as in Temporal: a client
/// re-issues an update that was only admitted when the server restarted), and recent rejections.
final class UpdateRegistry: Sendable {
    /// Admitted updates held per run.
    static let maxAdmittedPerRun = 100
    /// Rejections remembered (for re-issued calls and polls), oldest dropped first.
    static let maxRememberedRejections = 10_000

    private struct State {
        var admitted: [WorkflowKey: [(id: String, request: Temporal_Api_Update_V1_Request)]] = [:]
        var rejected: [String: Temporal_Api_Failure_V1_Failure] = [:]
        var rejectionOrder: [String] = []
    }

    private let state = Mutex(State())

    private static func rejectionKey(_ key: WorkflowKey, _ id: String) -> String { "\(key.runID)/\(id)" }

    func admit(_ key: WorkflowKey, _ request: Temporal_Api_Update_V1_Request) throws(HistoryError) {
        let admitted: Bool = state.withLock { state in
            var list = state.admitted[key] ?? []
            if list.contains(where: { $0.id == request.meta.updateID }) { return true }
            guard list.count < UpdateRegistry.maxAdmittedPerRun else { return false }
            list.append((request.meta.updateID, request))
            state.admitted[key] = list
            return true
        }
        if !admitted { throw .resourceExhausted("\(UpdateRegistry.maxAdmittedPerRun) updates are already waiting for this workflow") }
    }

    func isAdmitted(_ key: WorkflowKey, _ id: String) -> Bool {
        state.withLock { $0.admitted[key]?.contains(where: { $0.id == id }) ?? false }
    }

    func admitted(_ key: WorkflowKey) -> [(id: String, request: Temporal_Api_Update_V1_Request)] {
        state.withLock { $0.admitted[key] ?? [] }
    }

    func remove(_ key: WorkflowKey, _ id: String) {
        state.withLock { state in
            state.admitted[key]?.removeAll { $0.id == id }
            if state.admitted[key]?.isEmpty == true { state.admitted[key] = nil }
        }
    }

    func reject(_ key: WorkflowKey, _ id: String, _ failure: Temporal_Api_Failure_V1_Failure) {
        remove(key, id)
        state.withLock { state in
            let k = UpdateRegistry.rejectionKey(key, id)
            state.rejected[k] = failure
            state.rejectionOrder.append(k)
            if state.rejectionOrder.count > UpdateRegistry.maxRememberedRejections {
                state.rejected[state.rejectionOrder.removeFirst()] = nil
            }
        }
    }

    func rejection(_ key: WorkflowKey, _ id: String) -> Temporal_Api_Failure_V1_Failure? {
        state.withLock { $0.rejected[UpdateRegistry.rejectionKey(key, id)] }
    }

    func dropRun(_ key: WorkflowKey) { _ = state.withLock { $0.admitted.removeValue(forKey: key) } }

    /// Runs holding admitted updates.
    var runsWithAdmittedUpdates: Int { state.withLock { $0.admitted.count } }
}

extension HistoryEngine {
    /// Runs with updates admitted but not yet accepted or rejected (held in memory until then or
    /// until the run closes).
    public var runsWithPendingUpdates: Int { updates.runsWithAdmittedUpdates }

    /// Updates accepted per run over its life.
    static let maxUpdatesPerRun = 2_000

    /// UpdateWorkflowExecution: admits the update (a workflow task carries it to the worker) and
    /// waits until it reaches `waitStage` or `timeout` passes; then answers with the stage reached.
    public func updateWorkflow(
        _ key: WorkflowKey, _ request: Temporal_Api_Update_V1_Request, waitStage: UpdateStage, timeout: Duration
    ) async throws(HistoryError) -> (stage: UpdateStage, outcome: Temporal_Api_Update_V1_Outcome?) {
        let id = request.meta.updateID
        guard !id.isEmpty else { throw .invalidArgument("Update ID is not set on request.") }
        guard !request.input.name.isEmpty else { throw .invalidArgument("Update name is not set on request.") }
        let ms = try await load(key, shard: shard(for: key))
        if ms.updates[id] == nil && updates.rejection(key, id) == nil && !updates.isAdmitted(key, id) {
            guard ms.isRunning else { throw .notFound("workflow execution already completed") }
            guard ms.updates.count < HistoryEngine.maxUpdatesPerRun else {
                throw .resourceExhausted("the workflow has accepted \(HistoryEngine.maxUpdatesPerRun) updates, the most one run takes")
            }
            try updates.admit(key, request)
            try await update(key) { (tx: inout WorkflowTransaction) throws(HistoryError) in tx.scheduleWorkflowTask() }
        }
        return try await waitForUpdate(key, id: id, stage: waitStage, timeout: timeout)
    }

    /// PollWorkflowExecutionUpdate.
    public func pollUpdate(_ key: WorkflowKey, id: String, waitStage: UpdateStage, timeout: Duration) async throws(HistoryError) -> (stage: UpdateStage, outcome: Temporal_Api_Update_V1_Outcome?) {
        let ms = try await load(key, shard: shard(for: key))
        guard ms.updates[id] != nil || updates.rejection(key, id) != nil || updates.isAdmitted(key, id) else {
            throw .notFound("update \(id) not found")
        }
        return try await waitForUpdate(key, id: id, stage: waitStage, timeout: timeout)
    }

    private func waitForUpdate(_ key: WorkflowKey, id: String, stage wanted: UpdateStage, timeout: Duration) async throws(HistoryError) -> (stage: UpdateStage, outcome: Temporal_Api_Update_V1_Outcome?) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = notifier.version(key)
            let ms = try await load(key, shard: shard(for: key))
            var stage: UpdateStage = .admitted
            var outcome: Temporal_Api_Update_V1_Outcome? = nil
            if let record = ms.updates[id] {
                stage = record.completed ? .completed : .accepted
                if record.completed { outcome = try? Temporal_Api_Update_V1_Outcome(serializedBytes: record.outcome) }
            } else if let failure = updates.rejection(key, id) {
                stage = .completed
                outcome = Temporal_Api_Update_V1_Outcome.with { $0.failure = failure }
            } else if !ms.isRunning {
                updates.dropRun(key)
                throw .notFound("workflow execution already completed")
            }
            if stage.rawValue >= max(wanted.rawValue, UpdateStage.admitted.rawValue) { return (stage, outcome) }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || Task.isCancelled { return (stage, outcome) }
            await notifier.wait(key, after: seen, timeout: remaining)
        }
    }

    /// The protocol messages a workflow task carries: one request per admitted update.
    func updateMessages(_ key: WorkflowKey, sequencingEventID: Int64) -> [Temporal_Api_Protocol_V1_Message] {
        updates.admitted(key).compactMap { entry in
            var message = Temporal_Api_Protocol_V1_Message()
            message.id = "\(entry.id)/request"
            message.protocolInstanceID = entry.id
            message.eventID = sequencingEventID
            guard let body = try? Google_Protobuf_Any(message: entry.request) else { return nil }
            message.body = body
            return message
        }
    }

    /// Applies one protocol message of a completion: Acceptance and Response write their events,
    /// Rejection completes the update with its failure (nothing persisted).
    func applyProtocolMessage(_ message: Temporal_Api_Protocol_V1_Message, tx: inout WorkflowTransaction) throws(HistoryError) {
        let id = message.protocolInstanceID
        if message.body.isA(Temporal_Api_Update_V1_Acceptance.self) {
            guard let a = try? Temporal_Api_Update_V1_Acceptance(unpackingAny: message.body) else { throw .invalidArgument("malformed update acceptance") }
            guard tx.ms.updates[id] == nil else { return }
            let eventID = tx.addEvent(.workflowExecutionUpdateAccepted) {
                $0.workflowExecutionUpdateAcceptedEventAttributes = .with {
                    $0.protocolInstanceID = id
                    $0.acceptedRequestMessageID = a.acceptedRequestMessageID
                    $0.acceptedRequestSequencingEventID = a.acceptedRequestSequencingEventID
                    $0.acceptedRequest = a.acceptedRequest
                }
            }
            tx.ms.updates[id] = UpdateRecord(acceptedEventID: eventID)
            updates.remove(tx.key, id)
        } else if message.body.isA(Temporal_Api_Update_V1_Response.self) {
            guard let r = try? Temporal_Api_Update_V1_Response(unpackingAny: message.body) else { throw .invalidArgument("malformed update response") }
            guard var record = tx.ms.updates[id], !record.completed else { return }
            let accepted = record.acceptedEventID
            tx.addEvent(.workflowExecutionUpdateCompleted) {
                $0.workflowExecutionUpdateCompletedEventAttributes = .with {
                    $0.meta = r.meta
                    $0.acceptedEventID = accepted
                    $0.outcome = r.outcome
                }
            }
            record.completed = true
            record.outcome = (try? r.outcome.serializedBytes()) ?? []
            tx.ms.updates[id] = record
        } else if message.body.isA(Temporal_Api_Update_V1_Rejection.self) {
            guard let r = try? Temporal_Api_Update_V1_Rejection(unpackingAny: message.body) else { throw .invalidArgument("malformed update rejection") }
            updates.reject(tx.key, id, r.failure)
        } else {
            throw .invalidArgument("unknown protocol message body \(message.body.typeURL)")
        }
    }
}
