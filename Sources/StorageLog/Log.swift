import StorageCodec
public import StorageIO

/// An append-only, segmented, checksummed, LZ4-compressed log with group commit.
///
/// - `append` hands a record to the writer thread and returns once the record is durable (one
///   `write` + one `fdatasync` per group of concurrent appends). Each record gets the next LSN
///   (1, 2, 3, …) and is atomic: after a crash it is wholly present or absent.
/// - Reads see every acknowledged record: by LSN, by position, or as an ordered scan.
/// - `open` is recovery: a torn last frame is truncated; damage anywhere else makes `open` fail
///   with an error naming the file and byte offset (see docs/recovery.md).
///
/// Formats: docs/format/log.md. Thread safety: every method may be called from any thread or task.
public final class Log: @unchecked Sendable {
    public let directory: String
    public let options: LogOptions
    /// What recovery found and did when this log was opened.
    public let recovery: RecoveryReport
    let fileSystem: any FileSystem

    // Everything below is guarded by `lock`.
    let lock = ConditionLock()
    var segments: [SegmentFile]
    /// The LSN the writer assigns next.
    var nextLSN: UInt64
    /// Every record up to and including this LSN is durable (0: none yet).
    var durableLSN: UInt64
    var pending: [PendingAppend] = []
    var pendingBytes = 0
    var admissionWaiters: [PendingAppend] = []
    var state: State = .open
    /// Set when the writer hit an error after which the file's contents are unknown (a failed fsync).
    var failure: StorageError?
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
    var directoryLock: (any DirectoryLock)?
    /// Runs completions in log order on a thread of its own (fed by the writer thread only).
    let completions = CompletionQueue(capacity: LogLimits.maxGroupsAwaitingCompletion)

    enum State {
        case open
        case closing
        case closed
    }

    struct PendingAppend {
        var record: [UInt8]
        var completion: @Sendable (Result<LogPosition, any Error>) -> Void
    }

    /// Opens (creating if needed) the log in `directory`, recovering from any crash.
    public static func open(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(), options: LogOptions = LogOptions()
    ) throws -> Log {
        try validate(options)
        try fileSystem.createDirectory(directory)
        let directoryLock = try fileSystem.lockDirectory(directory)
        do {
            return try Log(directory: directory, fileSystem: fileSystem, options: options, directoryLock: directoryLock)
        } catch {
            directoryLock.release()
            throw error
        }
    }

    private static func validate(_ options: LogOptions) throws {
        guard options.segmentBytes >= LogLimits.minSegmentBytes else {
            throw StorageError(.invalidArgument, "segment size \(options.segmentBytes) is below the minimum \(LogLimits.minSegmentBytes) bytes")
        }
        guard options.maxBatchBytes > 0, options.maxPendingRecords > 0, options.maxPendingBytes > 0 else {
            throw StorageError(.invalidArgument, "batch and queue limits must be positive")
        }
    }

    private init(directory: String, fileSystem: any FileSystem, options: LogOptions, directoryLock: any DirectoryLock) throws {
        self.directory = directory
        self.fileSystem = fileSystem
        self.options = options
        self.directoryLock = directoryLock

        var sparse: [String: [(FrameHeader, Int64)]] = [:]
        var lastIndexed: [String: Int64] = [:]
        let report = try LogRecovery.scan(directory: directory, fileSystem: fileSystem, decompress: false) { path, frame, offset in
            if let last = lastIndexed[path], offset - last < LogLimits.sparseIndexIntervalBytes { return }
            lastIndexed[path] = offset
            sparse[path, default: []].append((frame, offset))
        }
        if let first = report.corruption.first {
            throw StorageError(
                .corruption,
                "the log in \(directory) is damaged and was not opened (\(report.corruption.count) finding(s)); first: \(first.message). Run `annals store verify \(directory)` for all findings",
                path: first.path, offset: first.offset)
        }
        for finding in report.findings {
            switch finding.kind {
            case .tornSegmentCreation:
                try fileSystem.removeFile(finding.path)
                try fileSystem.syncDirectory(directory)
            case .tornTail:
                let handle = try fileSystem.open(finding.path, .readWrite)
                defer { handle.close() }
                try handle.truncate(to: finding.offset)
                try handle.sync()
            case .corruption:
                preconditionFailure("corruption is refused above")
            }
        }
        self.recovery = report

        var files: [SegmentFile] = []
        for (index, (stats, path)) in zip(report.segments, report.segmentPaths).enumerated() {
            let isLast = index == report.segments.count - 1
            let handle = try fileSystem.open(path, isLast ? .readWrite : .readOnly)
            // Past the last frame the file holds only zeros (recovery checked, or truncated a torn tail).
            let file = SegmentFile(path: path, handle: handle, stats: stats, zeroedEnd: isLast ? try handle.size() : nil)
            for (frame, offset) in sparse[path] ?? [] { file.noteIndexEntry(lsn: frame.firstLSN, offset: offset) }
            files.append(file)
        }
        self.segments = files
        self.nextLSN = report.nextLSN
        self.durableLSN = report.nextLSN - 1
        if files.isEmpty {
            segments.append(try createSegment(firstLSN: 1))
        }
        completions.start()
        startThread { [self] in writerLoop() }
    }

    /// Creates, syncs and directory-syncs a new segment file holding only its header.
    func createSegment(firstLSN: UInt64) throws -> SegmentFile {
        let path = joinPath(directory, SegmentHeader.fileName(firstLSN: firstLSN))
        let handle = try fileSystem.open(path, .createNew)
        let headerBytes = Int64(SegmentHeader.Format.size)
        var zeroedEnd = headerBytes
        do {
            try handle.writeAll(SegmentHeader(firstLSN: firstLSN).encoded(), at: 0)
            zeroedEnd = writeZeros(handle, from: headerBytes, to: preallocationTarget(after: headerBytes))
            try handle.sync()
            try fileSystem.syncDirectory(directory)
        } catch {
            handle.close()
            try? fileSystem.removeFile(path)
            throw error
        }
        return SegmentFile(path: path, handle: handle, stats: SegmentStats(firstLSN: firstLSN), zeroedEnd: zeroedEnd)
    }

    /// Where preallocation ahead of `end` stops: `preallocationBytes` on, never past the roll size.
    func preallocationTarget(after end: Int64) -> Int64 {
        max(end, min(end + Int64(options.preallocationBytes), Int64(options.segmentBytes)))
    }

    /// Writes zeros over [start, end) and returns how far they reached: `end`, or less if a write
    /// failed (preallocation only saves work; the frames' own writes report errors).
    func writeZeros(_ handle: any FileHandle, from start: Int64, to end: Int64) -> Int64 {
        var offset = start
        Log.zeroBuffer.withUnsafeBytes { zeros in
            while offset < end {
                let count = Int(min(Int64(zeros.count), end - offset))
                guard (try? handle.writeAll(UnsafeRawBufferPointer(rebasing: zeros[..<count]), at: offset)) != nil else { return }
                offset += Int64(count)
            }
        }
        return offset
    }

    static let zeroBuffer = [UInt8](repeating: 0, count: LogLimits.zeroBufferBytes)

    /// Appends one record and returns once it is durable (or written, with `.noSyncUnsafeForTests`).
    ///
    /// Throws `.limitExceeded` for records over `LogLimits.maxRecordBytes`, `.closed` after `close`
    /// or after a failed fsync, and the I/O error of a failed write (the record was not appended).
    public func append(_ record: [UInt8]) async throws -> LogPosition {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try enqueue(record) { continuation.resume(with: $0) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues one record and returns at once, or throws if it cannot be queued (too large, log
    /// closed or stopped). `completion` then runs exactly once, when the record is durable or has
    /// failed, on the completion thread (or on the writer thread, when it has nothing else to
    /// write); completions run one at a time, in LSN order, and must not block. Records get LSNs in the order
    /// `enqueue` calls return, which lets a caller keep its own state in log order.
    public func enqueue(_ record: [UInt8], completion: @escaping @Sendable (Result<LogPosition, any Error>) -> Void) throws {
        guard record.count <= LogLimits.maxRecordBytes else {
            throw StorageError(
                .limitExceeded, "record of \(record.count) bytes exceeds the limit of \(LogLimits.maxRecordBytes) bytes")
        }
        let entry = PendingAppend(record: record, completion: completion)
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw Log.failedError(failure, directory: directory) }
        switch state {
        case .open:
            if pending.count < options.maxPendingRecords
                && (pending.isEmpty || pendingBytes + record.count <= options.maxPendingBytes)
                && admissionWaiters.isEmpty
            {
                pending.append(entry)
                pendingBytes += record.count
                // The writer sleeps only on an empty queue: wake it on the first record alone.
                if pending.count == 1 { lock.signal() }
            } else {
                admissionWaiters.append(entry)
            }
        case .closing, .closed:
            throw StorageError(.closed, "the log in \(directory) is closed")
        }
    }

    /// Sets a handler the completion thread calls after it has run the completions of every group
    /// of records made durable together. A caller can then do per-group work once (take a lock
    /// once, resume waiters together) instead of per record. Set it before enqueueing.
    public func onGroupDurable(_ handler: @escaping @Sendable () -> Void) {
        completions.setGroupHandler(handler)
    }

    static func failedError(_ cause: StorageError, directory: String) -> StorageError {
        StorageError(
            .closed,
            "the log in \(directory) stopped accepting appends after a failure whose outcome on disk is unknown (\(cause)); reopen it to recover",
            path: cause.path, offset: cause.offset)
    }

    /// Waits for queued appends, writes a seal frame, syncs and closes every file, releases the lock.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            switch state {
            case .closed:
                lock.unlock()
                continuation.resume()
                return
            case .open:
                state = .closing
            case .closing:
                break
            }
            closeWaiters.append(continuation)
            lock.broadcast()
            lock.unlock()
        }
    }

    /// `close()` for synchronous callers (a failed open): blocks the calling thread until the log
    /// is closed. Do not call it from a task that other tasks of the log's appenders depend on.
    public func closeBlocking() {
        lock.lock()
        if case .open = state { state = .closing }
        lock.broadcast()
        while true {
            if case .closed = state { break }
            lock.wait()
        }
        lock.unlock()
    }

    /// The highest durable LSN (0 when the log is empty).
    public var lastDurableLSN: UInt64 { lock.withLock { durableLSN } }

    /// Statistics over every segment.
    public func stats() -> LogStats {
        lock.withLock { LogStats(segments: segments.map(\.stats), durableLSN: durableLSN) }
    }

    /// Deletes every segment all of whose records have LSNs below `lsn`, except the one being
    /// appended to. Returns the deleted files' paths. Readers holding them finish unharmed.
    @discardableResult
    public func deleteSegments(before lsn: UInt64) throws -> [String] {
        let doomed: [SegmentFile] = lock.withLock {
            let candidates = segments.dropLast().filter { $0.stats.nextLSN <= lsn }
            segments.removeFirst(candidates.count)
            return Array(candidates)
        }
        for file in doomed { try fileSystem.removeFile(file.path) }
        if !doomed.isEmpty { try fileSystem.syncDirectory(directory) }
        return doomed.map(\.path)
    }
}

/// Statistics of a log.
public struct LogStats: Sendable, Equatable {
    public var segments: [SegmentStats]
    public var durableLSN: UInt64

    public init(segments: [SegmentStats], durableLSN: UInt64) {
        self.segments = segments
        self.durableLSN = durableLSN
    }

    public var records: Int { segments.reduce(0) { $0 + $1.records } }
    /// Bytes of valid data in segment files (headers, frame headers, payloads, padding).
    public var bytesOnDisk: Int64 { segments.reduce(0) { $0 + $1.bytes } }
    /// Record bytes as appended (with their length prefixes).
    public var logicalBytes: Int64 { segments.reduce(0) { $0 + $1.rawPayloadBytes } }
    public var storedPayloadBytes: Int64 { segments.reduce(0) { $0 + $1.storedPayloadBytes } }
    /// Logical bytes over stored payload bytes (1.0 when nothing compressed).
    public var compressionRatio: Double {
        storedPayloadBytes == 0 ? 1 : Double(logicalBytes) / Double(storedPayloadBytes)
    }
}
