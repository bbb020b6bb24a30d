import GRPCCore
import NIOCore
import NIOHPACK

/// The gRPC-over-HTTP/2 rules a unary client needs (the "gRPC over HTTP2" protocol document):
/// the length-prefixed message, the `grpc-timeout` header, and the status in the trailers.
enum GRPCWire {
    /// The five-byte prefix of a message: a compressed flag, then the length (big-endian u32).
    static let prefixBytes = 5

    /// The request's one message, framed.
    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefixBytes + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// The single uncompressed message of a unary response body.
    static func message(in body: ByteBuffer) throws(RPCError) -> [UInt8] {
        var body = body
        guard let flag = body.readInteger(as: UInt8.self), let length = body.readInteger(as: UInt32.self) else {
            throw RPCError(code: .internalError, message: "the response body holds \(body.readableBytes) bytes, not a gRPC message")
        }
        guard flag == 0 else {
            throw RPCError(code: .internalError, message: "the response message is compressed (flag \(flag)), which was not asked for")
        }
        guard body.readableBytes == Int(length) else {
            throw RPCError(
                code: .internalError,
                message: "the response message is \(body.readableBytes) bytes after its prefix, which says \(length)")
        }
        return body.readBytes(length: Int(length)) ?? []
    }

    /// `grpc-timeout`: at most eight digits and a unit; rounded up, so the server's deadline is
    /// never earlier than ours.
    static func timeoutHeader(_ timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        let micros = max(0, seconds) * 1_000_000 + (attoseconds + 999_999_999_999) / 1_000_000_000_000
        if micros < 100_000_000 { return "\(micros)u" }
        let millis = (micros + 999) / 1_000
        if millis < 100_000_000 { return "\(millis)m" }
        return "\(min((millis + 999) / 1_000, 99_999_999))S"
    }

    /// The call's outcome from its trailers (or a trailers-only response): nil when OK.
    static func error(fromTrailers trailers: HPACKHeaders) -> RPCError? {
        guard let raw = trailers.first(name: "grpc-status") else {
            return RPCError(code: .internalError, message: "the response ended without a grpc-status")
        }
        guard let value = Int(raw), let status = Status.Code(rawValue: value) else {
            return RPCError(code: .unknown, message: "the response's grpc-status is \(raw), not a status code")
        }
        guard let code = RPCError.Code(status) else { return nil }
        return RPCError(code: code, message: percentDecoded(trailers.first(name: "grpc-message") ?? ""))
    }

    /// The status an HTTP response that is not 200 maps to (the gRPC HTTP-to-status table).
    static func error(httpStatus: String) -> RPCError {
        let code: RPCError.Code
        switch httpStatus {
        case "400": code = .internalError
        case "401": code = .unauthenticated
        case "403": code = .permissionDenied
        case "404": code = .unimplemented
        case "429", "502", "503", "504": code = .unavailable
        default: code = .unknown
        }
        return RPCError(code: code, message: "the server answered HTTP \(httpStatus)")
    }

    /// `grpc-message` is percent-encoded UTF-8; a malformed escape is kept as written.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
