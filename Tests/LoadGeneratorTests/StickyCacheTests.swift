@testable import LoadGenerator
import TemporalAPI
import Testing

@Suite("Sticky cache")
struct StickyCacheTests {
    static func events(_ ids: ClosedRange<Int64>) -> [Temporal_Api_History_V1_HistoryEvent] {
        ids.map { id in
            var event = Temporal_Api_History_V1_HistoryEvent()
            event.eventID = id
            return event
        }
    }

    @Test func extendsOnlyAContiguousHistory() {
        let cache = StickyCache(capacity: 4)
        #expect(cache.extend(runID: "r", with: Self.events(4...6)) == nil, "nothing cached")
        cache.store(runID: "r", history: Self.events(1...3))
        #expect(cache.extend(runID: "r", with: Self.events(4...6))?.map(\.eventID) == Array(1...6))
        #expect(cache.extend(runID: "r", with: Self.events(5...6)) == nil, "a gap: fetch the whole history")
        #expect(cache.extend(runID: "r", with: []) == nil)
        cache.remove(runID: "r")
        #expect(cache.extend(runID: "r", with: Self.events(4...6)) == nil)
    }

    @Test func holdsAtMostItsCapacityDroppingTheOldest() {
        let cache = StickyCache(capacity: 2)
        cache.store(runID: "a", history: Self.events(1...1))
        cache.store(runID: "b", history: Self.events(1...1))
        cache.store(runID: "a", history: Self.events(1...2))  // an update keeps its place
        cache.store(runID: "c", history: Self.events(1...1))
        #expect(cache.count == 2)
        #expect(cache.extend(runID: "a", with: Self.events(2...2)) == nil, "a was the oldest and went")
        #expect(cache.extend(runID: "b", with: Self.events(2...2)) != nil)
        #expect(cache.extend(runID: "c", with: Self.events(2...2)) != nil)
    }
}
