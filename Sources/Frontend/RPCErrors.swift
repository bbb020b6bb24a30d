import GRPCCore
import History
import SwiftProtobuf
import TemporalAPI

/// Maps the history service's errors to the gRPC statuses and details Temporal's SDKs parse
/// (ALREADY_EXISTS with WorkflowExecutionAlreadyStartedFailure details, NOT_FOUND, ...).
enum RPCErrors {
    static func map(_ error: any Error) -> RPCError {
        if let rpc = error as? RPCError { return rpc }
        let history = HistoryError.from(error)
        switch history {
        case .invalidArgument(let m): return RPCError(code: .invalidArgument, message: m)
        case .notFound(let m): return RPCError(code: .notFound, message: m)
        case .workflowAlreadyStarted(let m, let requestID, let runID):
            var failure = Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure()
            failure.startRequestID = requestID
            failure.runID = runID
            return withDetails(code: .alreadyExists, message: m, detail: failure)
        case .failedPrecondition(let m): return RPCError(code: .failedPrecondition, message: m)
        case .namespaceAlreadyExists(let m):
            return withDetails(code: .alreadyExists, message: m, detail: Temporal_Api_Errordetails_V1_NamespaceAlreadyExistsFailure())
        case .resourceExhausted(let m): return RPCError(code: .resourceExhausted, message: m)
        case .unavailable(let m): return RPCError(code: .unavailable, message: m)
        case .internal(let m): return RPCError(code: .internalError, message: m)
        case .queryFailed(let m):
            return withDetails(code: .invalidArgument, message: m, detail: Temporal_Api_Errordetails_V1_QueryFailedFailure())
        case .deadlineExceeded(let m): return RPCError(code: .deadlineExceeded, message: m)
        }
    }

    /// An error whose `grpc-status-details-bin` trailer carries a google.rpc.Status with one detail.
    static func withDetails(code: RPCError.Code, message: String, detail: some SwiftProtobuf.Message) -> RPCError {
        var status = Google_Rpc_Status()
        status.code = Int32(code.rawValue)
        status.message = message
        if let any = try? Google_Protobuf_Any(message: detail) { status.details = [any] }
        var metadata = Metadata()
        if let bytes: [UInt8] = try? status.serializedBytes() {
            metadata.addBinary(bytes, forKey: "grpc-status-details-bin")
        }
        return RPCError(code: code, message: message, metadata: metadata)
    }
}
