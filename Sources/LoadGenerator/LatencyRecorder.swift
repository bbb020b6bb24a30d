import Histogram

/// Start-to-close latencies in microseconds, kept in an HdrHistogram (3 significant digits).
struct LatencyRecorder: Sendable {
    private var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: BenchLimits.maxLatencyMicroseconds,
        numberOfSignificantValueDigits: .three
    )

    var count: UInt64 { histogram.totalCount }

    mutating func record(_ latency: Duration) {
        let micros = latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000
        let clamped = UInt64(min(max(micros, 1), Int64(BenchLimits.maxLatencyMicroseconds)))
        _ = histogram.record(clamped)
    }

    /// The latency at `percentile` (0...100) in milliseconds; 0 when nothing was recorded.
    func milliseconds(atPercentile percentile: Double) -> Double {
        guard count > 0 else { return 0 }
        return Double(histogram.valueAtPercentile(percentile)) / 1_000
    }

    var maxMilliseconds: Double { count > 0 ? Double(histogram.max) / 1_000 : 0 }
    var meanMilliseconds: Double { count > 0 ? histogram.mean / 1_000 : 0 }
}
