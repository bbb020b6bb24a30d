/// Whole-structure checks, compiled only with `-D STORAGE_INTERNAL_CHECKS` (tools/test sets it).
extension Log {
    /// Walks every segment and queue the log holds in memory. Call with the lock held.
    func checkInvariants() {
        #if STORAGE_INTERNAL_CHECKS
        precondition(!segments.isEmpty, "an open log always has an active segment")
        for (previous, next) in zip(segments, segments.dropFirst()) {
            precondition(
                previous.stats.nextLSN == next.firstLSN
                    || (previous.stats.nextLSN < next.firstLSN && recovery.holes.covers(previous.stats.nextLSN..<next.firstLSN)),
                "segments are contiguous in LSN, but for holes a repair declared")
        }
        precondition(nextLSN == segments.last!.stats.nextLSN, "the next LSN follows the last segment")
        precondition(durableLSN == nextLSN - 1, "every written record is durable once the writer notes it")
        for segment in segments {
            precondition(segment.stats.nextLSN >= segment.firstLSN)
            precondition(segment.stats.bytes >= 32, "a segment holds at least its header")
            var lastLSN: UInt64 = 0
            var lastOffset: Int64 = -1
            for entry in segment.sparseIndex {
                precondition(entry.lsn >= segment.firstLSN && entry.lsn <= segment.stats.nextLSN)
                precondition(entry.lsn >= lastLSN && entry.offset > lastOffset, "sparse index is ordered")
                precondition(entry.offset < segment.stats.bytes)
                lastLSN = entry.lsn
                lastOffset = entry.offset
            }
        }
        precondition(pendingBytes == pending.reduce(0) { $0 + $1.record.count }, "queued byte count is exact")
        precondition(pending.count <= options.maxPendingRecords, "the queue is bounded")
        #endif
    }
}
