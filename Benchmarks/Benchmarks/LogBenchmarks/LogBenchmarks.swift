// Log benchmarks with their anchors measured in the same run (see ../../../docs/benchmarks.md):
// - raw 4 KiB pwrite + fdatasync on the same disk (the floor for one durable append);
// - raw LZ4 compress/decompress of the same event-like payloads in 64 KiB blocks;
// - Log.append with 1, 8 and 64 concurrent appenders, 1 KiB event-like records, fsync on;
// - scanning and reopening (recovery) a 1 GiB log.
// The data directory is $ANNALS_BENCH_DIR (default /tmp/annals-bench); put it on the disk to measure.

import Benchmark
import Glibc
import StorageCodec
import StorageIO
import StorageLog
import StorageTesting

let benchDirectory = getenv("ANNALS_BENCH_DIR").map { String(cString: $0) } ?? "/tmp/annals-bench"
let recordBytes = 1024
let scanLogBytes: Int64 = 1 << 30

/// 4096 distinct 1 KiB records of JSON history events (about three events each).
let eventRecords: [[UInt8]] = {
    var rng = SeededRandom(seed: 42)
    return (0..<4096).map { i in rng.historyEventsJSON(count: recordBytes, firstEventID: 1 + (i % 100) * 3) }
}()

func freshDirectory(_ name: String) -> String {
    let path = benchDirectory + "/" + name
    _ = system("rm -rf '\(path)' && mkdir -p '\(path)'")
    return path
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 10,
        maxDuration: .seconds(4), maxIterations: 50_000)

    // MARK: Anchors

    Benchmark("Anchor 4 KiB pwrite + fdatasync") { benchmark in
        fdatasyncAnchor(benchmark, directory: "anchor", zeroFilledBytes: nil)
    }

    Benchmark("Anchor 4 KiB pwrite + fdatasync into a zero-filled file") { benchmark in
        fdatasyncAnchor(benchmark, directory: "anchor-prealloc", zeroFilledBytes: 256 << 20)
    }

    let block: [UInt8] = Array(eventRecords[0..<64].joined())
    Benchmark(
        "Anchor LZ4 compress 64 KiB event block",
        configuration: .init(metrics: [.wallClock, .throughput, .custom("MB/s", polarity: .prefersLarger),
                                       .custom("ratio x100", polarity: .prefersLarger)])
    ) { benchmark in
        var out = [UInt8](repeating: 0, count: LZ4.compressBound(block.count))
        var n = 0
        let start = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            n = block.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4.compress(src, into: $0)! } }
        }
        let seconds = (ContinuousClock.now - start).seconds
        benchmark.measurement(.custom("MB/s", polarity: .prefersLarger), Int(Double(block.count * benchmark.scaledIterations.count) / seconds / 1e6))
        benchmark.measurement(.custom("ratio x100", polarity: .prefersLarger), block.count * 100 / n)
    }

    let compressedBlock = LZ4.compress(block)
    Benchmark(
        "Anchor LZ4 decompress 64 KiB event block",
        configuration: .init(metrics: [.wallClock, .throughput, .custom("MB/s", polarity: .prefersLarger)])
    ) { benchmark in
        var out = [UInt8](repeating: 0, count: block.count)
        let start = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            precondition(compressedBlock.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } })
        }
        let seconds = (ContinuousClock.now - start).seconds
        benchmark.measurement(.custom("MB/s", polarity: .prefersLarger), Int(Double(block.count * benchmark.scaledIterations.count) / seconds / 1e6))
    }

    // MARK: Appends

    for appenders in [1, 8, 64] {
        appendBenchmark(appenders: appenders)
    }

    // MARK: Scan and recovery of a 1 GiB log

    Benchmark(
        "Log scan 1 GiB",
        configuration: .init(
            metrics: [.wallClock, .custom("MB/s decompressed", polarity: .prefersLarger),
                      .custom("compression ratio x100", polarity: .prefersLarger)],
            warmupIterations: 1, maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        let directory = await scanLog()
        let log = try Log.open(directory: directory)
        var bytes = 0
        let start = ContinuousClock.now
        try log.scan(from: 1) { _, record in
            bytes += record.count
            return true
        }
        let seconds = (ContinuousClock.now - start).seconds
        benchmark.measurement(.custom("MB/s decompressed", polarity: .prefersLarger), Int(Double(bytes) / seconds / 1e6))
        benchmark.measurement(.custom("compression ratio x100", polarity: .prefersLarger), Int(log.stats().compressionRatio * 100))
        await log.close()
    }

    Benchmark(
        "Log open (recovery scan) 1 GiB",
        configuration: .init(metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1,
                             maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        let directory = await scanLog()
        benchmark.startMeasurement()
        let log = try Log.open(directory: directory)
        benchmark.stopMeasurement()
        await log.close()
    }
}

/// One 4 KiB `pwrite` + `fdatasync` per iteration: appending to a growing file, or (with
/// `zeroFilledBytes`) overwriting a file zero-filled and synced beforehand.
func fdatasyncAnchor(_ benchmark: Benchmark, directory: String, zeroFilledBytes: Int?) {
    let path = freshDirectory(directory) + "/file"
    let fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o644)
    precondition(fd >= 0)
    defer { close(fd) }
    if let size = zeroFilledBytes {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for offset in stride(from: 0, to: size, by: zeros.count) {
            precondition(zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) } == zeros.count)
        }
        precondition(fsync(fd) == 0)
    }
    let block = [UInt8](repeating: 0x5A, count: 4096)
    var offset: off_t = 0
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        precondition(block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, offset) } == 4096)
        precondition(fdatasync(fd) == 0)
        offset += 4096
        if let size = zeroFilledBytes, offset >= off_t(size) { offset = 0 }
    }
    benchmark.stopMeasurement()
}

/// Each iteration appends 512 records from `appenders` concurrent tasks, fsync on.
func appendBenchmark(appenders: Int) {
    let perIteration = 512
    Benchmark(
        "Log append 1 KiB x\(appenders) appenders fsync",
        configuration: .init(
            metrics: [.wallClock, .custom("records/s", polarity: .prefersLarger),
                      .custom("append latency us", polarity: .prefersSmaller),
                      .custom("fsyncs per 1000 records", polarity: .prefersSmaller)],
            warmupIterations: 1, maxDuration: .seconds(6), maxIterations: 200)
    ) { benchmark in
        let log = try Log.open(directory: freshDirectory("append-\(appenders)"))
        let framesBefore = log.stats().segments.reduce(0) { $0 + $1.frames }
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Int].self) { group in
            for lane in 0..<appenders {
                group.addTask {
                    var mine: [Int] = []
                    var index = lane
                    while index < perIteration {
                        let t0 = ContinuousClock.now
                        _ = try await log.append(eventRecords[index % eventRecords.count])
                        mine.append(Int((ContinuousClock.now - t0).seconds * 1e6))
                        index += appenders
                    }
                    return mine
                }
            }
            var all: [Int] = []
            for try await lane in group { all += lane }
            return all
        }
        let seconds = (ContinuousClock.now - start).seconds
        benchmark.stopMeasurement()
        let frames = log.stats().segments.reduce(0) { $0 + $1.frames } - framesBefore
        benchmark.measurement(.custom("records/s", polarity: .prefersLarger), Int(Double(perIteration) / seconds))
        for latency in latencies { benchmark.measurement(.custom("append latency us", polarity: .prefersSmaller), latency) }
        benchmark.measurement(.custom("fsyncs per 1000 records", polarity: .prefersSmaller), frames * 1000 / perIteration)
        await log.close()
    }
}

/// A 1 GiB log of 1 KiB event-like records, built once (without fsync) and reused.
func scanLog() async -> String {
    let directory = benchDirectory + "/scan-1gib"
    if let report = try? LogRecovery.scan(directory: directory, fileSystem: PosixFileSystem()),
        LogStats(segments: report.segments, durableLSN: 0).logicalBytes >= scanLogBytes
    {
        return directory
    }
    let fresh = freshDirectory("scan-1gib")
    do {
        let log = try Log.open(directory: fresh, options: LogOptions(durability: .noSyncUnsafeForTests))
        let total = Int(scanLogBytes) / recordBytes + 64
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var index = lane
                    while index < total {
                        _ = try await log.append(eventRecords[index % eventRecords.count])
                        index += 64
                    }
                }
            }
            try await group.waitForAll()
        }
        await log.close()
    } catch {
        fatalError("building the 1 GiB log failed: \(error)")
    }
    return fresh
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
