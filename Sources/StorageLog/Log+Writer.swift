import StorageCodec
import StorageIO

/// The writer thread: drains the queue in groups, one frame + one write + one fdatasync per group,
/// and hands each group's completions to the completion thread (Log+Completion.swift).
extension Log {
    func writerLoop() {
        var builder = FrameBuilder()
        var output: [UInt8] = []
        while true {
            lock.lock()
            while pending.isEmpty && state == .open { lock.wait() }
            if pending.isEmpty {
                // Closing with nothing left to write.
                lock.unlock()
                finishClose(builder: &builder, output: &output)
                return
            }
            var batch: [PendingAppend] = []
            var batchBytes = 0
            for entry in pending {
                if !batch.isEmpty && batchBytes + entry.record.count > options.maxBatchBytes { break }
                batch.append(entry)
                batchBytes += entry.record.count
            }
            pending.removeFirst(batch.count)
            pendingBytes -= batchBytes
            admitWaiters()
            let failure = self.failure
            lock.unlock()

            if let failure {
                completions.push(.group(batch, .failure(Log.failedError(failure, directory: directory)), handler: false))
                continue
            }
            do {
                let positions = try write(batch, builder: &builder, output: &output)
                // Nothing more to write yet: run the completions here rather than wake their thread.
                if lock.withLock({ pending.isEmpty }) {
                    completions.runOrPush(.group(batch, .success(positions), handler: true))
                } else {
                    completions.push(.group(batch, .success(positions), handler: true))
                }
            } catch {
                completions.push(.group(batch, .failure(error), handler: false))
            }
        }
    }

    /// Moves waiting appenders into the queue while it has room. Call with the lock held.
    private func admitWaiters() {
        var admitted = 0
        for entry in admissionWaiters {
            guard pending.count < options.maxPendingRecords,
                pending.isEmpty || pendingBytes + entry.record.count <= options.maxPendingBytes
            else { break }
            pending.append(entry)
            pendingBytes += entry.record.count
            admitted += 1
        }
        admissionWaiters.removeFirst(admitted)
    }

    /// Writes one group as one frame. Throws the write's error after undoing it, or marks the log
    /// failed when the outcome on disk is unknown (failed fsync, failed undo).
    private func write(_ batch: [PendingAppend], builder: inout FrameBuilder, output: inout [UInt8]) throws -> [LogPosition] {
        let segment = try activeSegment()
        let firstLSN = nextLSN
        builder.reset()
        for entry in batch { builder.add(entry.record) }
        output.removeAll(keepingCapacity: true)
        let header = builder.encode(firstLSN: firstLSN, compress: options.compression, into: &output)
        let offset = segment.stats.bytes
        try writeDurably(output, to: segment, at: offset)

        let positions = (0..<batch.count).map {
            LogPosition(lsn: firstLSN + UInt64($0), segmentFirstLSN: segment.firstLSN, frameOffset: offset)
        }
        lock.withLock {
            segment.noteFrame(header, at: offset)
            nextLSN = header.nextLSN
            durableLSN = header.nextLSN - 1
            checkInvariants()
        }
        return positions
    }

    /// Writes `bytes` at `offset` and syncs. On a write error the bytes are truncated away and the
    /// error rethrown (the log stays usable); if that undo or the fsync fails, the log is failed.
    private func writeDurably(_ bytes: [UInt8], to segment: SegmentFile, at offset: Int64, preallocate: Bool = true) throws {
        do {
            try segment.handle.writeAll(bytes, at: offset)
        } catch let writeError as StorageError {
            segment.zeroedEnd = offset
            if options.stopOnWriteError {
                markFailed(writeError)
                throw Log.failedError(writeError, directory: directory)
            }
            do {
                try segment.handle.truncate(to: offset)
                try segment.handle.dataSync()
            } catch let undoError as StorageError {
                markFailed(undoError)
                throw Log.failedError(writeError, directory: directory)
            }
            throw writeError
        }
        let end = offset + Int64(bytes.count)
        segment.zeroedEnd = max(segment.zeroedEnd, end)
        // Zeros ahead, synced with this frame: the frames of the next groups then land in blocks
        // the file already has. Extended once less than half the preallocation is left.
        if preallocate && options.preallocationBytes > 0 && segment.zeroedEnd - end < Int64(options.preallocationBytes / 2) {
            let target = preallocationTarget(after: end)
            if target > segment.zeroedEnd {
                segment.zeroedEnd = writeZeros(segment.handle, from: segment.zeroedEnd, to: target)
            }
        }
        if options.durability == .fsync {
            do {
                try segment.handle.dataSync()
            } catch let syncError as StorageError {
                // After a failed fsync the kernel may have dropped the dirty pages: what is on disk
                // is unknown. Never retry and pretend; stop, and let reopen recover from the file.
                markFailed(syncError)
                throw Log.failedError(syncError, directory: directory)
            }
        }
    }

    private func markFailed(_ error: StorageError) {
        let drained: [PendingAppend] = lock.withLock {
            if self.failure == nil { self.failure = error }
            let drained = pending + admissionWaiters
            pending.removeAll()
            admissionWaiters.removeAll()
            pendingBytes = 0
            return drained
        }
        if !drained.isEmpty { completions.push(.group(drained, .failure(Log.failedError(error, directory: directory)), handler: false)) }
    }

    /// The segment to append to, rolling to a new one when the current one is full.
    private func activeSegment() throws -> SegmentFile {
        let current = lock.withLock { segments.last! }
        guard current.stats.bytes >= Int64(options.segmentBytes) else { return current }
        let next = try createSegment(firstLSN: nextLSN)
        lock.withLock { segments.append(next) }
        return next
    }

    /// Seals the active segment (when the log is healthy), closes files and releases the lock.
    private func finishClose(builder: inout FrameBuilder, output: inout [UInt8]) {
        let (wasFailed, files) = lock.withLock { (failure != nil, segments) }
        if !wasFailed, let last = files.last {
            builder.reset()
            output.removeAll(keepingCapacity: true)
            let header = builder.encode(kind: .seal, firstLSN: nextLSN, compress: false, into: &output)
            let offset = last.stats.bytes
            if (try? writeDurably(output, to: last, at: offset, preallocate: false)) != nil {
                lock.withLock { last.noteFrame(header, at: offset) }
                // A closed log keeps no preallocated tail (zeros there would be valid, only wasted).
                let end = offset + Int64(output.count)
                if last.zeroedEnd > end, (try? last.handle.truncate(to: end)) != nil, (try? last.handle.dataSync()) != nil {
                    last.zeroedEnd = end
                }
            }
        }
        for file in files { file.handle.close() }
        // Closed only once every completion has run: a caller of `close` may rely on them.
        let done = ConditionLock()
        nonisolated(unsafe) var drained = false
        completions.push(.barrier {
            done.withLock {
                drained = true
                done.broadcast()
            }
        })
        completions.stop()
        done.withLock { while !drained { done.wait() } }
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            state = .closed
            lock.broadcast()
            directoryLock?.release()
            directoryLock = nil
            let waiters = closeWaiters
            closeWaiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
