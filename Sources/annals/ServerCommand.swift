import ArgumentParser
import Dispatch
import Foundation
import Frontend

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the Temporal-compatible server.",
        subcommands: [ServerStartCommand.self])
}

struct ServerStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Serve Temporal's WorkflowService and OperatorService on one data directory.",
        discussion: """
            Opens (creating and recovering as needed) the data directory, creates the namespace \
            'default' on first start, and serves gRPC until SIGINT or SIGTERM, then lets in-flight \
            calls finish and closes the store. One process per data directory: a second one is \
            refused with the holder's pid.

            Examples:
              annals server start
              annals server start --data-dir /var/lib/annals --address 0.0.0.0:7233 --shards 8
            """)

    @Option(name: .customLong("data-dir"), help: "The data directory.")
    var dataDirectory = "./annals-data"

    @Option(help: "HOST:PORT to listen on.")
    var address = "127.0.0.1:7233"

    @Option(help: "History shards, fixed when the data directory is created (1...1024).")
    var shards = 4

    @Option(name: .customLong("log-level"), help: "debug, info, warning or error.")
    var logLevel = "info"

    @Option(
        name: .customLong("grpc-transport"),
        help: "native (unary calls straight from the HTTP/2 frames) or grpc-swift (grpc-swift's server; also serves the health Watch stream).")
    var grpcTransport = "native"

    func validate() throws {
        guard (1...1024).contains(shards) else { throw ValidationError("--shards must be 1...1024, got \(shards)") }
        guard ServerConfiguration.LogLevel(name: logLevel) != nil else {
            throw ValidationError("--log-level must be debug, info, warning or error, got '\(logLevel)'")
        }
        guard ServerConfiguration.Transport(rawValue: grpcTransport) != nil else {
            throw ValidationError("--grpc-transport must be native or grpc-swift, got '\(grpcTransport)'")
        }
        _ = try parsedAddress()
    }

    func parsedAddress() throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--address must be HOST:PORT, got '\(address)'")
        }
        let host = String(address[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        let (host, port) = try parsedAddress()
        var configuration = ServerConfiguration(dataDirectory: dataDirectory, host: host, port: port, shardCount: shards)
        configuration.logLevel = ServerConfiguration.LogLevel(name: logLevel)!
        configuration.transport = ServerConfiguration.Transport(rawValue: grpcTransport)!
        let server: AnnalsServer
        do {
            server = try await AnnalsServer.open(configuration)
        } catch {
            FileHandle.standardError.write(Data("annals: cannot start on \(dataDirectory): \(error)\n".utf8))
            throw ExitCode(1)
        }
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("annals: shutting down (signal \(sig))\n".utf8))
                server.shutdown()
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        let shardCount = server.configuration.shardCount
        do {
            try await server.run { bound in
                FileHandle.standardError.write(Data("annals: serving on \(bound) (data \(dataDirectory), \(shardCount) shards)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("annals: server stopped: \(error)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardError.write(Data("annals: stopped cleanly\n".utf8))
    }
}
