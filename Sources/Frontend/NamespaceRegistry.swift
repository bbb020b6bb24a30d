import Foundation
import History
import Persistence
import SwiftProtobuf
import Synchronization
import TemporalAPI

/// A namespace as the frontend uses it.
struct Namespace: Sendable {
    var id: String
    var info: Temporal_Api_Namespace_V1_NamespaceInfo
    var config: Temporal_Api_Namespace_V1_NamespaceConfig
    /// Custom search attributes registered with OperatorService.AddSearchAttributes: name → type.
    var customSearchAttributes: [String: Temporal_Api_Enums_V1_IndexedValueType]
    var notificationVersion: Int64

    var name: String { info.name }

    /// `NamespaceRecord.data`: `u8 version (1) | info | config | u32 count | (name, i32 type)...`,
    /// each proto and name length-prefixed.
    func encode() throws -> [UInt8] {
        var out: [UInt8] = [1]
        func append(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: bytes)
        }
        append(try info.serializedBytes())
        append(try config.serializedBytes())
        withUnsafeBytes(of: UInt32(customSearchAttributes.count).littleEndian) { out.append(contentsOf: $0) }
        for (name, type) in customSearchAttributes.sorted(by: { $0.key < $1.key }) {
            append(Array(name.utf8))
            withUnsafeBytes(of: Int32(type.rawValue).littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    static func decode(_ record: NamespaceRecord) throws -> Namespace {
        let bytes = record.data
        var offset = 1
        guard bytes.first == 1 else { throw HistoryError.internal("namespace \(record.name): unknown record version") }
        func u32() throws -> Int {
            guard bytes.count - offset >= 4 else { throw HistoryError.internal("namespace \(record.name): record ends early at byte \(offset)") }
            defer { offset += 4 }
            return Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
        func chunk() throws -> [UInt8] {
            let n = try u32()
            guard bytes.count - offset >= n else { throw HistoryError.internal("namespace \(record.name): record ends early at byte \(offset)") }
            defer { offset += n }
            return Array(bytes[offset..<(offset + n)])
        }
        let info = try Temporal_Api_Namespace_V1_NamespaceInfo(serializedBytes: try chunk())
        let config = try Temporal_Api_Namespace_V1_NamespaceConfig(serializedBytes: try chunk())
        var custom: [String: Temporal_Api_Enums_V1_IndexedValueType] = [:]
        let count = try u32()
        for _ in 0..<count {
            let name = String(decoding: try chunk(), as: UTF8.self)
            let raw = try u32()
            custom[name] = Temporal_Api_Enums_V1_IndexedValueType(rawValue: raw) ?? .keyword
        }
        return Namespace(id: record.id, info: info, config: config, customSearchAttributes: custom, notificationVersion: record.notificationVersion)
    }

    var record: NamespaceRecord {
        get throws { NamespaceRecord(id: id, name: name, notificationVersion: notificationVersion, data: try encode()) }
    }
}

/// Namespaces by name and id, read through from the metadata store and cached.
final class NamespaceRegistry: Sendable {
    /// Namespaces one server holds.
    static let maxNamespaces = 1_000
    let store: any MetadataStore
    private let cache = Mutex<[String: Namespace]>([:])

    init(store: any MetadataStore) {
        self.store = store
    }

    /// The namespace called `name`, or NOT_FOUND in Temporal's wording.
    func byName(_ name: String) async throws -> Namespace {
        guard !name.isEmpty else { throw HistoryError.invalidArgument("Namespace not set on request.") }
        if let cached = cache.withLock({ $0[name] }) { return cached }
        do {
            let ns = try Namespace.decode(try await store.getNamespace(name: name))
            cache.withLock { $0[name] = ns }
            return ns
        } catch PersistenceError.notFound {
            throw HistoryError.notFound("Namespace \(name) is not found.")
        }
    }

    func register(name: String, description: String, ownerEmail: String, retention: Google_Protobuf_Duration?) async throws -> Namespace {
        var info = Temporal_Api_Namespace_V1_NamespaceInfo()
        info.name = name
        info.state = .registered
        info.description_p = description
        info.ownerEmail = ownerEmail
        info.id = UUID().uuidString.lowercased()
        var config = Temporal_Api_Namespace_V1_NamespaceConfig()
        config.workflowExecutionRetentionTtl = retention ?? Google_Protobuf_Duration(seconds: 72 * 3600)
        config.historyArchivalState = .disabled
        config.visibilityArchivalState = .disabled
        let ns = Namespace(id: info.id, info: info, config: config, customSearchAttributes: [:], notificationVersion: 0)
        let existing = try await store.listNamespaces(pageSize: NamespaceRegistry.maxNamespaces, pageToken: nil)
        guard existing.items.count < NamespaceRegistry.maxNamespaces else {
            throw HistoryError.resourceExhausted("this server holds at most \(NamespaceRegistry.maxNamespaces) namespaces")
        }
        do {
            try await store.createNamespace(try ns.record)
        } catch PersistenceError.alreadyExists {
            throw HistoryError.namespaceAlreadyExists("Namespace \"\(name)\" already exists")
        }
        cache.withLock { $0[name] = ns }
        return ns
    }

    /// Applies `change` to the stored namespace (conditioned on its notification version).
    func update(_ name: String, _ change: (inout Namespace) throws -> Void) async throws -> Namespace {
        cache.withLock { _ = $0.removeValue(forKey: name) }
        var ns = try await byName(name)
        try change(&ns)
        ns.notificationVersion += 1
        try await store.updateNamespace(try ns.record)
        cache.withLock { $0[name] = ns }
        return ns
    }

    func list(pageSize: Int, token: [UInt8]?) async throws -> ([Namespace], [UInt8]?) {
        let page = try await store.listNamespaces(pageSize: max(1, min(pageSize, NamespaceRegistry.maxNamespaces)), pageToken: token)
        return (try page.items.map(Namespace.decode), page.nextPageToken)
    }
}
