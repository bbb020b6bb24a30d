import Foundation
@testable import Persistence
import StorageTesting
import Testing

/// Golden bytes of every persistence row encoding (Tests/Fixtures/persistence-v1/rows.hex): a
/// change to an encoding fails here. Rewrite only for a new version (`ANNALS_WRITE_FIXTURES=1`).
@Suite("Persistence row encodings")
struct RowEncodingTests {
    static let key = WorkflowKey(namespaceID: "ns", workflowID: "wf", runID: "r1")
    static let state = ExecutionState(createRequestID: "req", state: .running, status: .running, startTime: 1_000)

    static var samples: [(String, [UInt8])] {
        [
            ("execution", RowCodec.encode(WorkflowSnapshot(key: key, executionState: state, nextEventID: 5, lastEventTxnID: 3, dbRecordVersion: 2, mutableState: [0xAB]))),
            ("current_execution", RowCodec.encode(CurrentExecution(runID: "r1", executionState: state))),
            ("history_task", RowCodec.encode(HistoryTask(category: .timer, taskID: 1 << 20 | 1, fireTime: 2_000, key: key, data: [1, 2]))),
            ("history_node", RowCodec.encode(HistoryNode(nodeID: 4, lastEventID: 6, txnID: 9, prevTxnID: 8, events: [3]))),
            ("history_branch", RowCodec.encode(ancestors: [BranchAncestor(branchID: "b0", endNodeID: 7)])),
            ("task_queue", RowCodec.encode(TaskQueueRecord(key: TaskQueueKey(namespaceID: "ns", name: "q", type: .activity), rangeID: 3, data: [5]))),
            ("task_queue_task", RowCodec.encode(TaskQueueTask(taskID: 11, expiryTime: 12, data: [6]))),
            ("namespace", RowCodec.encode(NamespaceRecord(id: "id", name: "name", notificationVersion: 4, data: [7]))),
            ("cluster_metadata", RowCodec.encode(ClusterMetadataRecord(clusterName: "c", version: 2, data: [8]))),
            ("visibility", RowCodec.encode(VisibilityRecord(
                key: key, workflowType: "T", taskQueue: "q", status: .completed, startTime: 1, executionTime: 2, closeTime: 3, historyLength: 4,
                searchAttributes: [
                    "k": .keyword("v"), "t": .text("x"), "i": .int(-1), "d": .double(0.5), "b": .bool(true), "dt": .datetime(9), "l": .keywordList(["a"]),
                ],
                memo: [9], data: [10]))),
            ("int64_column", littleEndian(0x0102_0304_0506_0708)),
        ]
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    @Test func encodingsMatchTheGoldenFixture() throws {
        let path = fixturesDirectory() + "/persistence-v1/rows.hex"
        let text = Self.samples.map { "\($0.0) \(Self.hex($0.1))" }.joined(separator: "\n") + "\n"
        if writeFixtures {
            try FileManager.default.createDirectory(atPath: fixturesDirectory() + "/persistence-v1", withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        let goldenLines = golden.split(separator: "\n").map(String.init)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(goldenLines.count == lines.count)
        for (mine, theirs) in zip(lines, goldenLines) { #expect(mine == theirs) }
    }

    @Test func encodingsRoundTripAndRejectDefects() throws {
        let snapshot = WorkflowSnapshot(key: Self.key, executionState: Self.state, nextEventID: 5, lastEventTxnID: 3, dbRecordVersion: 2, mutableState: [1])
        #expect(try RowCodec.decodeSnapshot(RowCodec.encode(snapshot)) == snapshot)
        let record = VisibilityRecord(
            key: Self.key, workflowType: "T", taskQueue: "q", status: .running, startTime: 1,
            searchAttributes: ["d": .double(-0.25), "l": .keywordList(["a", "b"]), "dt": .datetime(-5)])
        #expect(try RowCodec.decodeVisibility(RowCodec.encode(record)) == record)
        var bytes = RowCodec.encode(snapshot)
        bytes[0] = 2
        #expect(throws: PersistenceError.self) { try RowCodec.decodeSnapshot(bytes) }
        #expect(throws: PersistenceError.self) { try RowCodec.decodeSnapshot(Array(RowCodec.encode(snapshot).dropLast())) }
        #expect(throws: PersistenceError.self) { try RowCodec.decodeSnapshot(RowCodec.encode(snapshot) + [0]) }
    }

    @Test func taskIDsComeFromTheShardRange() {
        var allocator = TaskIDAllocator(rangeID: 3, nextSequence: TaskIDAllocator.idsPerRange - 2)
        let ids: [Int64?] = (0..<3).map { _ in allocator.next() }
        let expected: [Int64?] = [3 << 20 | 0xF_FFFE, 3 << 20 | 0xF_FFFF, nil]
        #expect(ids == expected, "then the range is used up: renew it")
    }
}
