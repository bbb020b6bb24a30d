import Persistence
import Testing

@Suite struct PersistenceTypesTests {
    /// The raw values are Temporal's enum numbers (temporal.api.enums.v1), which the services rely on.
    @Test func statusNumbersAreTemporals() {
        #expect(WorkflowStatus.running.rawValue == 1)
        #expect(WorkflowStatus.completed.rawValue == 2)
        #expect(WorkflowStatus.timedOut.rawValue == 7)
        #expect(WorkflowStatus.allCases.filter { !$0.isClosed } == [.running])
    }

    @Test func timerTasksOrderByFireTimeThenTaskID() {
        let a = HistoryTaskKey(fireTime: 5, taskID: 9)
        let b = HistoryTaskKey(fireTime: 6, taskID: 1)
        let c = HistoryTaskKey(fireTime: 6, taskID: 2)
        #expect(a < b && b < c)
    }
}
