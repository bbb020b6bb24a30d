import StorageCodec
import StorageIO
import StorageIndex
import StorageLog
import Dispatch
import Synchronization

/// The background thread: flushes frozen memtables to index files and compacts index files.
/// It is the only writer of index files and of the manifest.
extension Store {
    func wakeBackground() {
        background.lock()
        background.signal()
        background.unlock()
    }

    func backgroundLoop() {
        while true {
            background.lock()
            while !backgroundWork.stop && !hasBackgroundWork() { background.wait() }
            let stopping = backgroundWork.stop
            background.unlock()
            if stopping {
                background.lock()
                backgroundWork.stopped = true
                let waiters = backgroundWork.stopWaiters
                let compactions = backgroundWork.compactionWaiters + backgroundWork.cleaningWaiters
                backgroundWork.stopWaiters.removeAll()
                backgroundWork.compactionWaiters.removeAll()
                backgroundWork.cleaningWaiters.removeAll()
                background.unlock()
                for waiter in compactions { waiter.resume(throwing: StorageError(.closed, "the store closed before the compaction ran")) }
                for waiter in waiters { waiter.resume() }
                return
            }
            do {
                try flushOldestFrozen()
                let requested: [CheckedContinuation<Void, any Error>] = background.withLock {
                    defer { backgroundWork.compactionWaiters.removeAll() }
                    return backgroundWork.compactionWaiters
                }
                if !requested.isEmpty && state.withLock({ $0.frozen.isEmpty }) {
                    do {
                        try compactAll()
                        for waiter in requested { waiter.resume() }
                    } catch {
                        for waiter in requested { waiter.resume(throwing: error) }
                        throw error
                    }
                } else if !requested.isEmpty {
                    background.withLock { backgroundWork.compactionWaiters.append(contentsOf: requested) }
                }
                let cleaning: [CheckedContinuation<Void, any Error>] = background.withLock {
                    defer { backgroundWork.cleaningWaiters.removeAll() }
                    return backgroundWork.cleaningWaiters
                }
                if !cleaning.isEmpty {
                    do {
                        try cleanSealedSegments()
                        for waiter in cleaning { waiter.resume() }
                    } catch {
                        for waiter in cleaning { waiter.resume(throwing: error) }
                        throw error
                    }
                }
                if state.withLock({ $0.files.count >= options.compactionTrigger }) { try compactAll() }
                if cleaningWanted() { try cleanOldestSegment() }
            } catch {
                // The index could not be written (disk full, I/O error): the log still holds every
                // write, so nothing is lost; stop accepting writes and let reopen retry from the log.
                let failure = (error as? StorageError) ?? StorageError(.io, "\(error)")
                let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
                    if state.failure == nil { state.failure = failure }
                    let waiters = state.roomWaiters
                    state.roomWaiters.removeAll()
                    return waiters
                }
                for waiter in waiters { waiter.resume() }
                background.lock()
                while !backgroundWork.stop {
                    let compactions = backgroundWork.compactionWaiters + backgroundWork.cleaningWaiters
                    backgroundWork.compactionWaiters.removeAll()
                    backgroundWork.cleaningWaiters.removeAll()
                    for waiter in compactions { waiter.resume(throwing: failure) }
                    background.wait()
                }
                background.unlock()
            }
        }
    }

    /// Call with `background` locked.
    private func hasBackgroundWork() -> Bool {
        !backgroundWork.compactionWaiters.isEmpty || !backgroundWork.cleaningWaiters.isEmpty
            || state.withLock { !$0.frozen.isEmpty || $0.files.count >= options.compactionTrigger }
            || cleaningWanted()
    }

    /// Whether the oldest log segment should be cleaned: cleaning is on, the log is more than
    /// `cleaningRatio` times the index, the oldest segment is sealed and wholly below the
    /// checkpoint (everything in it is in index files), and the last cleaning was worth it.
    func cleaningWanted() -> Bool {
        guard let ratio = options.cleaningRatio else { return false }
        let (checkpoint, indexBytes, paused) = state.withLock { state in
            (state.manifest.checkpointLSN,
             state.files.reduce(Int64(0)) { $0 + $1.bytes } + Int64(state.memtable.bytes + state.frozen.reduce(0) { $0 + $1.bytes }),
             state.cleaningPausedAtCheckpoint == state.manifest.checkpointLSN)
        }
        guard !paused else { return false }
        let segments = log.stats().segments
        guard segments.count > 1, let oldest = segments.first, oldest.nextLSN <= checkpoint + 1 else { return false }
        let logBytes = segments.reduce(Int64(0)) { $0 + $1.bytes }
        return Double(logBytes) > ratio * Double(max(indexBytes, 1))
    }

    /// Cleans, oldest first, every segment that was sealed when called and lies wholly below the
    /// checkpoint (`cleanLog` flushes first, so that is every sealed one). Segments the
    /// relocations themselves fill are left alone, so this ends.
    private func cleanSealedSegments() throws {
        guard let active = log.stats().segments.last?.firstLSN else { return }
        while true {
            // Relocated rows fill memtables; flush them as we go so memory stays bounded.
            while state.withLock({ !$0.frozen.isEmpty }) { try flushOldestFrozen() }
            let segments = log.stats().segments
            let checkpoint = state.withLock { $0.manifest.checkpointLSN }
            guard segments.count > 1, let oldest = segments.first, oldest.nextLSN <= active, oldest.nextLSN <= checkpoint + 1 else { return }
            try cleanOldestSegment()
        }
    }

    /// Relocates the live rows of the oldest segment to the head of the log, then deletes it.
    /// Oldest first, so a deleted segment's tombstones only ever hid rows in segments already
    /// gone, and the surviving log still replays to exactly the store's contents.
    private func cleanOldestSegment() throws {
        guard let oldest = log.stats().segments.first else { return }
        var next = oldest.firstLSN
        var relocated = 0
        var relocatedBytes = 0
        while next < oldest.nextLSN {
            var chunk: [Relocation] = []
            var resume = oldest.nextLSN
            try log.scan(from: next) { lsn, bytes in
                if lsn >= oldest.nextLSN { return false }
                if chunk.count >= StoreLimits.maxRelocationBatchRows {
                    resume = lsn
                    return false
                }
                for write in try BatchRecord.decode(Array(bytes), lsn: lsn).writes {
                    guard let row = write.row else { continue }
                    chunk.append(Relocation(
                        partition: PartitionID(table: write.table, key: write.partition), clustering: write.clustering, row: row, lsn: lsn))
                }
                return true
            }
            let rows = chunk
            let moved = try blocking { try await self.relocate(rows) }
            relocated += moved
            relocatedBytes += rows.prefix(moved).reduce(0) { $0 + $1.row.byteCount }
            next = resume
        }
        try log.deleteSegments(before: oldest.nextLSN)
        state.withLock { state in
            state.cleanedSegments += 1
            state.relocatedRows += relocated
            // Mostly live: cleaning more now would only copy data; wait for the next flush.
            if Double(relocatedBytes) > 0.8 * Double(oldest.rawPayloadBytes) {
                state.cleaningPausedAtCheckpoint = state.manifest.checkpointLSN
            }
        }
    }
}

/// Runs async work from the background thread and waits for it (the thread has nothing else to do).
private func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.set(.success(try await operation())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try box.get()
}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var result: Result<T, any Error>?
    func set(_ value: Result<T, any Error>) { lock.withLock { result = value } }
    func get() throws -> T { try lock.withLock { result! }.get() }
}

extension Store {

    /// Writes the memtable to an index file now (advancing the checkpoint) and waits for it.
    public func flush() async throws {
        let work: Bool = state.withLock { state in
            guard !state.memtable.isEmpty else { return !state.frozen.isEmpty }
            state.freezeMemtable()
            frozenCount.store(state.frozen.count)
            return true
        }
        guard work else { return }
        wakeBackground()
        while true {
            let (pending, failure) = state.withLock { ($0.frozen.count, $0.failure) }
            if let failure { throw failure }
            if pending == 0 { return }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Flushes, then cleans every sealed log segment (relocating its live rows to the head of the
    /// log, then deleting it) and waits for it: offline log cleaning to completion, for
    /// `annals store compact`. Returns how many segments were cleaned and rows relocated.
    public func cleanLog() async throws -> (segments: Int, relocatedRows: Int) {
        try await flush()
        let before = statistics
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            background.lock()
            backgroundWork.cleaningWaiters.append(continuation)
            background.signal()
            background.unlock()
        }
        let after = statistics
        return (after.cleanedSegments - before.cleanedSegments, after.relocatedRows - before.relocatedRows)
    }

    /// Flushes, then merges every index file into one, and waits for it.
    public func compact() async throws {
        try await flush()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            background.lock()
            backgroundWork.compactionWaiters.append(continuation)
            background.signal()
            background.unlock()
        }
    }

    /// Writes the oldest frozen memtable to a new index file and advances the checkpoint.
    private func flushOldestFrozen() throws {
        guard let (table, manifest) = state.withLock({ state in state.frozen.first.map { ($0, state.manifest) } }) else { return }
        let id = manifest.nextFileID
        let file = table.isEmpty ? nil : try writeIndexFile(id: id) { writer in try table.forEachSorted { key, entry in try writer.add(key, entry) } }
        var next = manifest
        next.nextFileID = id + 1
        next.checkpointLSN = max(manifest.checkpointLSN, table.maxLSN)
        if let file {
            next.files.append(Manifest.FileRecord(id: id, maxLSN: file.maxLSN, entries: file.entryCount, bytes: UInt64(file.bytes)))
        }
        try next.store(in: directory, fileSystem: fileSystem)
        let (waiters, flushed): ([CheckedContinuation<Void, Never>], Memtable) = state.withLock { state in
            if let file { state.files.append(file) }
            let retired = state.frozen.removeFirst()
            frozenCount.store(state.frozen.count)
            state.manifest = next
            state.flushes += 1
            let waiters = state.roomWaiters
            state.roomWaiters.removeAll()
            return (waiters, retired)
        }
        for waiter in waiters { waiter.resume() }
        // The flushed memtable is freed here, outside the lock: when its last reference went
        // inside it, every reader and writer waited there while its entries were freed (the
        // lock was held 0.16-0.18 s per 64 MiB memtable on the benchmark machine, 0.2 ms now).
        // Freeing it in small pieces with pauses instead did worse (docs/benchmarks.md, run 9).
        withExtendedLifetime(flushed) {}
    }

    /// Merges every index file into one. Tombstones are dropped: nothing older remains below them.
    private func compactAll() throws {
        let (files, manifest) = state.withLock { ($0.files, $0.manifest) }
        guard files.count >= 2 else { return }
        var cursors = try files.reversed().map { try $0.cursor(from: nil, to: nil) }  // newest first
        let id = manifest.nextFileID
        // Streamed into the new file: memory stays one block per input file plus the writer's.
        let file = try writeIndexFile(id: id) { writer in
            while true {
                var best: [UInt8]? = nil
                for cursor in cursors {
                    if let (key, _) = cursor.current, best == nil || lessThanKey(key, best!) { best = key }
                }
                guard let key = best else { break }
                var newest: IndexEntry? = nil
                for index in cursors.indices {
                    if let (k, e) = cursors[index].current, k == key {
                        if newest == nil { newest = e }
                        try cursors[index].advance()
                    }
                }
                if case .tombstone = newest!.value { continue }
                try writer.add(key, newest!)
            }
        }
        var next = manifest
        next.nextFileID = id + 1
        let replaced = Set(files.map(\.id))
        next.files.removeAll { replaced.contains($0.id) }
        if let file {
            next.files.insert(Manifest.FileRecord(id: id, maxLSN: file.maxLSN, entries: file.entryCount, bytes: UInt64(file.bytes)), at: 0)
        }
        try next.store(in: directory, fileSystem: fileSystem)
        state.withLock { state in
            state.files.removeAll { replaced.contains($0.id) }
            if let file { state.files.insert(file, at: 0) }
            state.manifest = next
            state.compactions += 1
        }
        // Readers holding the old files keep their open handles; the names go now.
        for old in files { try fileSystem.removeFile(old.path) }
        try fileSystem.syncDirectory(directory)
    }

    /// Writes the entries `produce` adds (ascending keys) to index file `id` and opens it; nil
    /// (and no file) when it adds none.
    private func writeIndexFile(id: UInt64, _ produce: (inout IndexFileWriter) throws -> Void) throws -> IndexFile? {
        let path = joinPath(directory, IndexFileFormat.fileName(id: id))
        var writer = try IndexFileWriter(fileSystem: fileSystem, path: path)
        do {
            try produce(&writer)
            if writer.entryCount == 0 {
                writer.abandon()
                try fileSystem.removeFile(path)
                return nil
            }
            _ = try writer.finish()
            try fileSystem.syncDirectory(directory)
            return try IndexFile(fileSystem: fileSystem, path: path, id: id, cache: blockCache)
        } catch {
            writer.abandon()
            try? fileSystem.removeFile(path)
            throw error
        }
    }
}

private func lessThanKey(_ a: [UInt8], _ b: [UInt8]) -> Bool { compareKeys(a, b) < 0 }
