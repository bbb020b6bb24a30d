import Foundation
import Persistence
import StorageEngine
import StorageIO
import StorageTesting
import Testing

/// The implementations the conformance suite runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    /// The store on the in-memory file system.
    case storeOnMemFS
    /// The store on a temporary directory of the real file system.
    case storeOnDisk

    var testDescription: String { rawValue }

    static let stores: [Backend] = [.storeOnMemFS, .storeOnDisk]
}

/// Store options that push a small test through memtable flushes, index files and compactions.
let testStoreOptions = StoreOptions(memtableBytes: 16 << 10, compactionTrigger: 3)
let memStoreDirectory = "/data/persistence"

/// An open persistence of one backend; `close()` releases it (and removes a temporary directory).
struct Harness: Sendable {
    let persistence: any Persistence
    let directory: String?
    let store: StorePersistence?

    static func open(_ backend: Backend) throws -> Harness {
        switch backend {
        case .memory:
            return Harness(persistence: InMemoryPersistence(), directory: nil, store: nil)
        case .storeOnMemFS:
            let store = try StorePersistence.open(directory: memStoreDirectory, fileSystem: MemFileSystem(), options: testStoreOptions)
            return Harness(persistence: store, directory: nil, store: store)
        case .storeOnDisk:
            let directory = try temporaryDirectory()
            let store = try StorePersistence.open(directory: directory, options: testStoreOptions)
            return Harness(persistence: store, directory: directory, store: store)
        }
    }

    func close() async {
        await store?.close()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

func temporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "annals-persistence-XXXXXX").utf8CString)
    guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw PersistenceError.storage("mkdtemp failed")
    }
    return String(cString: path)
}

/// Runs `body` on a fresh persistence of `backend`, closing it afterwards.
func withPersistence(_ backend: Backend, _ body: (any Persistence) async throws -> Void) async throws {
    let harness = try Harness.open(backend)
    do {
        try await body(harness.persistence)
    } catch {
        await harness.close()
        throw error
    }
    await harness.close()
}

/// The error `body` throws, or nil.
func persistenceError(_ body: () async throws -> Void) async -> PersistenceError? {
    do {
        try await body()
        return nil
    } catch let error as PersistenceError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

let ns = "ns-1"

func wfKey(_ workflowID: String, _ runID: String, namespaceID: String = ns) -> WorkflowKey {
    WorkflowKey(namespaceID: namespaceID, workflowID: workflowID, runID: runID)
}

func snapshot(
    _ key: WorkflowKey, version: Int64 = 1, state: WorkflowState = .running, status: WorkflowStatus = .running,
    nextEventID: Int64 = 3, lastEventTxnID: Int64 = 0, startTime: Int64 = 1_000, blob: [UInt8] = [1, 2, 3]
) -> WorkflowSnapshot {
    WorkflowSnapshot(
        key: key, executionState: ExecutionState(createRequestID: "req-\(key.runID)", state: state, status: status, startTime: startTime),
        nextEventID: nextEventID, lastEventTxnID: lastEventTxnID, dbRecordVersion: version, mutableState: blob)
}

func transferTask(_ key: WorkflowKey, _ id: Int64) -> HistoryTask {
    HistoryTask(category: .transfer, taskID: id, key: key, data: Array("transfer \(id)".utf8))
}

func timerTask(_ key: WorkflowKey, _ id: Int64, fireTime: Int64) -> HistoryTask {
    HistoryTask(category: .timer, taskID: id, fireTime: fireTime, key: key, data: Array("timer \(id)".utf8))
}

func node(_ nodeID: Int64, _ lastEventID: Int64, txn: Int64, prev: Int64) -> HistoryNode {
    HistoryNode(nodeID: nodeID, lastEventID: lastEventID, txnID: txn, prevTxnID: prev, events: Array("events \(nodeID)-\(lastEventID) txn \(txn)".utf8))
}

/// Every item of a listing, page by page.
func collect<T>(pageSize: Int, _ page: (_ pageSize: Int, _ token: [UInt8]?) async throws -> Page<T>) async throws -> [T] {
    var out: [T] = []
    var token: [UInt8]? = nil
    var pages = 0
    repeat {
        let p = try await page(pageSize, token)
        #expect(p.items.count <= pageSize)
        out += p.items
        token = p.nextPageToken
        pages += 1
    } while token != nil && pages < 10_000
    return out
}

func readAll(_ p: any Persistence, _ branch: BranchToken, min: Int64 = 1, max: Int64, lastTxnID: Int64, pageSize: Int = 100) async throws -> [HistoryNode] {
    var out: [HistoryNode] = []
    var token: [UInt8]? = nil
    repeat {
        let page = try await p.readHistoryBranch(branch: branch, minEventID: min, maxEventID: max, lastTxnID: lastTxnID, pageSize: pageSize, pageToken: token)
        out += page.nodes
        token = page.nextPageToken
    } while token != nil
    return out
}
