import GRPCCore
import NIOCore
import NIOPosix
import Testing
@testable import LoadGenerator

/// A `UnaryConnection` whose peer is gone answers every call with UNAVAILABLE, and never hangs.
@Suite("Unary connection")
struct UnaryConnectionTests {
    /// Runs `body`, failing the test if it takes over 10 s.
    static func bounded(_ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await Task.sleep(for: .seconds(10)); return false }
            let finished = try await group.next() ?? false
            group.cancelAll()
            #expect(finished, "the call hung")
        }
    }

    static func expectUnavailable(_ connection: UnaryConnection) async throws {
        do {
            _ = try await connection.call(path: "/svc/Method", request: [1], timeout: .seconds(30))
            Issue.record("the call succeeded")
        } catch let error as RPCError {
            #expect(error.code == .unavailable, "\(error)")
        }
    }

    @Test func aRefusedConnectionFailsTheCall() async throws {
        // Bind a port, then close it, so nothing listens there.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!
        try await listener.close()
        let connection = UnaryConnection(target: Target(host: "127.0.0.1", port: port), group: MultiThreadedEventLoopGroup.singleton)
        try await Self.bounded { try await Self.expectUnavailable(connection) }
        #expect(!connection.state.isUsable)
    }

    @Test func aConnectionThePeerClosedFailsLaterCalls() async throws {
        // A peer that accepts and closes straight away.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.close() }
            .bind(host: "127.0.0.1", port: 0).get()
        let connection = UnaryConnection(target: Target(host: "127.0.0.1", port: listener.localAddress!.port!), group: MultiThreadedEventLoopGroup.singleton)
        try await Self.bounded {
            try await Self.expectUnavailable(connection)
            for _ in 0..<200 where !connection.state.isClosed { try await Task.sleep(for: .milliseconds(10)) }
            // The channel is closed now: the write fails before reaching the handler.
            try await Self.expectUnavailable(connection)
        }
        #expect(connection.state.isClosed)
        try await listener.close()
    }
}
