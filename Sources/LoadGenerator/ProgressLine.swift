import Foundation

/// Prints one progress line to stderr every `BenchLimits.progressInterval` until cancelled.
struct ProgressLine: Sendable {
    let stats: RunStats
    let total: Int
    let label: String

    func run() async {
        let start = ContinuousClock.now
        while true {
            do {
                try await Task.sleep(for: BenchLimits.progressInterval)
            } catch {
                return
            }
            let snapshot = stats.snapshot()
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = seconds > 0 ? Double(snapshot.completed) / seconds : 0
            let line = "\(label): \(snapshot.finished)/\(total) done, \(Int(rate.rounded())) workflows/s, "
                + "p99 \(Int(snapshot.latency.milliseconds(atPercentile: 99).rounded())) ms, errors \(snapshot.errors)"
            writeToStandardError(line + "\n")
        }
    }
}

func writeToStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
