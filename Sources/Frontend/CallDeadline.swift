import GRPCCore

/// The client's deadline, from the `grpc-timeout` header (`<digits><H|M|S|m|u|n>`).
enum CallDeadline {
    static func timeout(_ metadata: Metadata) -> Duration? {
        guard let raw = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }), raw.count >= 2,
            let value = Int64(raw.dropLast())
        else { return nil }
        switch raw.last! {
        case "H": return .seconds(value * 3600)
        case "M": return .seconds(value * 60)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }

    /// How long a long poll may wait: the server's expiry, but ending `margin` before the
    /// client's deadline so the client gets an OK empty answer rather than DEADLINE_EXCEEDED.
    static func longPoll(_ metadata: Metadata, expiry: Duration, margin: Duration = .seconds(1)) -> Duration {
        guard let timeout = timeout(metadata) else { return expiry }
        let budget = timeout > margin * 2 ? timeout - margin : timeout / 2
        return min(expiry, budget)
    }
}
