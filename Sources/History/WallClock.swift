#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The source of the Unix times events and timers carry. Injected so tests can control time.
public protocol WallClock: Sendable {
    /// Nanoseconds since the Unix epoch.
    func nowNanos() -> Int64
}

public struct SystemWallClock: WallClock {
    public init() {}

    public func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
