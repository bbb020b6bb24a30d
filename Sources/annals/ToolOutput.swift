import Glibc

/// Writes one line to stderr (notes and progress, so stdout stays parseable).
func printError(_ line: String) {
    writeError(line + "\n")
}

/// Writes text to stderr unbuffered.
func writeError(_ text: String) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + done, $0.count - done) }
        if n <= 0 { return }
        done += n
    }
}

/// Progress of a long scan on stderr: a line redrawn in place when stderr is a terminal; plain
/// lines, at most one per second and none for the first second, otherwise (logs, pipes, tests).
final class ScanProgress {
    private let label: String
    private let terminal = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private var lastPrint: ContinuousClock.Instant? = nil
    private var drawn = false

    init(_ label: String) { self.label = label }

    func segment(_ index: Int, of count: Int, path: String) {
        let now = ContinuousClock.now
        if terminal {
            let width = 30
            let done = count == 0 ? width : width * index / count
            let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
            writeError("\r\(label) [\(bar)] segment \(index + 1)/\(count)\u{1B}[K")
            drawn = true
        } else if now - start >= .seconds(1), lastPrint.map({ now - $0 >= .seconds(1) }) ?? true {
            printError("\(label): segment \(index + 1) of \(count) (\(baseName(path)))")
            lastPrint = now
        }
    }

    /// Clears the terminal line.
    func finish() {
        if drawn { writeError("\r\u{1B}[K") }
        drawn = false
    }
}
