import GRPCCore
import SwiftProtobuf

/// One unary method as `NativeGRPCServer` serves it: decode the request, run the service's
/// handler, encode the response. The tables are generated (`Generated/UnaryRoutes.swift`).
struct UnaryRoute: Sendable {
    let descriptor: MethodDescriptor
    let call: @Sendable (_ request: [UInt8], _ metadata: Metadata, _ context: ServerContext) async throws -> [UInt8]

    init<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) {
        self.descriptor = descriptor
        self.call = { bytes, metadata, context in
            let message: Input
            do {
                message = try Input(serializedBytes: bytes)
            } catch {
                throw RPCError(code: .invalidArgument, message: "the \(descriptor.method) request does not decode: \(error)")
            }
            let response = try await handler(ServerRequest(metadata: metadata, message: message), context)
            return try response.accepted.get().message.serializedBytes()
        }
    }

    /// `/package.Service/Method`, as HTTP/2 `:path` carries it.
    var path: String { "/" + descriptor.fullyQualifiedMethod }
}
