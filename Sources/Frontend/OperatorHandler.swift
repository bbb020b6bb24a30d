import GRPCCore
import History
import Persistence
import SwiftProtobuf
import TemporalAPI

typealias OS = Temporal_Api_Operatorservice_V1_OperatorService

/// OperatorService: search attributes (system ones built in, custom ones kept per namespace).
struct OperatorHandler: OS.ServiceProtocol {
    let namespaces: NamespaceRegistry
    /// Custom search attributes one namespace may register.
    static let maxCustomSearchAttributes = 100

    func listSearchAttributes(
        request: ServerRequest<Temporal_Api_Operatorservice_V1_ListSearchAttributesRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Operatorservice_V1_ListSearchAttributesResponse> {
        do {
            let ns = try await namespaces.byName(request.message.namespace.isEmpty ? "default" : request.message.namespace)
            var response = Temporal_Api_Operatorservice_V1_ListSearchAttributesResponse()
            response.systemAttributes = SearchAttributes.system
            response.customAttributes = ns.customSearchAttributes
            return ServerResponse(message: response)
        } catch {
            throw RPCErrors.map(error)
        }
    }

    func addSearchAttributes(
        request: ServerRequest<Temporal_Api_Operatorservice_V1_AddSearchAttributesRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Operatorservice_V1_AddSearchAttributesResponse> {
        do {
            let r = request.message
            _ = try await namespaces.update(r.namespace.isEmpty ? "default" : r.namespace) { ns in
                for (name, type) in r.searchAttributes {
                    guard !name.isEmpty else { throw HistoryError.invalidArgument("search attribute name is empty") }
                    if SearchAttributes.system[name] != nil {
                        throw HistoryError.invalidArgument("Search attribute \(name) is reserved by system.")
                    }
                    if let existing = ns.customSearchAttributes[name], existing != type {
                        throw HistoryError.invalidArgument("Search attribute \(name) already exists with type \(existing).")
                    }
                    ns.customSearchAttributes[name] = type
                }
                guard ns.customSearchAttributes.count <= OperatorHandler.maxCustomSearchAttributes else {
                    throw HistoryError.invalidArgument("at most \(OperatorHandler.maxCustomSearchAttributes) custom search attributes per namespace")
                }
            }
            return ServerResponse(message: Temporal_Api_Operatorservice_V1_AddSearchAttributesResponse())
        } catch {
            throw RPCErrors.map(error)
        }
    }

    func removeSearchAttributes(
        request: ServerRequest<Temporal_Api_Operatorservice_V1_RemoveSearchAttributesRequest>, context: ServerContext
    ) async throws -> ServerResponse<Temporal_Api_Operatorservice_V1_RemoveSearchAttributesResponse> {
        do {
            let r = request.message
            _ = try await namespaces.update(r.namespace.isEmpty ? "default" : r.namespace) { ns in
                for name in r.searchAttributes {
                    guard ns.customSearchAttributes.removeValue(forKey: name) != nil else {
                        throw HistoryError.notFound("Search attribute \(name) doesn't exist.")
                    }
                }
            }
            return ServerResponse(message: Temporal_Api_Operatorservice_V1_RemoveSearchAttributesResponse())
        } catch {
            throw RPCErrors.map(error)
        }
    }
}
