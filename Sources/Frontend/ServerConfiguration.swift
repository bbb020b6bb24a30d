import Foundation

/// What `annals server start` is configured with.
public struct ServerConfiguration: Sendable {
    /// Reported by GetSystemInfo/GetClusterInfo: the Temporal server version whose API this speaks.
    public static let serverVersion = "1.32.0-annals"

    public var dataDirectory: String
    public var host: String
    public var port: Int
    /// Fixed when the data directory is created; a different value later is refused.
    public var shardCount: Int
    public var longPollExpiry: Duration = .seconds(60)
    public var historyLongPollExpiry: Duration = .seconds(20)
    /// The namespace created on first start.
    public var defaultNamespace = "default"
    public var clusterID = ""
    public var logLevel: LogLevel = .info
    /// Which gRPC server implementation serves the API.
    public var transport: Transport = .native

    public enum Transport: String, Sendable, CaseIterable {
        /// `NativeGRPCServer`: unary calls straight from the HTTP/2 frames (the default).
        case native
        /// grpc-swift's server (`GRPCServer` over `HTTP2ServerTransport.Posix`), kept as a
        /// fallback: it also serves the health service's streaming Watch.
        case grpcSwift = "grpc-swift"
    }

    public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
        case debug, info, warning, error

        public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
    }

    public init(dataDirectory: String = "./annals-data", host: String = "127.0.0.1", port: Int = 7233, shardCount: Int = 4) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.shardCount = shardCount
    }
}

/// One line per event on standard error: `<time> <level> <message>`.
struct ServerLog: Sendable {
    let level: ServerConfiguration.LogLevel

    func callAsFunction(_ level: ServerConfiguration.LogLevel, _ message: @autoclosure () -> String) {
        guard level >= self.level else { return }
        let line = "\(ISO8601DateFormatter().string(from: Date())) \(level) \(message())\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
