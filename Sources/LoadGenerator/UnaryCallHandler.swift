import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// What a caller sends down a connection's pipeline.
enum UnaryCallCommand {
    /// Starts a call: one request message on a new stream; `promise` gets the response message.
    case start(UnaryCallRequest)
    /// Ends a call early (its task was cancelled): RST_STREAM, and the promise fails with CANCELLED.
    case cancel(callID: UInt64)
}

struct UnaryCallRequest {
    var callID: UInt64
    var path: String
    var message: [UInt8]
    var timeout: Duration?
    var promise: EventLoopPromise<[UInt8]>
}

/// Unary gRPC calls over one HTTP/2 connection, at the frame level: it sits after
/// `NIOHTTP2Handler` (no stream multiplexer, no per-stream channels) and keeps one small record
/// per call in flight. It also returns flow-control credit, which the multiplexer would
/// otherwise do: the connection's window on start and whenever half of it is used, and a
/// stream's when half of its window is used.
///
/// Everything here runs on the connection's event loop.
final class UnaryCallHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = UnaryCallCommand
    typealias OutboundOut = HTTP2Frame

    private struct Call {
        var callID: UInt64
        var promise: EventLoopPromise<[UInt8]>
        var headersReceived = false
        var body: ByteBuffer?
        var unacknowledgedBytes = 0
        var deadline: Scheduled<Void>?
    }

    private let authority: String
    private let windowBytes: Int
    private let maxResponseBytes: Int
    private let state: ConnectionState
    private var nextStreamID = HTTP2StreamID(1)
    private var calls: [HTTP2StreamID: Call] = [:]
    private var streamOfCall: [UInt64: HTTP2StreamID] = [:]
    private var connectionUnacknowledged = 0
    /// After GOAWAY or a connection error no new stream is opened.
    private var closing = false

    init(authority: String, windowBytes: Int, maxResponseBytes: Int, state: ConnectionState) {
        self.authority = authority
        self.windowBytes = windowBytes
        self.maxResponseBytes = maxResponseBytes
        self.state = state
    }

    func channelActive(context: ChannelHandlerContext) {
        // The connection's receive window starts at 65,535 bytes whatever the settings say.
        let increment = windowBytes - 65_535
        if increment > 0 {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        }
        context.fireChannelActive()
    }

    // MARK: - Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .start(let request):
            start(request, context: context)
        case .cancel(let callID):
            if let streamID = streamOfCall[callID] {
                fail(streamID, RPCError(code: .cancelled, message: "the call was cancelled"), reset: .cancel, context: context)
            }
        }
        promise?.succeed()
    }

    private func start(_ request: UnaryCallRequest, context: ChannelHandlerContext) {
        guard !closing, nextStreamID < HTTP2StreamID(Int32.max - 1) else {
            request.promise.fail(RPCError(code: .unavailable, message: "the connection is closing"))
            return
        }
        let streamID = nextStreamID
        nextStreamID = HTTP2StreamID(Int32(streamID) + 2)
        var call = Call(callID: request.callID, promise: request.promise)
        // Callbacks run on this event loop, where the handler and its context live.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        if let timeout = request.timeout {
            let (seconds, attoseconds) = timeout.components
            call.deadline = context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                bound.value.handler.fail(
                    streamID, RPCError(code: .deadlineExceeded, message: "the call's deadline (\(timeout)) passed"), reset: .cancel,
                    context: bound.value.context)
            }
        }
        calls[streamID] = call
        streamOfCall[request.callID] = streamID

        var headers = HPACKHeaders()
        headers.reserveCapacity(8)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: "http")
        headers.add(name: ":path", value: request.path)
        headers.add(name: ":authority", value: authority)
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "te", value: "trailers")
        headers.add(name: "user-agent", value: "annals-bench")
        if let timeout = request.timeout { headers.add(name: "grpc-timeout", value: GRPCWire.timeoutHeader(timeout)) }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            bound.value.handler.fail(
                streamID, RPCError(code: .unavailable, message: "the request could not be sent: \(error)"), reset: nil, context: bound.value.context)
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers)))), promise: written)
        let body = GRPCWire.frame(request.message, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(body), endStream: true)))), promise: nil)
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            received(headers: headers.headers, endStream: headers.endStream, on: frame.streamID, context: context)
        case .data(let data):
            received(data: data, on: frame.streamID, context: context)
        case .rstStream(let code):
            let rpcCode: RPCError.Code = code == .refusedStream ? .unavailable : code == .cancel ? .cancelled : .internalError
            fail(frame.streamID, RPCError(code: rpcCode, message: "the server reset the stream (\(code))"), reset: nil, context: context)
        case .goAway(let lastStreamID, let code, _):
            closing = true
            state.markUnusable()
            // Streams above the last one the server will process were never seen: safe to retry.
            for streamID in calls.keys where streamID > lastStreamID {
                fail(streamID, RPCError(code: .unavailable, message: "the server is closing the connection (GOAWAY \(code))"), reset: nil, context: context)
            }
        default:
            break
        }
    }

    private func received(headers: HPACKHeaders, endStream: Bool, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard var call = calls[streamID] else { return }
        if !call.headersReceived {
            call.headersReceived = true
            calls[streamID] = call
            if let status = headers.first(name: ":status"), status != "200" {
                fail(streamID, GRPCWire.error(httpStatus: status), reset: endStream ? nil : .cancel, context: context)
                return
            }
            // A trailers-only response: the status is in these headers.
            if endStream { finish(streamID, trailers: headers, context: context) }
            return
        }
        guard endStream else {
            fail(streamID, RPCError(code: .internalError, message: "a second header block did not end the stream"), reset: .protocolError, context: context)
            return
        }
        finish(streamID, trailers: headers, context: context)
    }

    private func received(data: HTTP2Frame.FramePayload.Data, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard case .byteBuffer(var bytes) = data.data else { return }
        let flowControlled = bytes.readableBytes + (data.paddingBytes ?? 0)
        credit(connectionBytes: flowControlled, context: context)
        guard var call = calls[streamID] else { return }
        let total = (call.body?.readableBytes ?? 0) + bytes.readableBytes
        guard total <= maxResponseBytes else {
            fail(streamID, RPCError(code: .resourceExhausted, message: "the response is over \(maxResponseBytes) bytes"), reset: .cancel, context: context)
            return
        }
        if call.body == nil {
            call.body = bytes
        } else {
            call.body!.writeBuffer(&bytes)
        }
        call.unacknowledgedBytes += flowControlled
        if call.unacknowledgedBytes >= windowBytes / 2 && !data.endStream {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: call.unacknowledgedBytes))), promise: nil)
            call.unacknowledgedBytes = 0
        }
        calls[streamID] = call
        if data.endStream {
            fail(streamID, RPCError(code: .internalError, message: "the response ended without trailers"), reset: nil, context: context)
        }
    }

    private func credit(connectionBytes: Int, context: ChannelHandlerContext) {
        connectionUnacknowledged += connectionBytes
        if connectionUnacknowledged >= windowBytes / 2 {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionUnacknowledged))), promise: nil)
            connectionUnacknowledged = 0
        }
    }

    private func finish(_ streamID: HTTP2StreamID, trailers: HPACKHeaders, context: ChannelHandlerContext) {
        guard let call = remove(streamID) else { return }
        if let error = GRPCWire.error(fromTrailers: trailers) {
            call.promise.fail(error)
            return
        }
        do {
            call.promise.succeed(try GRPCWire.message(in: call.body ?? ByteBuffer()))
        } catch {
            call.promise.fail(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            // Frames are delivered before the stream's close: a call still here got no status.
            fail(closed.streamID, RPCError(code: .unavailable, message: "the stream closed without a status (\(closed.reason.map { "\($0)" } ?? "no error"))"), reset: nil, context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            fail(streamError.streamID, RPCError(code: .internalError, message: "HTTP/2 stream error: \(streamError.baseError)"), reset: nil, context: context)
            return
        }
        closing = true
        state.markUnusable()
        failAll(RPCError(code: .unavailable, message: "the connection failed: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        state.markClosed()
        failAll(RPCError(code: .unavailable, message: "the connection closed"))
        context.fireChannelInactive()
    }

    // MARK: - Ending calls

    private func remove(_ streamID: HTTP2StreamID) -> Call? {
        guard let call = calls.removeValue(forKey: streamID) else { return nil }
        streamOfCall[call.callID] = nil
        call.deadline?.cancel()
        return call
    }

    private func fail(_ streamID: HTTP2StreamID, _ error: RPCError, reset: HTTP2ErrorCode?, context: ChannelHandlerContext) {
        guard let call = remove(streamID) else { return }
        if let reset, context.channel.isActive {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(reset))), promise: nil)
        }
        call.promise.fail(error)
    }

    private func failAll(_ error: RPCError) {
        let pending = calls
        calls = [:]
        streamOfCall = [:]
        for call in pending.values {
            call.deadline?.cancel()
            call.promise.fail(error)
        }
    }
}
