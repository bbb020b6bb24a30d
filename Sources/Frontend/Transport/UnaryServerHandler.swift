import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Tells a connection to stop taking calls: GOAWAY, then close once its calls have answered.
struct DrainConnection: Sendable {}

/// The server side of unary gRPC over one HTTP/2 connection, at the frame level: it sits after
/// `NIOHTTP2Handler` (no stream multiplexer, no per-stream channels) and keeps one record per
/// call. A call's request is collected from its DATA frames; at END_STREAM the route runs in a
/// task of its own, and its answer is written back on this event loop as HEADERS, DATA and
/// trailers (or one trailers-only HEADERS for an error).
///
/// It returns flow-control credit itself (with no multiplexer nothing else does), cancels a
/// call's task when the client resets its stream or the connection goes, and enforces the
/// client's `grpc-timeout`. Everything here runs on the connection's event loop.
final class UnaryServerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct Limits {
        var maxRequestBytes: Int
        var windowBytes: Int
        /// Request bytes held for calls whose request has not ended yet, all streams together.
        var maxBufferedRequestBytes: Int
        /// After GOAWAY, how long calls may run before their tasks are cancelled (long polls
        /// then answer at once, as when the client leaves).
        var drainGrace: TimeAmount = .seconds(2)
    }

    private struct Call {
        var route: UnaryRoute
        var metadata: Metadata
        var encoding: String?
        var body: ByteBuffer?
        var unacknowledgedBytes = 0
        var task: Task<Void, Never>?
        var deadline: Scheduled<Void>?
    }

    private let routes: [String: UnaryRoute]
    private let limits: Limits
    /// Calls whose request is arriving or whose route is running, by stream.
    private var calls: [HTTP2StreamID: Call] = [:]
    /// Streams already answered (an early error) whose remaining frames are ignored.
    private var answered: Set<HTTP2StreamID> = []
    private var connectionUnacknowledged = 0
    /// The bytes of every `Call.body` (bounded by `limits.maxBufferedRequestBytes`).
    private var bufferedRequestBytes = 0
    private var highestStreamID = HTTP2StreamID(0)
    private var draining = false
    private var remotePeer = "unknown"
    private var localPeer = "unknown"

    init(routes: [String: UnaryRoute], limits: Limits) {
        self.routes = routes
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        remotePeer = context.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        localPeer = context.channel.localAddress.map { "\($0)" } ?? "unknown"
        let increment = limits.windowBytes - 65_535
        if increment > 0 {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        }
        context.fireChannelActive()
    }

    // MARK: - Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if calls[frame.streamID] == nil && !answered.contains(frame.streamID) {
                open(frame.streamID, headers: headers.headers, endStream: headers.endStream, context: context)
            } else if headers.endStream {
                // Trailers from the client end its half of the stream.
                requestEnded(frame.streamID, context: context)
            }
        case .data(let data):
            received(data, on: frame.streamID, context: context)
        case .rstStream:
            answered.remove(frame.streamID)
            if let call = calls.removeValue(forKey: frame.streamID) { end(call) }
        default:
            break
        }
    }

    private func open(_ streamID: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool, context: ChannelHandlerContext) {
        highestStreamID = max(highestStreamID, streamID)
        guard !draining else {
            reject(streamID, RPCError(code: .unavailable, message: "the server is shutting down"), endStream: endStream, context: context)
            return
        }
        guard headers.first(name: ":method") == "POST" else {
            reject(streamID, RPCError(code: .unimplemented, message: "gRPC calls are POST requests"), endStream: endStream, context: context)
            return
        }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            reject(streamID, RPCError(code: .internalError, message: "the content-type is not application/grpc"), endStream: endStream, context: context)
            return
        }
        let path = headers.first(name: ":path") ?? ""
        guard let route = routes[path] else {
            reject(streamID, Self.unknownPath(path), endStream: endStream, context: context)
            return
        }
        let encoding = headers.first(name: "grpc-encoding").flatMap { $0 == "identity" ? nil : $0 }
        var call = Call(route: route, metadata: GRPCServerWire.metadata(from: headers), encoding: encoding)
        if let timeout = CallDeadline.timeout(call.metadata) {
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let (seconds, attoseconds) = timeout.components
            call.deadline = context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                bound.value.handler.deadlinePassed(streamID, context: bound.value.context)
            }
        }
        calls[streamID] = call
        if endStream { requestEnded(streamID, context: context) }
    }

    /// The status for a path no route serves: the wording the SDKs treat as "not implemented".
    static func unknownPath(_ path: String) -> RPCError {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == 2 else { return RPCError(code: .unimplemented, message: "malformed method path \(path)") }
        let knownService = [
            "temporal.api.workflowservice.v1.WorkflowService", "temporal.api.operatorservice.v1.OperatorService", "grpc.health.v1.Health",
        ].contains(String(parts[0]))
        return knownService
            ? RPCError(code: .unimplemented, message: "unknown method \(parts[1]) for service \(parts[0])")
            : RPCError(code: .unimplemented, message: "unknown service \(parts[0])")
    }

    private func received(_ data: HTTP2Frame.FramePayload.Data, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard case .byteBuffer(var bytes) = data.data else { return }
        let flowControlled = bytes.readableBytes + (data.paddingBytes ?? 0)
        connectionUnacknowledged += flowControlled
        if connectionUnacknowledged >= limits.windowBytes / 2 {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionUnacknowledged))), promise: nil)
            connectionUnacknowledged = 0
        }
        guard var call = calls[streamID], call.task == nil else {
            if data.endStream { answered.remove(streamID) }
            return
        }
        let overLimit: RPCError?
        if (call.body?.readableBytes ?? 0) + bytes.readableBytes > limits.maxRequestBytes + 5 {
            overLimit = RPCError(code: .resourceExhausted, message: "the request is over the server's limit of \(limits.maxRequestBytes) bytes")
        } else if bufferedRequestBytes + bytes.readableBytes > limits.maxBufferedRequestBytes {
            overLimit = RPCError(
                code: .resourceExhausted,
                message: "the connection's unfinished requests are over the server's limit of \(limits.maxBufferedRequestBytes) bytes")
        } else {
            overLimit = nil
        }
        if let overLimit {
            calls[streamID] = nil
            end(call)
            reject(streamID, overLimit, endStream: data.endStream, context: context)
            return
        }
        bufferedRequestBytes += bytes.readableBytes
        if call.body == nil { call.body = bytes } else { call.body!.writeBuffer(&bytes) }
        call.unacknowledgedBytes += flowControlled
        if call.unacknowledgedBytes >= limits.windowBytes / 2 && !data.endStream {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: call.unacknowledgedBytes))), promise: nil)
            call.unacknowledgedBytes = 0
        }
        calls[streamID] = call
        if data.endStream { requestEnded(streamID, context: context) }
    }

    /// The client's half is complete: decode the one message and run the route.
    private func requestEnded(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        answered.remove(streamID)
        guard var call = calls[streamID], call.task == nil else { return }
        let message: [UInt8]
        do {
            message = try Self.message(in: call.body ?? ByteBuffer(), encoding: call.encoding, limit: limits.maxRequestBytes)
        } catch {
            calls[streamID] = nil
            end(call)
            reject(streamID, error, endStream: true, context: context)
            return
        }
        bufferedRequestBytes -= call.body?.readableBytes ?? 0
        call.body = nil
        let route = call.route
        let serverContext = ServerContext(
            descriptor: route.descriptor, remotePeer: remotePeer, localPeer: localPeer, cancellation: ServerContext.RPCCancellationHandle())
        let metadata = call.metadata
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        call.task = Task {
            let result: Result<[UInt8], RPCError>
            do {
                result = .success(try await route.call(message, metadata, serverContext))
            } catch let error as RPCError {
                result = .failure(error)
            } catch {
                result = .failure(RPCError(code: .unknown, message: "\(error)"))
            }
            loop.execute { bound.value.handler.routeFinished(streamID, result, context: bound.value.context) }
        }
        calls[streamID] = call
    }

    /// The request's single message, inflated when it is compressed.
    static func message(in body: ByteBuffer, encoding: String?, limit: Int) throws(RPCError) -> [UInt8] {
        var body = body
        guard let flag = body.readInteger(as: UInt8.self), let length = body.readInteger(as: UInt32.self) else {
            throw RPCError(code: .internalError, message: "a unary request must carry exactly one message; the body holds \(body.readableBytes) bytes")
        }
        guard body.readableBytes == Int(length) else {
            throw RPCError(
                code: .internalError,
                message: "a unary request must carry exactly one message; after a \(length)-byte message prefix \(body.readableBytes) bytes follow")
        }
        let bytes = body.readBytes(length: Int(length)) ?? []
        switch flag {
        case 0: return bytes
        case 1:
            guard let encoding else {
                throw RPCError(code: .internalError, message: "the message is marked compressed but the request has no grpc-encoding")
            }
            return try RequestDecompression.inflate(bytes, encoding: encoding, limit: limit)
        default:
            throw RPCError(code: .internalError, message: "the message prefix has an unknown flag \(flag)")
        }
    }

    // MARK: - Answers

    private func routeFinished(_ streamID: HTTP2StreamID, _ result: Result<[UInt8], RPCError>, context: ChannelHandlerContext) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadline?.cancel()
        switch result {
        case .success(let message):
            var headers = HPACKHeaders()
            headers.add(name: ":status", value: "200")
            headers.add(name: "content-type", value: "application/grpc")
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers)))), promise: nil)
            var body = context.channel.allocator.buffer(capacity: message.count + 5)
            body.writeInteger(UInt8(0))
            body.writeInteger(UInt32(message.count))
            body.writeBytes(message)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(body))))), promise: nil)
            var trailers = HPACKHeaders()
            GRPCServerWire.appendStatus(nil, to: &trailers)
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: trailers, endStream: true)))), promise: nil)
        case .failure(let error):
            writeTrailersOnly(streamID, error, context: context)
        }
        closeIfDrained(context: context)
    }

    private func deadlinePassed(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.task?.cancel()
        writeTrailersOnly(streamID, RPCError(code: .deadlineExceeded, message: "the call's deadline passed"), context: context)
        closeIfDrained(context: context)
    }

    /// Answers a call before running it; frames it still sends are ignored.
    private func reject(_ streamID: HTTP2StreamID, _ error: RPCError, endStream: Bool, context: ChannelHandlerContext) {
        if !endStream { answered.insert(streamID) }
        writeTrailersOnly(streamID, error, context: context)
    }

    private func writeTrailersOnly(_ streamID: HTTP2StreamID, _ error: RPCError, context: ChannelHandlerContext) {
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: "application/grpc")
        GRPCServerWire.appendStatus(error, to: &headers)
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers, endStream: true)))), promise: nil)
    }

    /// Lets go of a call that will not be answered normally (its task, deadline and buffered request).
    private func end(_ call: Call) {
        call.task?.cancel()
        call.deadline?.cancel()
        bufferedRequestBytes -= call.body?.readableBytes ?? 0
    }

    // MARK: - Connection

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            answered.remove(closed.streamID)
            if let call = calls.removeValue(forKey: closed.streamID) { end(call) }
            closeIfDrained(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is DrainConnection else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        guard !draining else { return }
        draining = true
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: highestStreamID, errorCode: .noError, opaqueData: nil))),
            promise: nil)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: limits.drainGrace) {
            // Calls still running (a history long poll waits up to 20 s) are told to finish;
            // each still answers, and the connection closes after the last.
            for call in bound.value.calls.values { call.task?.cancel() }
        }
        closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard draining, calls.isEmpty, context.channel.isActive else { return }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for call in calls.values { end(call) }
        calls = [:]
        answered = []
        bufferedRequestBytes = 0
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream-level protocol error ends that stream only; anything else ends the connection.
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            if let call = calls.removeValue(forKey: streamError.streamID) { end(call) }
            return
        }
        context.close(promise: nil)
    }
}
