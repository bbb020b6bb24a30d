import GRPCCore
import GRPCNIOTransportHTTP2

/// The fallback transport (`--grpc-transport grpc-swift`): grpc-swift's HTTP/2 server transport,
/// configured for what Temporal's clients do.
enum GRPCSwiftTransport {
    static func make(host: String, port: Int) -> HTTP2ServerTransport.Posix {
        HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port),
            transportSecurity: .plaintext,
            config: .defaults { config in
                // Every Temporal SDK sends gzip; replies may be uncompressed.
                config.compression = .init(enabledAlgorithms: CompressionAlgorithmSet([.gzip, .deflate]))
                // Go clients ping often (BDP pings) and workers hold long polls: be lenient.
                config.connection.keepalive.clientBehavior = .init(minPingIntervalWithoutCalls: .seconds(1), allowWithoutCalls: true)
                config.rpc.maxRequestPayloadSize = 64 << 20
                // Large HTTP/2 windows and frames (8 MiB, 1 MiB; the defaults are 64 KiB and
                // 16 KiB): fewer WINDOW_UPDATE frames and flushes per RPC, and a big history
                // page is not throttled by flow control. Measured: less server CPU per workflow.
                config.http2.targetWindowSize = 8 << 20
                config.http2.maxFrameSize = 1 << 20
            })
    }
}
