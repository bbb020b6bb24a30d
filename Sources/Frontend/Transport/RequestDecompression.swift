import CZlib
import GRPCCore

/// Inflates a compressed request message (`grpc-encoding: gzip` or `deflate`; the Temporal SDKs
/// and the CLI send gzip by default), refusing output beyond `limit` bytes.
enum RequestDecompression {
    static func inflate(_ input: [UInt8], encoding: String, limit: Int) throws(RPCError) -> [UInt8] {
        let windowBits: Int32
        switch encoding {
        case "gzip": windowBits = 15 + 16
        case "deflate": windowBits = 15
        default:
            throw RPCError(code: .unimplemented, message: "grpc-encoding \(encoding) is not supported; the server decompresses gzip and deflate")
        }
        var stream = z_stream()
        guard annals_inflate_init2(&stream, windowBits) == Z_OK else {
            throw RPCError(code: .internalError, message: "could not start decompressing the request")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(64, input.count * 4)))
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let (code, produced) = chunk.withUnsafeMutableBufferPointer { outBuffer -> (Int32, Int) in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = UInt32(outBuffer.count)
                    let code = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (code, outBuffer.count - Int(stream.avail_out))
                }
                if output.count + produced > limit { return Z_BUF_ERROR - 100 }
                output.append(contentsOf: chunk[..<produced])
                if code == Z_STREAM_END { return Z_STREAM_END }
                if code != Z_OK { return code }
                if stream.avail_in == 0 && produced == 0 { return Z_DATA_ERROR }
            }
        }
        switch status {
        case Z_STREAM_END: return output
        case Z_BUF_ERROR - 100: throw RPCError(code: .resourceExhausted, message: "the request decompresses to over \(limit) bytes")
        default: throw RPCError(code: .internalError, message: "the request's \(encoding) data is malformed (zlib status \(status))")
        }
    }
}
