import Foundation
import GRPCCore
import History
import Persistence
import SwiftProtobuf
import TemporalAPI

typealias WS = Temporal_Api_Workflowservice_V1_WorkflowService

/// Limits the frontend enforces on requests.
enum FrontendLimits {
    /// Largest payload set (input, result, details) accepted in one request: Temporal's default
    /// blob size limit, 2 MiB.
    static let maxPayloadBytes = 2 << 20
    static let maxIDBytes = 1_000
    static let maxListPageSize = 1_000
}

/// WorkflowService: validation, namespace resolution and error mapping in front of the history
/// service. Methods not listed fall back to UNIMPLEMENTED "unknown method …".
struct WorkflowHandler: WS.ServiceProtocol {
    let engine: HistoryEngine
    let namespaces: NamespaceRegistry
    let visibility: any VisibilityStore
    let configuration: ServerConfiguration

    /// Runs `body`, turning every error into the gRPC status the SDKs expect.
    func call<R: Sendable>(_ body: () async throws -> R) async throws -> ServerResponse<R> {
        do {
            return ServerResponse(message: try await body())
        } catch {
            throw RPCErrors.map(error)
        }
    }

    /// Runs a long poll so that the client going away cancels it. grpc-swift reports a client's
    /// RST_STREAM as RPC cancellation, not as cancellation of the handler's task; without this a
    /// poll abandoned by a worker that shut down would still be handed a task, which would then
    /// wait for its timeout.
    func longPoll<R: Sendable>(_ body: @escaping @Sendable () async throws -> R) async throws -> ServerResponse<R> {
        try await call {
            let task = Task { try await body() }
            return try await withTaskCancellationHandler {
                try await withRPCCancellationHandler {
                    try await task.value
                } onCancelRPC: {
                    task.cancel()
                }
            } onCancel: {
                task.cancel()
            }
        }
    }

    static func checkID(_ value: String, _ what: String) throws {
        guard !value.isEmpty else { throw HistoryError.invalidArgument("\(what) is not set on request.") }
        guard value.utf8.count <= FrontendLimits.maxIDBytes else {
            throw HistoryError.invalidArgument("\(what) exceeds length limit (\(FrontendLimits.maxIDBytes) bytes).")
        }
    }

    static func checkPayloads(_ payloads: Temporal_Api_Common_V1_Payloads, _ what: String) throws {
        let size = ((try? payloads.serializedBytes()) as [UInt8]?)?.count ?? 0
        guard size <= FrontendLimits.maxPayloadBytes else {
            throw HistoryError.invalidArgument("Blob data size exceeds limit. (\(what) is \(size) bytes; the limit is \(FrontendLimits.maxPayloadBytes))")
        }
    }

    func key(_ ns: Namespace, _ execution: Temporal_Api_Common_V1_WorkflowExecution) async throws -> WorkflowKey {
        try Self.checkID(execution.workflowID, "WorkflowId")
        return try await engine.resolveKey(namespaceID: ns.id, workflowID: execution.workflowID, runID: execution.runID)
    }

    // MARK: - Cluster and namespaces

    func getSystemInfo(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_GetSystemInfoRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_GetSystemInfoResponse> {
        var response = Temporal_Api_Workflowservice_V1_GetSystemInfoResponse()
        response.serverVersion = ServerConfiguration.serverVersion
        // Only what is built: `sdk_metadata` is persisted into WorkflowTaskCompleted (sdk-core
        // reads its flags back on replay); eager start, updates and the rest stay unadvertised.
        response.capabilities.sdkMetadata = true
        response.capabilities.signalAndQueryHeader = true
        response.capabilities.internalErrorDifferentiation = true
        response.capabilities.activityFailureIncludeHeartbeat = true
        response.capabilities.encodedFailureAttributes = true
        response.capabilities.upsertMemo = true
        return ServerResponse(message: response)
    }

    func getClusterInfo(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_GetClusterInfoRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_GetClusterInfoResponse> {
        var response = Temporal_Api_Workflowservice_V1_GetClusterInfoResponse()
        response.serverVersion = ServerConfiguration.serverVersion
        response.clusterID = configuration.clusterID
        response.clusterName = "active"
        response.historyShardCount = Int32(configuration.shardCount)
        response.persistenceStore = "annals"
        response.visibilityStore = "annals"
        response.supportedClients = ["temporal-cli": ">=0.1.0", "temporal-go": ">=1.0.0", "temporal-java": ">=1.0.0", "temporal-typescript": ">=1.0.0", "temporal-python": ">=1.0.0"]
        return ServerResponse(message: response)
    }

    func registerNamespace(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_RegisterNamespaceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_RegisterNamespaceResponse> {
        try await call {
            let r = request.message
            try Self.checkID(r.namespace, "Namespace")
            _ = try await namespaces.register(
                name: r.namespace, description: r.description_p, ownerEmail: r.ownerEmail,
                retention: r.hasWorkflowExecutionRetentionPeriod ? r.workflowExecutionRetentionPeriod : nil)
            return Temporal_Api_Workflowservice_V1_RegisterNamespaceResponse()
        }
    }

    static func describe(_ ns: Namespace) -> Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse {
        var response = Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse()
        response.namespaceInfo = ns.info
        response.namespaceInfo.limits.blobSizeLimitError = Int64(FrontendLimits.maxPayloadBytes)
        response.namespaceInfo.limits.memoSizeLimitError = Int64(FrontendLimits.maxPayloadBytes)
        response.config = ns.config
        response.replicationConfig.activeClusterName = "active"
        response.replicationConfig.clusters = [.with { $0.clusterName = "active" }]
        return response
    }

    func describeNamespace(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_DescribeNamespaceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse> {
        try await call {
            let r = request.message
            if !r.id.isEmpty {
                let (all, _) = try await namespaces.list(pageSize: NamespaceRegistry.maxNamespaces, token: nil)
                guard let ns = all.first(where: { $0.id == r.id }) else { throw HistoryError.notFound("Namespace \(r.id) is not found.") }
                return Self.describe(ns)
            }
            return Self.describe(try await namespaces.byName(r.namespace))
        }
    }

    func listNamespaces(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_ListNamespacesRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_ListNamespacesResponse> {
        try await call {
            let r = request.message
            let (list, token) = try await namespaces.list(
                pageSize: r.pageSize > 0 ? Int(r.pageSize) : 100, token: r.nextPageToken.isEmpty ? nil : Array(r.nextPageToken))
            var response = Temporal_Api_Workflowservice_V1_ListNamespacesResponse()
            response.namespaces = list.map(Self.describe)
            if let token { response.nextPageToken = Data(token) }
            return response
        }
    }

    func updateNamespace(
        request: ServerRequest<Temporal_Api_Workflowservice_V1_UpdateNamespaceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Workflowservice_V1_UpdateNamespaceResponse> {
        try await call {
            let r = request.message
            let ns = try await namespaces.update(r.namespace) { ns in
                if r.hasUpdateInfo {
                    if !r.updateInfo.description_p.isEmpty { ns.info.description_p = r.updateInfo.description_p }
                    if !r.updateInfo.ownerEmail.isEmpty { ns.info.ownerEmail = r.updateInfo.ownerEmail }
                    for (k, v) in r.updateInfo.data { ns.info.data[k] = v }
                }
                if r.hasConfig && r.config.hasWorkflowExecutionRetentionTtl {
                    ns.config.workflowExecutionRetentionTtl = r.config.workflowExecutionRetentionTtl
                }
            }
            let d = Self.describe(ns)
            var response = Temporal_Api_Workflowservice_V1_UpdateNamespaceResponse()
            response.namespaceInfo = d.namespaceInfo
            response.config = d.config
            response.replicationConfig = d.replicationConfig
            return response
        }
    }
}
