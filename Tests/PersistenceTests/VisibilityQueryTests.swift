import Persistence
import Testing

@Suite("Visibility query")
struct VisibilityQueryTests {
    static let record = VisibilityRecord(
        key: WorkflowKey(namespaceID: "ns", workflowID: "order-42", runID: "run-1"), workflowType: "OrderWorkflow", taskQueue: "orders",
        status: .completed, startTime: 1_764_620_000_000_000_000, executionTime: 1_764_620_000_000_000_000,
        closeTime: 1_764_620_060_000_000_000, historyLength: 12,
        searchAttributes: [
            "CustomKeywordField": .keyword("gold"), "CustomIntField": .int(7), "CustomBoolField": .bool(true),
            "CustomDoubleField": .double(2.5), "CustomTextField": .text("The quick brown fox"),
            "CustomDatetimeField": .datetime(1_764_620_000_000_000_000), "Tags": .keywordList(["red", "blue"]),
        ])

    @Test func parsesTheGrammar() throws {
        #expect(try VisibilityQuery.parse("") == .all)
        #expect(try VisibilityQuery.parse("  ") == .all)
        #expect(try VisibilityQuery.parse("ORDER BY StartTime DESC") == .all)
        #expect(try VisibilityQuery.parse("WorkflowId = 'a'") == .compare(field: "WorkflowId", op: .equal, value: .keyword("a")))
        #expect(try VisibilityQuery.parse("WorkflowType=\"T\" and not (ExecutionStatus = 'Running' or HistoryLength >= 3)")
            == .and(
                .compare(field: "WorkflowType", op: .equal, value: .keyword("T")),
                .not(.or(
                    .compare(field: "ExecutionStatus", op: .equal, value: .int(1)),
                    .compare(field: "HistoryLength", op: .greaterOrEqual, value: .int(3))))))
        #expect(try VisibilityQuery.parse("a = 1 OR b = 2 AND c = 3")
            == .or(.compare(field: "a", op: .equal, value: .int(1)), .and(.compare(field: "b", op: .equal, value: .int(2)), .compare(field: "c", op: .equal, value: .int(3)))),
            "AND binds tighter than OR")
        #expect(try VisibilityQuery.parse("ExecutionStatus IN ('Completed', 'TimedOut', 3)")
            == .isIn(field: "ExecutionStatus", values: [.int(2), .int(7), .int(3)]))
        #expect(try VisibilityQuery.parse("CloseTime IS NULL") == .isNull(field: "CloseTime"))
        #expect(try VisibilityQuery.parse("CloseTime is not null") == .not(.isNull(field: "CloseTime")))
        #expect(try VisibilityQuery.parse("WorkflowId STARTS_WITH 'order-'") == .compare(field: "WorkflowId", op: .startsWith, value: .keyword("order-")))
        #expect(try VisibilityQuery.parse("StartTime > '2025-12-01T20:13:20Z'") == .compare(field: "StartTime", op: .greater, value: .datetime(1_764_620_000_000_000_000)))
        #expect(try VisibilityQuery.parse("StartTime < '2025-12-01T21:13:20.5+01:00'") == .compare(field: "StartTime", op: .less, value: .datetime(1_764_620_000_500_000_000)))
        #expect(try VisibilityQuery.parse("x != -4.5 AND y <> true AND `Odd Name` = 'it''s'")
            == .and(.and(.compare(field: "x", op: .notEqual, value: .double(-4.5)), .compare(field: "y", op: .notEqual, value: .bool(true))),
                .compare(field: "Odd Name", op: .equal, value: .keyword("it's"))))
        #expect(try VisibilityQuery.parse("HistoryLength BETWEEN 1 AND 5")
            == .and(.compare(field: "HistoryLength", op: .greaterOrEqual, value: .int(1)), .compare(field: "HistoryLength", op: .lessOrEqual, value: .int(5))))
        #expect(try VisibilityQuery.parse("ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW'") == .compare(field: "ExecutionStatus", op: .equal, value: .int(6)))
    }

    @Test(arguments: [
        ("WorkflowId = ", "offset 13"), ("WorkflowId 'a'", "offset 11"), ("(WorkflowId = 'a'", "offset 17"), ("WorkflowId = 'a", "offset 13"),
        ("ExecutionStatus = 'Sleeping'", "offset 18"), ("StartTime > 'yesterday'", "offset 12"), ("HistoryLength = 'many'", "offset 16"),
        ("WorkflowId = 'a' ORDER BY WorkflowId", "offset 26"), ("WorkflowId = 'a' garbage", "offset 17"), ("a = 1 #", "offset 6"),
        ("AND = 1", "offset 0"), ("StartTime > '2025-02-30T00:00:00Z'", "offset 12"), ("WorkflowId = 5", "offset 13"),
    ])
    func rejectsMalformedQueriesNamingTheOffset(_ text: String, _ offset: String) {
        do {
            _ = try VisibilityQuery.parse(text)
            Issue.record("\(text) parsed")
        } catch let error as PersistenceError {
            guard case .invalidArgument(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains(offset), "\(text): \(message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test(arguments: [
        ("", true), ("WorkflowId = 'order-42'", true), ("WorkflowId = 'order-43'", false), ("WorkflowId != 'order-43'", true),
        ("WorkflowType = 'OrderWorkflow' AND TaskQueue = 'orders'", true), ("RunId = 'run-1'", true),
        ("ExecutionStatus = 'Completed'", true), ("ExecutionStatus = 2", true), ("ExecutionStatus = 'Running'", false),
        ("ExecutionStatus IN ('Running', 'Completed')", true), ("NOT ExecutionStatus IN ('Running', 'Completed')", false),
        ("StartTime >= '2025-12-01T20:13:20Z'", true), ("StartTime > '2025-12-01T20:13:20Z'", false),
        ("CloseTime < '2025-12-01T20:14:21Z' AND CloseTime > '2025-12-01T20:14:19Z'", true), ("CloseTime IS NULL", false),
        ("ExecutionTime IS NOT NULL", true), ("HistoryLength > 11", true), ("HistoryLength BETWEEN 13 AND 20", false),
        ("CustomKeywordField = 'gold'", true), ("CustomKeywordField STARTS_WITH 'go'", true), ("CustomKeywordField STARTS_WITH 'ol'", false),
        ("CustomIntField < 7.5", true), ("CustomIntField >= 8", false), ("CustomBoolField = true", true), ("CustomBoolField = false", false),
        ("CustomDoubleField > 2", true), ("CustomTextField = 'quick'", true), ("CustomTextField = 'slow'", false),
        ("CustomDatetimeField <= '2025-12-01T20:13:20Z'", true), ("Tags = 'red'", true), ("Tags = 'green'", false),
        ("Tags IN ('green', 'blue')", true), ("Tags != 'red'", false),
        ("Missing = 'x'", false), ("Missing != 'x'", true), ("Missing IS NULL", true), ("Missing > 1", false),
        ("(WorkflowId = 'x' OR HistoryLength = 12) AND NOT CloseTime IS NULL ORDER BY StartTime DESC", true),
    ])
    func matchesRecords(_ text: String, _ expected: Bool) throws {
        #expect(try VisibilityQuery.parse(text).matches(Self.record) == expected, "\(text)")
    }
}
