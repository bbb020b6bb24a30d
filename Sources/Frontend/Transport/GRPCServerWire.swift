import Foundation
import GRPCCore
import NIOHPACK

/// The gRPC-over-HTTP/2 rules the server side needs: request metadata from HPACK headers,
/// response trailers, `grpc-message` percent-encoding and `-bin` metadata in base64.
enum GRPCServerWire {
    /// Headers the transport consumes itself; the rest reach the handlers as metadata.
    private static let transportHeaders: Set<String> = ["content-type", "te", "grpc-encoding", "grpc-accept-encoding", "content-length"]

    /// The request's custom metadata (and `grpc-timeout`, which `CallDeadline` reads).
    static func metadata(from headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !name.hasPrefix(":") && !transportHeaders.contains(name) {
            if name.hasSuffix("-bin") {
                if let bytes = base64Decoded(value) { metadata.addBinary(bytes, forKey: name) }
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        return metadata
    }

    /// The trailers of a finished call (or the headers of a trailers-only response, with `:status`
    /// and `content-type` added by the caller).
    static func appendStatus(_ error: RPCError?, to headers: inout HPACKHeaders) {
        guard let error else {
            headers.add(name: "grpc-status", value: "0")
            return
        }
        headers.add(name: "grpc-status", value: String(error.code.rawValue))
        if !error.message.isEmpty { headers.add(name: "grpc-message", value: percentEncoded(error.message)) }
        for (key, value) in error.metadata {
            switch value {
            case .string(let text): headers.add(name: key, value: text)
            case .binary(let bytes): headers.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// `grpc-message`: UTF-8, with bytes outside printable ASCII and `%` percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        let needs = text.utf8.contains { $0 < 0x20 || $0 > 0x7E || $0 == UInt8(ascii: "%") }
        guard needs else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Base64 with or without padding (gRPC senders may omit it).
    static func base64Decoded(_ text: String) -> [UInt8]? {
        var padded = text
        let remainder = padded.utf8.count % 4
        if remainder == 2 { padded += "==" } else if remainder == 3 { padded += "=" }
        return Data(base64Encoded: padded).map { [UInt8]($0) }
    }
}
