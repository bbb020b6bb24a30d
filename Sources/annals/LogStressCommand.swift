import ArgumentParser
import Glibc
import StorageIO
import StorageLog
import Synchronization

/// Records of the log stress workload: a header naming (run, writer, seq) and a body derived from
/// the seed, so a verifier can recompute every byte.
enum StressRecord {
    static let magic: UInt32 = 0x5254_534C  // "LSTR"
    static let headerBytes = 24

    static func make(seed: UInt64, run: UInt32, writer: UInt32, seq: UInt64, maxBytes: Int) -> [UInt8] {
        var rng = SplitMix(key(seed: seed, run: run, writer: writer, seq: seq))
        let length = Int(rng.next() % UInt64(max(1, maxBytes - headerBytes) + 1))
        return make(seed: seed, run: run, writer: writer, seq: seq, bodyLength: length)
    }

    private static func key(seed: UInt64, run: UInt32, writer: UInt32, seq: UInt64) -> UInt64 {
        seed ^ (UInt64(run) << 48) ^ (UInt64(writer) << 32) ^ (seq &* 0x9E37_79B9)
    }

    static func make(seed: UInt64, run: UInt32, writer: UInt32, seq: UInt64, bodyLength: Int) -> [UInt8] {
        var rng = SplitMix(key(seed: seed, run: run, writer: writer, seq: seq) ^ 0xB0D1)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerBytes + bodyLength)
        for value in [magic, run, writer] { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        withUnsafeBytes(of: seq.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(bodyLength).littleEndian) { bytes.append(contentsOf: $0) }
        let alphabet = Array("{\"eventType\":\"ActivityTaskCompleted\",\"attempt\":1}0123456789".utf8)
        while bytes.count < headerBytes + bodyLength {
            let word = rng.next()
            bytes.append(alphabet[Int(word % UInt64(alphabet.count))])
            if word & 0xF0 == 0 { bytes.append(UInt8(truncatingIfNeeded: word >> 8)) }
        }
        return Array(bytes.prefix(headerBytes + bodyLength))
    }

    /// (run, writer, seq) if `bytes` is exactly what `make` produces for them.
    static func parse(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> (UInt32, UInt32, UInt64)? {
        guard bytes.count >= headerBytes, bytes.loadUnaligned(as: UInt32.self) == magic.littleEndian else { return nil }
        let run = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let writer = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let seq = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        guard length == bytes.count - headerBytes else { return nil }
        let expected = make(seed: seed, run: run, writer: writer, seq: seq, bodyLength: length)
        return expected.elementsEqual(bytes) ? (run, writer, seq) : nil
    }
}

struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct LogStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-stress",
        abstract: "Append a seeded workload to a log with concurrent writers, printing `ack LSN RUN WRITER SEQ` per durable record.",
        discussion: """
            For crash testing: kill it at any moment (kill -9), then run `annals store log-stress-verify` \
            with the same seed on the printed acks. Use a new --run for each restart on the same directory.
            Example: annals store log-stress /tmp/d --seed 7 --run 1 > acks & sleep 2; kill -9 $!; \
            annals store log-stress-verify /tmp/d --seed 7 --acks acks
            """)

    @Argument(help: "The log directory (created if missing).")
    var directory: String
    @Option(help: "Seed of the workload.") var seed: UInt64
    @Option(help: "Run number; distinct per restart on one directory.") var run: UInt32 = 0
    @Option(help: "Concurrent appenders.") var writers: Int = 16
    @Option(help: "Largest record in bytes.") var maxRecordBytes: Int = 4096
    @Option(help: "Segment roll size in bytes (small, to exercise rolling).") var segmentBytes: Int = 1 << 20
    @Option(help: "Stop after this many records per writer (default: run until killed).") var count: Int?

    func validate() throws {
        guard writers > 0, writers <= 1024 else { throw ValidationError("--writers must be 1...1024") }
        guard maxRecordBytes >= StressRecord.headerBytes, maxRecordBytes <= LogLimits.maxRecordBytes else {
            throw ValidationError("--max-record-bytes must be \(StressRecord.headerBytes)...\(LogLimits.maxRecordBytes)")
        }
    }

    func run() async throws {
        let log = try Log.open(directory: directory, options: LogOptions(segmentBytes: segmentBytes))
        let output = LinePrinter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask { [seed, run, maxRecordBytes, count] in
                    var seq: UInt64 = 0
                    while count.map({ seq < UInt64($0) }) ?? true {
                        let record = StressRecord.make(seed: seed, run: run, writer: UInt32(writer), seq: seq, maxBytes: maxRecordBytes)
                        let position = try await log.append(record)
                        output.print("ack \(position.lsn) \(run) \(writer) \(seq)")
                        seq += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        await log.close()
    }
}

struct LogStressVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-stress-verify",
        abstract: "Open (recovering) a log written by `log-stress` and check every record and every acknowledgement.",
        discussion: "Prints `ok N` (records verified) and exits 0, or names the first problem and exits 1.")

    @Argument(help: "The log directory.") var directory: String
    @Option(help: "Seed the workload used.") var seed: UInt64
    @Option(help: "File of `ack LSN RUN WRITER SEQ` lines (others are ignored).") var acks: String?

    func run() async throws {
        let log = try Log.open(directory: directory)
        var seen: [LSNKey: UInt64] = [:]
        var problem: String? = nil
        try log.scan(from: 1) { lsn, bytes in
            guard let (run, writer, seq) = StressRecord.parse(bytes, seed: seed) else {
                problem = "LSN \(lsn): \(bytes.count) bytes that the workload never wrote (partial or corrupt record)"
                return false
            }
            let key = LSNKey(run: run, writer: writer, seq: seq)
            if let earlier = seen[key] {
                problem = "LSN \(lsn) repeats run \(run) writer \(writer) seq \(seq) of LSN \(earlier)"
                return false
            }
            seen[key] = lsn
            return true
        }
        var acked = 0
        if problem == nil, let acks {
            let text = try readText(acks)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 5, parts[0] == "ack", let lsn = UInt64(parts[1]), let run = UInt32(parts[2]),
                    let writer = UInt32(parts[3]), let seq = UInt64(parts[4])
                else { continue }
                acked += 1
                if seen[LSNKey(run: run, writer: writer, seq: seq)] != lsn {
                    problem = "acknowledged LSN \(lsn) (run \(run) writer \(writer) seq \(seq)) is missing or different"
                    break
                }
            }
        }
        await log.close()
        if let problem {
            print("FAIL \(problem)")
            throw ExitCode(1)
        }
        print("ok \(seen.count) records, \(acked) acknowledged, last LSN \(log.lastDurableLSN)")
    }
}

struct LSNKey: Hashable {
    var run: UInt32
    var writer: UInt32
    var seq: UInt64
}

func readText(_ path: String) throws -> String {
    let handle = try PosixFileSystem().open(path, .readOnly)
    defer { handle.close() }
    let bytes = try handle.read(count: Int(try handle.size()), at: 0)
    return String(decoding: bytes, as: UTF8.self)
}

/// Prints whole lines from many tasks, flushing each so a killed process loses none it printed.
final class LinePrinter: Sendable {
    private let lock = Mutex(())

    func print(_ line: String) {
        lock.withLock { _ in
            Swift.print(line)
            fflush(nil)
        }
    }
}
