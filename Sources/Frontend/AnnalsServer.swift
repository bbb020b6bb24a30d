import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import History
import Matching
import Persistence
import StorageEngine
import TemporalAPI

/// The composition root: the store, persistence, the history engine (with matching and timers)
/// and the gRPC frontend, in one process. Usable as a library (embedded servers, tests).
public final class AnnalsServer: Sendable {
    public let configuration: ServerConfiguration
    public let engine: HistoryEngine
    let persistence: StorePersistence
    let frontend: Frontend
    let log: ServerLog

    /// The gRPC server in front of the handlers (`ServerConfiguration.transport`).
    enum Frontend: Sendable {
        case native(NativeGRPCServer, address: String)
        case grpcSwift(GRPCServer<HTTP2ServerTransport.Posix>, HTTP2ServerTransport.Posix)
    }

    private init(
        configuration: ServerConfiguration, engine: HistoryEngine, persistence: StorePersistence, frontend: Frontend, log: ServerLog
    ) {
        self.configuration = configuration
        self.engine = engine
        self.persistence = persistence
        self.frontend = frontend
        self.log = log
    }

    static let clusterName = "annals"

    /// Opens the data directory (recovering it), takes over its shards and prepares the gRPC
    /// server; `run()` then serves.
    public static func open(_ configuration: ServerConfiguration) async throws -> AnnalsServer {
        var configuration = configuration
        let log = ServerLog(level: configuration.logLevel)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let persistence = try StorePersistence.open(directory: configuration.dataDirectory)
        do {
            configuration = try await fixShardCount(configuration, persistence: persistence)
            let namespaces = NamespaceRegistry(store: persistence)
            if (try? await namespaces.byName(configuration.defaultNamespace)) == nil {
                _ = try await namespaces.register(name: configuration.defaultNamespace, description: "created on first start", ownerEmail: "", retention: nil)
                log(.info, "created namespace \(configuration.defaultNamespace)")
            }
            var history = HistoryConfiguration(shardCount: configuration.shardCount)
            history.longPollExpiry = configuration.longPollExpiry
            history.historyLongPollExpiry = configuration.historyLongPollExpiry
            let engine = try await HistoryEngine.start(persistence: persistence, configuration: history, logger: { log(.info, $0) })
            let workflow = WorkflowHandler(engine: engine, namespaces: namespaces, visibility: persistence, configuration: configuration)
            let operatorService = OperatorHandler(namespaces: namespaces)
            let health = HealthHandler()
            let frontend: Frontend
            switch configuration.transport {
            case .native:
                let server = NativeGRPCServer(routes: workflow.unaryRoutes() + operatorService.unaryRoutes() + health.unaryRoutes())
                do {
                    frontend = .native(server, address: try await server.bind(host: configuration.host, port: configuration.port))
                } catch {
                    await engine.shutdown()
                    throw ListenError(address: "\(configuration.host):\(configuration.port)", underlying: error)
                }
            case .grpcSwift:
                let transport = GRPCSwiftTransport.make(host: configuration.host, port: configuration.port)
                frontend = .grpcSwift(GRPCServer(transport: transport, services: [workflow, operatorService, health]), transport)
            }
            return AnnalsServer(configuration: configuration, engine: engine, persistence: persistence, frontend: frontend, log: log)
        } catch {
            await persistence.close()
            throw error
        }
    }

    /// The shard count is chosen when the directory is created and kept in cluster metadata:
    /// workflows are placed by it, so a different `--shards` later would lose them.
    static func fixShardCount(_ configuration: ServerConfiguration, persistence: StorePersistence) async throws -> ServerConfiguration {
        var configuration = configuration
        if let record = try await persistence.getClusterMetadata(clusterName: clusterName) {
            let json = try JSONSerialization.jsonObject(with: Data(record.data)) as? [String: Any]
            guard let shards = json?["shards"] as? Int, let id = json?["clusterId"] as? String else {
                throw HistoryError.internal("cluster metadata in \(configuration.dataDirectory) does not decode")
            }
            if shards != configuration.shardCount {
                FileHandle.standardError.write(Data("annals: \(configuration.dataDirectory) was created with \(shards) shards; using \(shards) (not \(configuration.shardCount))\n".utf8))
            }
            configuration.shardCount = shards
            configuration.clusterID = id
        } else {
            let id = UUID().uuidString.lowercased()
            let data = try JSONSerialization.data(withJSONObject: ["shards": configuration.shardCount, "clusterId": id])
            try await persistence.saveClusterMetadata(ClusterMetadataRecord(clusterName: clusterName, version: 1, data: Array(data)))
            configuration.clusterID = id
        }
        return configuration
    }

    /// Serves until `shutdown()`. Calls `ready` with the bound address once listening.
    public func run(ready: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        switch frontend {
        case .native(let server, let address):
            ready(address)
            try await server.serve()
        case .grpcSwift(let grpc, let transport):
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await grpc.serve() }
                ready("\(try await transport.listeningAddress)")
                try await group.next()
            }
        }
        await engine.shutdown()
        await persistence.close()
    }

    /// Stops accepting calls, lets in-flight calls finish, then `run()` closes the store.
    public func shutdown() {
        engine.workflowMatcher.close()
        engine.activityMatcher.close()
        switch frontend {
        case .native(let server, _): server.beginGracefulShutdown()
        case .grpcSwift(let grpc, _): grpc.beginGracefulShutdown()
        }
    }
}

/// The server could not listen on its address (in use, not local, not a host).
struct ListenError: Error, CustomStringConvertible {
    let address: String
    let underlying: any Error
    var description: String { "cannot listen on \(address): \(underlying)" }
}
