import Foundation
import GRPCCore
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import Synchronization
import TemporalAPI
import Testing
@testable import Frontend

/// A WorkflowService with no methods of its own: every route falls back to the generated defaults.
private struct UnimplementedWorkflowService: Temporal_Api_Workflowservice_V1_WorkflowService.ServiceProtocol {}
private struct UnimplementedOperatorService: Temporal_Api_Operatorservice_V1_OperatorService.ServiceProtocol {}

/// The frontend's frame-level gRPC server, driven frame by frame on a test channel.
@Suite("Native gRPC server")
struct UnaryServerHandlerTests {
    static let healthPath = "/grpc.health.v1.Health/Check"
    static let workflowService = "temporal.api.workflowservice.v1.WorkflowService"

    /// A route that answers after `release` is signalled (or is cancelled), recording cancellation.
    final class Gate: Sendable {
        let cancelled = Mutex(false)
        let entered = Mutex(false)
    }

    static func routes(gate: Gate = Gate()) -> [UnaryRoute] {
        let slow = MethodDescriptor(fullyQualifiedService: "test.Slow", method: "Wait")
        let failing = MethodDescriptor(fullyQualifiedService: "test.Failing", method: "Fail")
        return HealthHandler().unaryRoutes() + [
            UnaryRoute(slow) { (_: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, _) -> ServerResponse<Grpc_Health_V1_HealthCheckResponse> in
                gate.entered.withLock { $0 = true }
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    gate.cancelled.withLock { $0 = true }
                    throw error
                }
                return ServerResponse(message: Grpc_Health_V1_HealthCheckResponse())
            },
            UnaryRoute(failing) { (_: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, _) -> ServerResponse<Grpc_Health_V1_HealthCheckResponse> in
                throw RPCErrors.withDetails(
                    code: .alreadyExists, message: "already started: 100% ✓",
                    detail: Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure.with { $0.runID = "run-1" })
            },
        ]
    }

    static func channel(gate: Gate = Gate(), maxRequestBytes: Int = 1 << 20, maxBuffered: Int = 1 << 30) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        let table = Dictionary(uniqueKeysWithValues: routes(gate: gate).map { ($0.path, $0) })
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                UnaryServerHandler(
                    routes: table, limits: .init(maxRequestBytes: maxRequestBytes, windowBytes: 65_535, maxBufferedRequestBytes: maxBuffered)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7233))
        return channel
    }

    static func requestHeaders(_ path: String, extra: [(String, String)] = []) -> HPACKHeaders {
        var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, "content-type": "application/grpc", "te": "trailers"]
        for (name, value) in extra { headers.add(name: name, value: value) }
        return headers
    }

    static func framed(_ message: [UInt8], compressed: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(compressed ? 1 : 0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    static func send(_ channel: NIOAsyncTestingChannel, stream: Int32 = 1, path: String, message: [UInt8], compressed: Bool = false, extra: [(String, String)] = []) async throws {
        try await channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: requestHeaders(path, extra: extra)))))
        try await channel.writeInbound(
            HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .data(.init(data: .byteBuffer(framed(message, compressed: compressed)), endStream: true))))
    }

    struct NoFrame: Error {}

    /// The next frame the handler writes, waiting at most 5 s (a handler that never answers fails
    /// the test instead of hanging it).
    static func anyFrame(_ channel: NIOAsyncTestingChannel) async throws -> HTTP2Frame {
        for _ in 0..<1_000 {
            if let frame = try await channel.readOutbound(as: HTTP2Frame.self) { return frame }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw NoFrame()
    }

    /// The next frame the handler writes that is not the opening connection WINDOW_UPDATE.
    static func nextFrame(_ channel: NIOAsyncTestingChannel) async throws -> HTTP2Frame {
        while true {
            let frame = try await anyFrame(channel)
            if case .windowUpdate = frame.payload, frame.streamID == .rootStream { continue }
            return frame
        }
    }

    static func headers(_ frame: HTTP2Frame) -> (HPACKHeaders, Bool)? {
        if case .headers(let headers) = frame.payload { return (headers.headers, headers.endStream) }
        return nil
    }

    static let healthRequest: [UInt8] = try! Grpc_Health_V1_HealthCheckRequest.with { $0.service = workflowService }.serializedBytes()

    @Test func aCallIsAnsweredWithHeadersOneMessageAndOKTrailers() async throws {
        let channel = try await Self.channel()
        try await Self.send(channel, path: Self.healthPath, message: Self.healthRequest)
        let head = try await Self.nextFrame(channel)
        #expect(Self.headers(head)?.0.first(name: ":status") == "200")
        #expect(Self.headers(head)?.0.first(name: "content-type") == "application/grpc")
        #expect(Self.headers(head)?.1 == false)
        let data = try await Self.nextFrame(channel)
        guard case .data(let payload) = data.payload, case .byteBuffer(var body) = payload.data else {
            Issue.record("expected DATA, got \(data)")
            return
        }
        #expect(body.readInteger(as: UInt8.self) == 0)
        let length = body.readInteger(as: UInt32.self) ?? 0
        let response = try Grpc_Health_V1_HealthCheckResponse(serializedBytes: body.readBytes(length: Int(length)) ?? [])
        #expect(response.status == .serving)
        let trailers = try await Self.nextFrame(channel)
        #expect(Self.headers(trailers)?.0.first(name: "grpc-status") == "0")
        #expect(Self.headers(trailers)?.1 == true)
        #expect(head.streamID == 1 && data.streamID == 1 && trailers.streamID == 1)
    }

    @Test func aGzipRequestIsInflated() async throws {
        // gzip (Python's gzip.compress, mtime 0) of the health request above.
        let gzipped: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 227, 210, 47, 73, 205, 45, 200, 47, 74, 204, 209, 75, 44, 200, 212, 43, 207, 47, 202, 78, 203,
            201, 47, 47, 78, 45, 42, 203, 76, 78, 213, 43, 51, 212, 11, 135, 10, 5, 67, 132, 0, 116, 3, 11, 189, 49, 0, 0, 0,
        ]
        #expect((try? RequestDecompression.inflate(gzipped, encoding: "gzip", limit: 1_000)) == Self.healthRequest)
        let channel = try await Self.channel()
        try await Self.send(channel, path: Self.healthPath, message: gzipped, compressed: true, extra: [("grpc-encoding", "gzip")])
        #expect(Self.headers(try await Self.nextFrame(channel))?.0.first(name: ":status") == "200")
        _ = try await Self.nextFrame(channel)
        #expect(Self.headers(try await Self.nextFrame(channel))?.0.first(name: "grpc-status") == "0")
    }

    @Test func decompressionRefusesMalformedDataAndOversizedOutput() {
        #expect(throws: RPCError.self) { try RequestDecompression.inflate([31, 139, 8, 0, 1, 2, 3], encoding: "gzip", limit: 1_000) }
        #expect(throws: RPCError.self) { try RequestDecompression.inflate([1, 2, 3], encoding: "br", limit: 1_000) }
        // 2,000 zero bytes, gzip (Python's gzip.compress, mtime 0), against a 1,000-byte limit.
        let zeros: [UInt8] = [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 99, 96, 24, 5, 163, 96, 20, 140, 130, 81, 48, 10, 70, 193, 80, 7, 0, 68, 244, 201, 2, 208, 7, 0, 0]
        do {
            _ = try RequestDecompression.inflate(zeros, encoding: "gzip", limit: 1_000)
            Issue.record("inflated past the limit")
        } catch {
            #expect(error.code == .resourceExhausted)
        }
        #expect((try? RequestDecompression.inflate(zeros, encoding: "gzip", limit: 2_000))?.count == 2_000)
    }

    @Test(arguments: [
        ("/temporal.api.workflowservice.v1.WorkflowService/NoSuchMethod", "unknown method NoSuchMethod for service temporal.api.workflowservice.v1.WorkflowService"),
        ("/no.such.Service/Method", "unknown service no.such.Service"),
        ("/", "malformed method path /"),
    ])
    func unknownPathsAreUnimplemented(path: String, message: String) async throws {
        let channel = try await Self.channel()
        try await Self.send(channel, path: path, message: [])
        let answer = try await Self.nextFrame(channel)
        #expect(Self.headers(answer)?.1 == true, "a trailers-only response")
        #expect(Self.headers(answer)?.0.first(name: "grpc-status") == String(RPCError.Code.unimplemented.rawValue))
        #expect(Self.headers(answer)?.0.first(name: "grpc-message") == message)
    }

    @Test func anErrorCarriesItsCodeEncodedMessageAndDetails() async throws {
        let channel = try await Self.channel()
        try await Self.send(channel, path: "/test.Failing/Fail", message: [])
        guard let (headers, endStream) = Self.headers(try await Self.nextFrame(channel)) else {
            Issue.record("expected HEADERS")
            return
        }
        #expect(endStream)
        #expect(headers.first(name: "grpc-status") == String(RPCError.Code.alreadyExists.rawValue))
        #expect(headers.first(name: "grpc-message") == "already started: 100%25 %E2%9C%93")
        let details = try #require(headers.first(name: "grpc-status-details-bin").flatMap(GRPCServerWire.base64Decoded))
        let status = try Google_Rpc_Status(serializedBytes: details)
        #expect(status.details.first?.isA(Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure.self) == true)
    }

    @Test func anOversizedRequestIsResourceExhausted() async throws {
        let channel = try await Self.channel(maxRequestBytes: 10)
        try await Self.send(channel, path: Self.healthPath, message: [UInt8](repeating: 0, count: 11))
        #expect(Self.headers(try await Self.nextFrame(channel))?.0.first(name: "grpc-status") == String(RPCError.Code.resourceExhausted.rawValue))
    }

    @Test func unfinishedRequestsTogetherAreBoundedPerConnection() async throws {
        let channel = try await Self.channel(maxBuffered: 100)
        for stream: Int32 in [1, 3] {
            try await channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: Self.requestHeaders(Self.healthPath)))))
        }
        // 60 bytes on stream 1, not ended: held.
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [UInt8](repeating: 0, count: 60)))))))
        // 60 more on stream 3 would hold 120: refused.
        try await channel.writeInbound(HTTP2Frame(streamID: 3, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [UInt8](repeating: 0, count: 60)))))))
        let refused = try await Self.nextFrame(channel)
        #expect(refused.streamID == 3)
        #expect(Self.headers(refused)?.0.first(name: "grpc-status") == String(RPCError.Code.resourceExhausted.rawValue))
        // Once stream 1 is reset its bytes are let go, and a new call fits again.
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .rstStream(.cancel)))
        try await Self.send(channel, stream: 5, path: Self.healthPath, message: Self.healthRequest)
        #expect(Self.headers(try await Self.nextFrame(channel))?.0.first(name: ":status") == "200")
    }

    @Test func aBodyThatIsNotOneMessageIsRejected() async throws {
        let channel = try await Self.channel()
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: Self.requestHeaders(Self.healthPath)))))
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 9, 1])), endStream: true))))
        #expect(Self.headers(try await Self.nextFrame(channel))?.0.first(name: "grpc-status") == String(RPCError.Code.internalError.rawValue))
    }

    @Test func theClientResettingTheStreamCancelsTheCall() async throws {
        let gate = Gate()
        let channel = try await Self.channel(gate: gate)
        try await Self.send(channel, path: "/test.Slow/Wait", message: [])
        for _ in 0..<500 where !gate.entered.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .rstStream(.cancel)))
        for _ in 0..<500 where !gate.cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(gate.cancelled.withLock { $0 })
    }

    @Test func theClientsDeadlineEndsTheCall() async throws {
        let gate = Gate()
        let channel = try await Self.channel(gate: gate)
        try await Self.send(channel, path: "/test.Slow/Wait", message: [], extra: [("grpc-timeout", "200m")])
        await channel.testingEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try await Self.nextFrame(channel)
        #expect(Self.headers(answer)?.0.first(name: "grpc-status") == String(RPCError.Code.deadlineExceeded.rawValue))
        for _ in 0..<500 where !gate.cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(gate.cancelled.withLock { $0 })
    }

    @Test func drainingCancelsCallsStillRunningAfterTheGracePeriod() async throws {
        let gate = Gate()
        let channel = try await Self.channel(gate: gate)
        try await Self.send(channel, path: "/test.Slow/Wait", message: [])
        for _ in 0..<500 where !gate.entered.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try await channel.triggerUserOutboundEvent(DrainConnection())
        guard case .goAway = try await Self.nextFrame(channel).payload else {
            Issue.record("expected GOAWAY")
            return
        }
        await channel.testingEventLoop.advanceTime(by: .milliseconds(1_999))
        #expect(!gate.cancelled.withLock { $0 }, "cancelled before the grace period ended")
        await channel.testingEventLoop.advanceTime(by: .milliseconds(1))
        for _ in 0..<500 where !gate.cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(gate.cancelled.withLock { $0 })
        // The cancelled call still answers, and then the connection closes.
        #expect(Self.headers(try await Self.nextFrame(channel))?.1 == true)
        try await channel.closeFuture.get()
    }

    @Test func flowControlCreditIsReturnedForTheConnectionAndTheStream() async throws {
        let channel = try await Self.channel()
        // The connection window is raised on connect: nothing to raise at 65,535 bytes.
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: Self.requestHeaders(Self.healthPath)))))
        // Half of the 65,535-byte window (32,767 bytes) in two DATA frames; the request is not over.
        var first = ByteBuffer()
        first.writeInteger(UInt8(0))
        first.writeInteger(UInt32(40_000))
        first.writeBytes([UInt8](repeating: 0, count: 30_000))
        try await channel.writeInbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(first)))))
        #expect(try await channel.readOutbound(as: HTTP2Frame.self) == nil, "under half the window: no credit yet")
        try await channel.writeInbound(
            HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [UInt8](repeating: 0, count: 3_000)))))))
        var increments: [(HTTP2StreamID, Int)] = []
        for _ in 0..<2 {
            let frame = try await Self.anyFrame(channel)
            if case .windowUpdate(let increment) = frame.payload { increments.append((frame.streamID, increment)) }
        }
        #expect(increments.map(\.0) == [.rootStream, 1])
        #expect(increments.map(\.1) == [33_005, 33_005])
    }

    @Test func drainingSendsGoAwayAndClosesOnceCallsHaveAnswered() async throws {
        let channel = try await Self.channel()
        try await channel.writeInbound(HTTP2Frame(streamID: 3, payload: .headers(.init(headers: Self.requestHeaders(Self.healthPath)))))
        try await channel.triggerUserOutboundEvent(DrainConnection())
        let goAway = try await Self.nextFrame(channel)
        guard case .goAway(let lastStreamID, let code, _) = goAway.payload else {
            Issue.record("expected GOAWAY, got \(goAway)")
            return
        }
        #expect(lastStreamID == 3 && code == .noError)
        #expect(channel.isActive, "a call is still in flight")
        try await channel.writeInbound(
            HTTP2Frame(streamID: 3, payload: .data(.init(data: .byteBuffer(Self.framed(Self.healthRequest)), endStream: true))))
        for _ in 0..<3 { _ = try await Self.nextFrame(channel) }
        try await channel.closeFuture.get()
    }

    @Test func theRouteTablesNameEveryGeneratedMethod() async throws {
        let workflowPaths = Set(UnimplementedWorkflowService().unaryRoutes().map(\.path))
        let expectedWorkflow = Set(Temporal_Api_Workflowservice_V1_WorkflowService.Method.descriptors.map { "/\($0.service.fullyQualifiedService)/\($0.method)" })
        #expect(workflowPaths == expectedWorkflow)
        #expect(workflowPaths.count == 123)
        let operatorPaths = Set(UnimplementedOperatorService().unaryRoutes().map(\.path))
        #expect(operatorPaths == Set(Temporal_Api_Operatorservice_V1_OperatorService.Method.descriptors.map { "/\($0.service.fullyQualifiedService)/\($0.method)" }))
        // A method the service does not implement answers with the generated default.
        let route = try #require(UnimplementedWorkflowService().unaryRoutes().first { $0.descriptor.method == "StartWorkflowExecution" })
        let context = ServerContext(descriptor: route.descriptor, remotePeer: "test", localPeer: "test", cancellation: ServerContext.RPCCancellationHandle())
        do {
            _ = try await route.call([], [:], context)
            Issue.record("the default implementation answered")
        } catch let error as RPCError {
            #expect(error.code == .unimplemented)
            #expect(error.message == "unknown method StartWorkflowExecution for service \(Self.workflowService)")
        }
    }
}
