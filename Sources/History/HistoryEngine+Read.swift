import Foundation
public import Persistence
import SwiftProtobuf
public import TemporalAPI

/// `GetWorkflowExecutionHistory` continuation: `u8 version (1) | i64 next event id`.
struct HistoryPageToken: Equatable {
    var nextEventID: Int64

    func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.i64(nextEventID)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(HistoryError) -> HistoryPageToken {
        var r = ByteReader(bytes, what: "history page token")
        guard try r.u8() == 1 else { throw .invalidArgument("Invalid NextPageToken.") }
        let token = HistoryPageToken(nextEventID: try r.i64())
        try r.finish()
        guard token.nextEventID >= 1 else { throw .invalidArgument("history page token names event \(token.nextEventID)") }
        return token
    }
}

public struct HistoryRequest: Sendable {
    public var key: WorkflowKey
    public var pageToken: [UInt8]
    public var waitNewEvent: Bool
    public var closeEventOnly: Bool
    public var maximumPageSize: Int
    /// How long a `waitNewEvent` call may wait.
    public var timeout: Duration

    public init(key: WorkflowKey, pageToken: [UInt8], waitNewEvent: Bool, closeEventOnly: Bool, maximumPageSize: Int, timeout: Duration) {
        self.key = key
        self.pageToken = pageToken
        self.waitNewEvent = waitNewEvent
        self.closeEventOnly = closeEventOnly
        self.maximumPageSize = maximumPageSize
        self.timeout = timeout
    }
}

extension HistoryEngine {
    /// Events `from...through` of the run, at most `pageEvents` (whole batches, so a page may end
    /// a little past it... never past `through`), and the token for the rest. `nodeHint` is an
    /// event id no later than `from` where a node is expected to begin (default `from`).
    func readHistory(
        _ ms: MutableState, from: Int64, through: Int64, pageEvents: Int, nodeHint: Int64? = nil
    ) async throws(HistoryError) -> ([HistoryEvent], HistoryPageToken?) {
        // Nodes are found by the id of their first event, so a read can start at the hint only if
        // a node begins at or before `from` and at or after the hint. It usually does (a sticky
        // task reads from the event after the last task's WorkflowTaskStarted, which ends its
        // node); when it does not, the first event read is not `from`, and the read starts over
        // from the first node.
        let hint = nodeHint ?? from
        if hint > 1 && hint <= from {
            let (events, token) = try await readHistory(ms, from: from, through: through, pageEvents: pageEvents, firstNode: hint)
            if events.first?.eventID == from { return (events, token) }
        }
        return try await readHistory(ms, from: from, through: through, pageEvents: pageEvents, firstNode: 1)
    }

    private func readHistory(
        _ ms: MutableState, from: Int64, through: Int64, pageEvents: Int, firstNode: Int64
    ) async throws(HistoryError) -> ([HistoryEvent], HistoryPageToken?) {
        var events: [HistoryEvent] = []
        var token: [UInt8]? = nil
        do {
            repeat {
                let page = try await persistence.readHistoryBranch(
                    branch: ms.branch, minEventID: firstNode, maxEventID: through + 1, lastTxnID: ms.lastEventTxnID, pageSize: 100, pageToken: token)
                for node in page.nodes where node.lastEventID >= from {
                    let batch = try Temporal_Api_History_V1_History(serializedBytes: node.events)
                    for event in batch.events where event.eventID >= from && event.eventID <= through {
                        events.append(event)
                    }
                    if events.count >= pageEvents, let last = events.last, last.eventID < through {
                        return (events, HistoryPageToken(nextEventID: last.eventID + 1))
                    }
                }
                token = page.nextPageToken
            } while token != nil
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError.from(error)
        }
        if firstNode > 1 && events.first?.eventID != from { return (events, nil) }  // the caller starts over
        if let last = events.last?.eventID, last != through {
            throw .internal("history of \(ms.key) ends at event \(last), expected \(through)")
        }
        return (events, nil)
    }

    /// The closed run's close event. Every node written after the last completed workflow task's
    /// completion begins after that task's WorkflowTaskStarted, so the read starts there; it
    /// falls back to the whole history for a run closed before any of its workflow tasks
    /// completed (terminated, say).
    func closeEvent(_ ms: MutableState) async throws(HistoryError) -> [HistoryEvent] {
        try await readHistory(
            ms, from: ms.closeEventID, through: ms.closeEventID, pageEvents: 1, nodeHint: ms.lastCompletedWorkflowTaskStartedEventID + 1
        ).0
    }

    /// GetWorkflowExecutionHistory, with paging, the close-event filter and long polls.
    public func history(_ request: HistoryRequest) async throws(HistoryError) -> Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse {
        let shard = shard(for: request.key)
        let start = request.pageToken.isEmpty ? HistoryPageToken(nextEventID: 1) : try HistoryPageToken.decode(request.pageToken)
        let deadline = ContinuousClock.now + request.timeout
        var response = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse()
        response.history = Temporal_Api_History_V1_History()
        while true {
            let seen = notifier.version(request.key)
            let ms = try await load(request.key, shard: shard)
            let ready: Bool
            if request.closeEventOnly {
                ready = !ms.isRunning
            } else {
                ready = !request.waitNewEvent || ms.nextEventID > start.nextEventID || !ms.isRunning
            }
            if ready {
                if request.closeEventOnly {
                    response.history.events = try await closeEvent(ms)
                    return response
                }
                let pageEvents = request.maximumPageSize > 0 ? min(request.maximumPageSize, configuration.historyPageEvents) : configuration.historyPageEvents
                let through = ms.nextEventID - 1
                if start.nextEventID > through {
                    // Past the end of a closed run: nothing more.
                    return response
                }
                let (events, token) = try await readHistory(ms, from: start.nextEventID, through: through, pageEvents: pageEvents)
                response.history.events = events
                if let token {
                    response.nextPageToken = Data(token.encode())
                } else if request.waitNewEvent && ms.isRunning {
                    response.nextPageToken = Data(HistoryPageToken(nextEventID: through + 1).encode())
                }
                return response
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || Task.isCancelled {
                // The long poll expired: no events, and a token to poll again from the same place.
                response.nextPageToken = Data(start.encode())
                return response
            }
            await notifier.wait(request.key, after: seen, timeout: remaining, closeOnly: request.closeEventOnly)
        }
    }

    /// The run's mutable state, for DescribeWorkflowExecution.
    public func describe(_ key: WorkflowKey) async throws(HistoryError) -> MutableState {
        try await load(key, shard: shard(for: key))
    }

    /// The visibility record of a run, from its mutable state.
    func visibilityRecord(_ ms: MutableState) -> VisibilityRecord {
        var searchAttributes: [String: SearchAttributeValue] = [:]
        if let sa = try? Temporal_Api_Common_V1_SearchAttributes(serializedBytes: ms.searchAttributes) {
            for (name, payload) in sa.indexedFields {
                if let value = SearchAttributeDecoding.value(payload) { searchAttributes[name] = value }
            }
        }
        return VisibilityRecord(
            key: ms.key, workflowType: ms.workflowType, taskQueue: ms.taskQueue, status: ms.workflowStatus, startTime: ms.startTime,
            executionTime: ms.startTime, closeTime: ms.closeTime, historyLength: ms.nextEventID - 1,
            searchAttributes: searchAttributes, memo: ms.memo, data: ms.searchAttributes)
    }
}

/// Search attribute payloads (`json/plain`, with metadata `type`) as typed visibility values.
public enum SearchAttributeDecoding {
    public static func value(_ payload: Temporal_Api_Common_V1_Payload) -> SearchAttributeValue? {
        let type = payload.metadata["type"].flatMap { String(data: $0, encoding: .utf8) } ?? ""
        guard let json = try? JSONSerialization.jsonObject(with: payload.data, options: [.fragmentsAllowed]) else { return nil }
        switch (type, json) {
        case ("Int", let n as NSNumber): return .int(n.int64Value)
        case ("Double", let n as NSNumber): return .double(n.doubleValue)
        case ("Bool", let n as NSNumber): return .bool(n.boolValue)
        case ("Datetime", let s as String):
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let date = formatter.date(from: s) ?? ISO8601DateFormatter().date(from: s)
            return date.map { .datetime(Int64($0.timeIntervalSince1970 * 1_000_000_000)) }
        case ("KeywordList", let list as [Any]): return .keywordList(list.compactMap { $0 as? String })
        case (_, let list as [Any]): return .keywordList(list.compactMap { $0 as? String })
        case ("Text", let s as String): return .text(s)
        case (_, let s as String): return .keyword(s)
        case (_, let n as NSNumber): return .int(n.int64Value)
        default: return nil
        }
    }
}
