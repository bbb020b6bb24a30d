import Synchronization
import TemporalAPI

/// The scripted worker's cache of workflow histories, by run id, for sticky execution: a task on
/// the worker's sticky queue carries only the events after its previous task, and the cache has
/// the rest. Holds at most `capacity` runs (the oldest entry is dropped first; a task for a
/// dropped run then fetches its whole history, as an SDK does after evicting a run).
final class StickyCache: Sendable {
    private struct State {
        var histories: [String: [Temporal_Api_History_V1_HistoryEvent]] = [:]
        /// Insertion order, for eviction (a run is listed once).
        var order: [String] = []
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    /// The whole history, if the cache holds events up to just before `events` starts.
    func extend(runID: String, with events: [Temporal_Api_History_V1_HistoryEvent]) -> [Temporal_Api_History_V1_HistoryEvent]? {
        guard let first = events.first?.eventID else { return nil }
        return state.withLock { state in
            guard let cached = state.histories[runID], cached.last?.eventID == first - 1 else { return nil }
            return cached + events
        }
    }

    func store(runID: String, history: [Temporal_Api_History_V1_HistoryEvent]) {
        state.withLock { state in
            if state.histories.updateValue(history, forKey: runID) == nil {
                state.order.append(runID)
                if state.order.count > capacity {
                    let evicted = state.order.removeFirst()
                    state.histories[evicted] = nil
                }
            }
        }
    }

    func remove(runID: String) {
        state.withLock { state in
            if state.histories.removeValue(forKey: runID) != nil { state.order.removeAll { $0 == runID } }
        }
    }

    var count: Int { state.withLock { $0.histories.count } }
}
