import GRPCCore
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing
@testable import LoadGenerator

/// The load generator's frame-level unary client, driven frame by frame on an embedded channel.
@Suite("Unary gRPC client")
struct UnaryCallHandlerTests {
    final class Harness {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let state = ConnectionState()
        private var nextCallID: UInt64 = 0

        init(windowBytes: Int = 65_535, maxResponseBytes: Int = 1 << 20) throws {
            channel = EmbeddedChannel(loop: loop)
            try channel.pipeline.syncOperations.addHandler(
                UnaryCallHandler(authority: "example:7233", windowBytes: windowBytes, maxResponseBytes: maxResponseBytes, state: state))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7233)).wait()
        }

        /// Starts a call; returns its id and its future response.
        func start(_ message: [UInt8] = [1, 2, 3], timeout: Duration? = nil) throws -> (UInt64, EventLoopFuture<[UInt8]>) {
            nextCallID += 1
            let promise = loop.makePromise(of: [UInt8].self)
            try channel.writeOutbound(
                UnaryCallCommand.start(UnaryCallRequest(callID: nextCallID, path: "/svc/Method", message: message, timeout: timeout, promise: promise)))
            return (nextCallID, promise.futureResult)
        }

        func sent() throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame) }
            return frames
        }

        func receive(_ streamID: Int32, _ payload: HTTP2Frame.FramePayload) throws {
            try channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(streamID), payload: payload))
        }

        func receiveResponse(_ streamID: Int32, message: [UInt8], status: String = "0") throws {
            try receive(streamID, .headers(.init(headers: [":status": "200", "content-type": "application/grpc"])))
            var body = ByteBuffer()
            body.writeInteger(UInt8(0))
            body.writeInteger(UInt32(message.count))
            body.writeBytes(message)
            try receive(streamID, .data(.init(data: .byteBuffer(body))))
            try receive(streamID, .headers(.init(headers: ["grpc-status": status], endStream: true)))
        }
    }

    /// The embedded loop runs callbacks synchronously, on this thread.
    final class Box<T>: @unchecked Sendable { var value: T? }

    static func error(of future: EventLoopFuture<[UInt8]>) -> RPCError? {
        let result = Box<RPCError>()
        future.whenFailure { result.value = $0 as? RPCError }
        return result.value
    }

    static func value(of future: EventLoopFuture<[UInt8]>) -> [UInt8]? {
        let result = Box<[UInt8]>()
        future.whenSuccess { result.value = $0 }
        return result.value
    }

    @Test func aCallSendsHeadersAndOneFramedMessageThenGetsTheResponse() throws {
        let h = try Harness()
        _ = try h.sent()
        let (_, response) = try h.start([7, 8, 9], timeout: .seconds(5))
        let frames = try h.sent()
        #expect(frames.count == 2)
        guard frames.count == 2, case .headers(let headers) = frames[0].payload, case .data(let data) = frames[1].payload,
            case .byteBuffer(let body) = data.data
        else {
            Issue.record("expected HEADERS then DATA, got \(frames)")
            return
        }
        #expect(frames[0].streamID == 1 && frames[1].streamID == 1)
        #expect(headers.headers.first(name: ":path") == "/svc/Method")
        #expect(headers.headers.first(name: ":authority") == "example:7233")
        #expect(headers.headers.first(name: "te") == "trailers")
        #expect(headers.headers.first(name: "grpc-timeout") == "5000000u")
        #expect(!headers.endStream && data.endStream)
        #expect(Array(body.readableBytesView) == [0, 0, 0, 0, 3, 7, 8, 9])

        try h.receiveResponse(1, message: [4, 5])
        #expect(Self.value(of: response) == [4, 5])

        // The next call takes the next client stream id.
        _ = try h.start()
        #expect(try h.sent().first?.streamID == 3)
    }

    @Test func aTrailersOnlyErrorCarriesItsCodeAndDecodedMessage() throws {
        let h = try Harness()
        let (_, response) = try h.start()
        try h.receive(1, .headers(.init(headers: [":status": "200", "grpc-status": "5", "grpc-message": "run%20not%20found%zz"], endStream: true)))
        let error = Self.error(of: response)
        #expect(error?.code == .notFound)
        #expect(error?.message == "run not found%zz")
    }

    @Test func statusesAfterABodyAndHTTPErrorsMapToCodes() throws {
        let h = try Harness()
        let (_, failed) = try h.start()
        try h.receiveResponse(1, message: [], status: "8")
        #expect(Self.error(of: failed)?.code == .resourceExhausted)

        let (_, http) = try h.start()
        try h.receive(3, .headers(.init(headers: [":status": "503"], endStream: true)))
        #expect(Self.error(of: http)?.code == .unavailable)

        let (_, missing) = try h.start()
        try h.receive(5, .headers(.init(headers: [":status": "200"])))
        try h.receive(5, .headers(.init(headers: ["x": "y"], endStream: true)))
        #expect(Self.error(of: missing)?.code == .internalError)
    }

    @Test func aResetStreamFailsOnlyItsCall() throws {
        let h = try Harness()
        let (_, first) = try h.start()
        let (_, second) = try h.start()
        try h.receive(3, .rstStream(.refusedStream))
        #expect(Self.error(of: second)?.code == .unavailable)
        try h.receiveResponse(1, message: [1])
        #expect(Self.value(of: first) == [1])
        #expect(h.state.isUsable)
    }

    @Test func goAwayFailsTheStreamsTheServerWillNotProcessAndRetiresTheConnection() throws {
        let h = try Harness()
        let (_, kept) = try h.start()
        let (_, dropped) = try h.start()
        try h.receive(0, .goAway(lastStreamID: 1, errorCode: .noError, opaqueData: nil))
        #expect(Self.error(of: dropped)?.code == .unavailable)
        #expect(!h.state.isUsable)
        let (_, refused) = try h.start()
        #expect(Self.error(of: refused)?.code == .unavailable)
        try h.receiveResponse(1, message: [2])
        #expect(Self.value(of: kept) == [2])
    }

    @Test func theDeadlineFailsTheCallAndResetsItsStream() throws {
        let h = try Harness()
        let (_, response) = try h.start(timeout: .milliseconds(500))
        _ = try h.sent()
        h.loop.advanceTime(by: .milliseconds(499))
        #expect(Self.error(of: response) == nil)
        h.loop.advanceTime(by: .milliseconds(1))
        #expect(Self.error(of: response)?.code == .deadlineExceeded)
        let reset = try h.sent()
        #expect(reset.count == 1 && reset.first?.streamID == 1)
        if case .rstStream(let code) = reset.first?.payload { #expect(code == .cancel) } else { Issue.record("expected RST_STREAM, got \(reset)") }
    }

    @Test func cancellingACallResetsItsStream() throws {
        let h = try Harness()
        let (callID, response) = try h.start()
        _ = try h.sent()
        try h.channel.writeOutbound(UnaryCallCommand.cancel(callID: callID))
        #expect(Self.error(of: response)?.code == .cancelled)
        let reset = try h.sent()
        if case .rstStream(let code) = reset.first?.payload { #expect(code == .cancel) } else { Issue.record("expected RST_STREAM, got \(reset)") }
        // A late answer on the reset stream is ignored.
        try h.receiveResponse(1, message: [1])
    }

    @Test func flowControlCreditIsReturnedForTheConnectionAndTheStream() throws {
        let h = try Harness(windowBytes: 200_000)
        // On connect: the connection window is raised from 65,535 to the configured size.
        let opening = try h.sent()
        #expect(opening.count == 1)
        if case .windowUpdate(let increment) = opening.first?.payload {
            #expect(opening.first?.streamID == .rootStream && increment == 200_000 - 65_535)
        } else {
            Issue.record("expected WINDOW_UPDATE, got \(opening)")
        }
        let (_, response) = try h.start()
        _ = try h.sent()
        try h.receive(1, .headers(.init(headers: [":status": "200"])))
        var chunk = ByteBuffer()
        chunk.writeInteger(UInt8(0))
        chunk.writeInteger(UInt32(100_000))
        chunk.writeBytes([UInt8](repeating: 9, count: 99_994))
        try h.receive(1, .data(.init(data: .byteBuffer(chunk))))
        #expect(try h.sent().isEmpty, "under half the window: no credit yet")
        try h.receive(1, .data(.init(data: .byteBuffer(ByteBuffer(bytes: [9, 9, 9, 9, 9, 9])))))
        let credit = try h.sent()
        let increments = credit.compactMap { frame -> (HTTP2StreamID, Int)? in
            if case .windowUpdate(let increment) = frame.payload { return (frame.streamID, increment) }
            return nil
        }
        #expect(increments.map(\.0) == [.rootStream, 1])
        #expect(increments.map(\.1) == [100_005, 100_005])
        try h.receive(1, .headers(.init(headers: ["grpc-status": "0"], endStream: true)))
        #expect(Self.value(of: response)?.count == 100_000)
    }

    @Test func aResponseOverTheLimitFailsWithResourceExhausted() throws {
        let h = try Harness(maxResponseBytes: 10)
        let (_, response) = try h.start()
        _ = try h.sent()
        try h.receive(1, .headers(.init(headers: [":status": "200"])))
        try h.receive(1, .data(.init(data: .byteBuffer(ByteBuffer(bytes: [UInt8](repeating: 0, count: 11))))))
        #expect(Self.error(of: response)?.code == .resourceExhausted)
        if case .rstStream = try h.sent().last?.payload {} else { Issue.record("expected RST_STREAM") }
    }

    @Test func theConnectionClosingFailsEveryCall() throws {
        let h = try Harness()
        let (_, first) = try h.start()
        let (_, second) = try h.start()
        try h.channel.close().wait()
        #expect(Self.error(of: first)?.code == .unavailable)
        #expect(Self.error(of: second)?.code == .unavailable)
        #expect(h.state.isClosed)
    }

    @Test(arguments: [
        (Duration.milliseconds(1500), "1500000u"),
        (.nanoseconds(1), "1u"),
        (.seconds(70), "70000000u"),
        (.seconds(1_000), "1000000m"),
        (.seconds(100_000), "100000S"),
        (.seconds(200_000_000), "99999999S"),
    ])
    func timeoutHeaders(timeout: Duration, header: String) {
        #expect(GRPCWire.timeoutHeader(timeout) == header)
    }

    @Test func malformedBodiesAreErrors() {
        #expect(throws: RPCError.self) { try GRPCWire.message(in: ByteBuffer(bytes: [0, 0, 0])) }
        #expect(throws: RPCError.self) { try GRPCWire.message(in: ByteBuffer(bytes: [1, 0, 0, 0, 1, 5])) }
        #expect(throws: RPCError.self) { try GRPCWire.message(in: ByteBuffer(bytes: [0, 0, 0, 0, 2, 5])) }
        #expect((try? GRPCWire.message(in: ByteBuffer(bytes: [0, 0, 0, 0, 1, 5]))) == [5])
    }
}
