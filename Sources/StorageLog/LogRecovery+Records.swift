import StorageCodec
public import StorageIO

/// Read-only record access for tools that must not take the directory lock (`annals store dump`,
/// `verify --full`, `stats`): it works on a live directory, reading only what recovery would
/// accept (every frame checksummed), and never writes.
extension LogRecovery {
    /// Scans the log like `scan` and calls `body(lsn, record, segment path, frame offset)` for
    /// every record with LSN >= `lsn` in the valid part of each segment, in LSN order.
    /// `body` returns false to stop early; the scan then ends and returns nil.
    /// A live writer may be appending meanwhile: the scan stops at what it sees as the tail.
    public static func scanRecords(
        directory: String, fileSystem: any FileSystem, from lsn: UInt64 = 1,
        onSegment: ((Int, Int, String) -> Void)? = nil,
        _ body: (UInt64, UnsafeRawBufferPointer, String, Int64) throws -> Bool
    ) throws -> RecoveryReport? {
        var handles: [String: any FileHandle] = [:]
        defer { for handle in handles.values { handle.close() } }
        do {
            return try withoutActuallyEscaping(body) { body in
                try scan(directory: directory, fileSystem: fileSystem, decompress: false, onSegment: onSegment) {
                    path, frame, offset in
                    guard frame.kind == .records, frame.nextLSN > lsn else { return }
                    let handle: any FileHandle
                    if let open = handles[path] {
                        handle = open
                    } else {
                        for other in handles.values { other.close() }
                        handles.removeAll()
                        handle = try fileSystem.open(path, .readOnly)
                        handles[path] = handle
                    }
                    let stored = try handle.read(count: Int(frame.storedLength), at: offset + Int64(FrameHeader.Format.size))
                    guard stored.count == Int(frame.storedLength) else {
                        throw StorageError(.corruption, "the file ends inside a frame payload", path: path, offset: offset)
                    }
                    let raw = try stored.withUnsafeBytes { try FramePayload.rawPayload(header: frame, stored: $0, path: path, offset: offset) }
                    var keepGoing = true
                    try raw.withUnsafeBytes { bytes in
                        try FramePayload.forEachRecord(in: bytes, count: Int(frame.recordCount), path: path, offset: offset) { index, record in
                            let recordLSN = frame.firstLSN + UInt64(index)
                            if keepGoing && recordLSN >= lsn { keepGoing = try body(recordLSN, record, path, offset) }
                        }
                    }
                    if !keepGoing { throw StopScan() }
                }
            }
        } catch is StopScan {
            return nil
        }
    }

    private struct StopScan: Error {}
}
