import StorageCodec
public import StorageIO

/// What recovery found wrong with a log directory, and what it will do about it.
/// The decision table is documented in docs/recovery.md and mirrored by `RecoveryTableTests`.
public struct RecoveryFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The last frame of the last segment was only partly written: truncated at `offset`.
        case tornTail = "torn tail"
        /// The last segment was being created when the process died and holds no frames: removed.
        case tornSegmentCreation = "torn segment creation"
        /// Damage to data that may have been acknowledged: the log refuses to open.
        case corruption
    }

    public var kind: Kind
    public var path: String
    public var offset: Int64
    public var message: String
    /// The LSN the damaged frame was expected to start at, when known.
    public var expectedLSN: UInt64?

    public var description: String {
        var text = "\(kind.rawValue): \(path) at byte offset \(offset): \(message)"
        if let expectedLSN { text += " (expected LSN \(expectedLSN))" }
        return text
    }
}

/// The result of scanning a log directory without changing it.
public struct RecoveryReport: Sendable {
    public var directory: String
    /// Every readable segment, in LSN order, with statistics up to its last valid frame.
    public var segments: [SegmentStats]
    public var segmentPaths: [String]
    public var findings: [RecoveryFinding]
    /// Whether the last segment ends with a seal frame (the log was closed cleanly).
    public var endsWithSeal: Bool
    /// LSNs a repair declared lost (the `HOLES` file); gaps between segments they cover are accepted.
    public var holes = LogHoles()

    public var corruption: [RecoveryFinding] { findings.filter { $0.kind == .corruption } }
    /// The LSN the next append gets.
    public var nextLSN: UInt64 { segments.last?.nextLSN ?? 1 }
}

public enum LogRecovery {
    /// Scans every segment of `directory`: headers, every frame header and payload checksum, LSN
    /// continuity. Changes nothing. With `decompress`, also decodes every payload (verify --full).
    /// `onSegment(index, count, path)` runs before each segment is scanned (progress output).
    public static func scan(
        directory: String, fileSystem: any FileSystem, decompress: Bool = false,
        onSegment: ((Int, Int, String) -> Void)? = nil
    ) throws -> RecoveryReport {
        try scan(directory: directory, fileSystem: fileSystem, decompress: decompress, onSegment: onSegment, onFrame: nil)
    }

    /// As `scan`, calling `onFrame(segment path, frame, offset)` for every valid frame.
    static func scan(
        directory: String, fileSystem: any FileSystem, decompress: Bool,
        onSegment: ((Int, Int, String) -> Void)? = nil,
        onFrame: ((String, FrameHeader, Int64) throws -> Void)?
    ) throws -> RecoveryReport {
        let names = try fileSystem.contentsOfDirectory(directory)
            .compactMap { name in SegmentHeader.firstLSN(fromFileName: name).map { (lsn: $0, name: name) } }
            .sorted { $0.lsn < $1.lsn }
        var report = RecoveryReport(directory: directory, segments: [], segmentPaths: [], findings: [], endsWithSeal: false)
        do {
            report.holes = try LogHoles.load(from: directory, fileSystem: fileSystem)
        } catch let error as StorageError where error.code == .corruption {
            report.findings.append(RecoveryFinding(
                kind: .corruption, path: error.path ?? joinPath(directory, LogHoles.Format.fileName), offset: error.offset ?? 0,
                message: error.message, expectedLSN: nil))
        }
        var expected: UInt64? = nil
        for (index, entry) in names.enumerated() {
            let path = joinPath(directory, entry.name)
            let isLast = index == names.count - 1
            onSegment?(index, names.count, path)
            let scanned = try scanSegment(
                path: path, nameLSN: entry.lsn, fileSystem: fileSystem, isLast: isLast, decompress: decompress,
                onFrame: onFrame.map { visit in { frame, offset in try visit(path, frame, offset) } })
            report.findings.append(contentsOf: scanned.findings)
            guard let stats = scanned.stats else { continue }
            if let expected, stats.firstLSN != expected, !(stats.firstLSN > expected && report.holes.covers(expected..<stats.firstLSN)) {
                let what = stats.firstLSN > expected
                    ? "LSNs \(expected)..<\(stats.firstLSN) are missing (a segment file is gone)"
                    : "segment starts at LSN \(stats.firstLSN) but the previous one ends at \(expected - 1) (overlap)"
                report.findings.append(RecoveryFinding(
                    kind: .corruption, path: path, offset: 0, message: what, expectedLSN: expected))
            }
            expected = stats.nextLSN
            report.segments.append(stats)
            report.segmentPaths.append(path)
            if isLast { report.endsWithSeal = scanned.endsWithSeal }
        }
        return report
    }

    struct SegmentScan {
        var stats: SegmentStats?
        var findings: [RecoveryFinding] = []
        var endsWithSeal = false
    }

    /// Scans one segment. A defect in the last segment is a torn tail unless a valid frame follows it.
    static func scanSegment(
        path: String, nameLSN: UInt64, fileSystem: any FileSystem, isLast: Bool, decompress: Bool,
        onFrame: ((FrameHeader, Int64) throws -> Void)? = nil
    ) throws -> SegmentScan {
        var result = SegmentScan()
        let handle = try fileSystem.open(path, .readOnly)
        defer { handle.close() }
        let size = try handle.size()
        var reader = BufferedReader(handle: handle, end: size)

        // Segment header.
        let headerBytes = try reader.withBytes(at: 0, count: SegmentHeader.Format.size) { Array($0) }
        let header: SegmentHeader
        do {
            header = try SegmentHeader.decode(headerBytes, path: path)
        } catch let error as StorageError {
            let emptyAfter = try allZero(&reader, from: Int64(min(Int(size), SegmentHeader.Format.size)), to: size)
            let headerBlank = headerBytes.allSatisfy { $0 == 0 } || headerBytes.count < SegmentHeader.Format.size
            if isLast && emptyAfter && (headerBlank || error.code == .corruption) {
                result.findings.append(RecoveryFinding(
                    kind: .tornSegmentCreation, path: path, offset: 0,
                    message: "\(error.message); the file holds no frames", expectedLSN: nameLSN))
            } else {
                result.findings.append(RecoveryFinding(
                    kind: .corruption, path: path, offset: error.offset ?? 0, message: error.message,
                    expectedLSN: nameLSN))
            }
            return result
        }
        guard header.firstLSN == nameLSN else {
            result.findings.append(RecoveryFinding(
                kind: .corruption, path: path, offset: 16,
                message: "header says first LSN \(header.firstLSN) but the file name says \(nameLSN)",
                expectedLSN: nameLSN))
            return result
        }

        var stats = SegmentStats(firstLSN: header.firstLSN)
        var offset = Int64(SegmentHeader.Format.size)
        var defect: (offset: Int64, message: String, certain: Bool)? = nil
        frames: while offset < size {
            let remaining = size - offset
            if remaining < Int64(FrameHeader.Format.size) {
                if try allZero(&reader, from: offset, to: size) { break frames }
                defect = (offset, "\(remaining) bytes after the last frame are too short for a frame header", false)
                break frames
            }
            let decoded = try reader.withBytes(at: offset, count: FrameHeader.Format.size) { FrameHeader.decode($0) }
            let frame: FrameHeader
            switch decoded {
            case .failure(let error):
                if error.defect == .zeroes, try allZero(&reader, from: offset, to: size) { break frames }
                defect = (offset, error.defect.explanation, false)
                break frames
            case .success(let h):
                frame = h
            }
            if frame.firstLSN != stats.nextLSN {
                defect = (offset, "frame starts at LSN \(frame.firstLSN), expected \(stats.nextLSN)", true)
                break frames
            }
            if offset + Int64(frame.frameLength) > size {
                defect = (offset, "frame of \(frame.frameLength) bytes extends past the end of the file (\(size) bytes)", false)
                break frames
            }
            let payloadOffset = offset + Int64(FrameHeader.Format.size)
            do {
                try reader.withBytes(at: payloadOffset, count: Int(frame.storedLength)) { stored in
                    if decompress {
                        let raw = try FramePayload.rawPayload(header: frame, stored: stored, path: path, offset: offset)
                        try raw.withUnsafeBytes { rawBytes in
                            try FramePayload.forEachRecord(
                                in: rawBytes, count: Int(frame.recordCount), path: path, offset: offset) { _, _ in }
                        }
                    } else {
                        let computed = Checksum.xxh3(stored)
                        if computed != frame.payloadChecksum {
                            throw StorageError(
                                .corruption,
                                "frame payload checksum mismatch at LSN \(frame.firstLSN) (stored \(hex(frame.payloadChecksum)), computed \(hex(computed)))",
                                path: path, offset: offset)
                        }
                    }
                }
            } catch let error as StorageError where error.code == .corruption {
                defect = (offset, error.message, false)
                break frames
            }
            try onFrame?(frame, offset)
            stats.frames += 1
            stats.records += Int(frame.recordCount)
            stats.nextLSN = frame.nextLSN
            stats.rawPayloadBytes += Int64(frame.rawLength)
            stats.storedPayloadBytes += Int64(frame.storedLength)
            offset += Int64(frame.frameLength)
            stats.bytes = offset
            result.endsWithSeal = frame.kind == .seal
        }
        result.stats = stats

        if let defect {
            let later = defect.certain ? nil : try validFrameAfter(&reader, from: defect.offset, size: size, minLSN: stats.nextLSN)
            if isLast && !defect.certain && later == nil {
                result.findings.append(RecoveryFinding(
                    kind: .tornTail, path: path, offset: defect.offset,
                    message: "\(defect.message); no valid frame follows, so the write was torn by a crash",
                    expectedLSN: stats.nextLSN))
            } else {
                var message = defect.message
                if let later { message += "; a valid frame (LSN \(later.lsn)) follows at byte offset \(later.offset)" }
                else if !isLast { message += "; this is not the last segment" }
                result.findings.append(RecoveryFinding(
                    kind: .corruption, path: path, offset: defect.offset, message: message, expectedLSN: stats.nextLSN))
            }
        }
        return result
    }

    static func allZero(_ reader: inout BufferedReader, from start: Int64, to end: Int64) throws -> Bool {
        var offset = start
        while offset < end {
            let chunk = Int(min(Int64(LogLimits.readAheadBytes), end - offset))
            let zero = try reader.withBytes(at: offset, count: chunk) { bytes in bytes.allSatisfy { $0 == 0 } }
            if !zero { return false }
            offset += Int64(chunk)
        }
        return true
    }

    /// Looks for a frame with a valid header and payload at any aligned offset after `from`.
    static func validFrameAfter(
        _ reader: inout BufferedReader, from: Int64, size: Int64, minLSN: UInt64
    ) throws -> (lsn: UInt64, offset: Int64)? {
        let alignment = Int64(FrameHeader.Format.alignment)
        var offset = (from / alignment + 1) * alignment
        while offset + Int64(FrameHeader.Format.size) <= size {
            let decoded = try reader.withBytes(at: offset, count: FrameHeader.Format.size) { FrameHeader.decode($0) }
            if case .success(let frame) = decoded, frame.firstLSN >= minLSN,
                offset + Int64(frame.frameLength) <= size
            {
                let payloadOK = try reader.withBytes(
                    at: offset + Int64(FrameHeader.Format.size), count: Int(frame.storedLength)
                ) { Checksum.xxh3($0) == frame.payloadChecksum }
                if payloadOK { return (frame.firstLSN, offset) }
            }
            offset += alignment
        }
        return nil
    }
}
