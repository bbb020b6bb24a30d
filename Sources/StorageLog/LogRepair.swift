import StorageCodec
public import StorageIO

/// What `annals store repair` will do to a damaged log: which frames it keeps, which bytes it
/// moves to quarantine, and which LSNs are lost. Made by `LogRepair.plan`, which changes nothing.
public struct LogRepairPlan: Sendable {
    /// A run of consecutive valid frames of one segment, kept byte for byte.
    public struct Piece: Sendable, Equatable {
        public var sourcePath: String
        /// Byte range of the frames in the source file.
        public var start: Int64
        public var end: Int64
        public var firstLSN: UInt64
        /// One past the last record (== firstLSN for a piece holding only a seal frame).
        public var nextLSN: UInt64
        public var frames: Int
    }

    /// Bytes that leave the log (copied to quarantine first).
    public struct Removal: Sendable, Equatable {
        public var path: String
        public var start: Int64
        public var end: Int64
        public var reason: String
        /// The damage ends the last segment with nothing valid after it: a write torn by a crash,
        /// never acknowledged (its LSNs are unknown and not declared lost).
        public var tornTail: Bool
    }

    public enum Action: Sendable, Equatable {
        /// Cut the file at this offset (only a tail goes).
        case truncate(to: Int64)
        /// Replace the file by one new segment per piece (header + the piece's frames).
        case rewrite(pieces: [Piece])
        /// No readable frame is left: the file goes (to quarantine).
        case remove
    }

    public struct Change: Sendable, Equatable {
        public var path: String
        public var action: Action
    }

    public var directory: String
    public var changes: [Change]
    public var removals: [Removal]
    /// LSN ranges lost by this repair (declared in the holes file), ascending.
    public var lost: [Range<UInt64>]
    /// Every hole of the log after the repair (earlier repairs' and this one's).
    public var holes: LogHoles
    /// Gaps between what is kept that an earlier repair already declared lost (one that was
    /// interrupted before it rewrote the segments shows up here when rerun).
    public var declaredEarlier: [Range<UInt64>] = []
    /// The holes file does not decode: it is moved to quarantine and written anew from the gaps.
    public var holesFileDamaged = false

    public var isEmpty: Bool { changes.isEmpty && lost.isEmpty && !holesFileDamaged }
    public var lostRecords: UInt64 { lost.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }

    /// One line per step, for the dry run and the report.
    public var steps: [String] {
        var lines: [String] = []
        for removal in removals {
            let what = removal.tornTail ? "torn tail" : "unreadable"
            lines.append("quarantine \(removal.end - removal.start) \(what) byte(s) of \(removal.path) at byte offset \(removal.start)..<\(removal.end): \(removal.reason)")
        }
        for change in changes {
            switch change.action {
            case .truncate(let size):
                lines.append("truncate \(change.path) to \(size) bytes")
            case .rewrite(let pieces):
                let targets = pieces.map { piece in
                    let what = piece.nextLSN > piece.firstLSN
                        ? "LSN \((piece.firstLSN..<piece.nextLSN).lsnDescription), \(piece.frames) frame(s)"
                        : "no records, \(piece.frames) seal frame(s); appends continue at LSN \(piece.firstLSN)"
                    return "\(SegmentHeader.fileName(firstLSN: piece.firstLSN)) (\(what))"
                }
                lines.append("rewrite \(change.path) keeping every readable frame as: " + (targets.isEmpty ? "an empty segment" : targets.joined(separator: ", ")))
            case .remove:
                lines.append("remove \(change.path) (no readable frame)")
            }
        }
        if holesFileDamaged { lines.append("replace the damaged \(LogHoles.Format.fileName) file (kept in quarantine) with one declaring every gap between the segments") }
        for range in lost { lines.append("declare LSN \(range.lsnDescription) lost (\(range.upperBound - range.lowerBound) record(s)) in \(LogHoles.Format.fileName)") }
        return lines
    }
}

/// Repair of a damaged log: keep every readable frame, quarantine every other byte, declare the
/// LSNs that are gone. See docs/recovery.md ("What repair does").
///
/// Frames are position-independent (a header names its LSNs, not its offset), so kept frames are
/// copied byte for byte; a run of frames after damage becomes a segment of its own, named by its
/// first LSN, and the LSNs between runs are declared in the holes file (`LogHoles`) so recovery
/// accepts the gap. Surviving records keep their LSNs.
public enum LogRepair {
    /// Works out what to do, reading every segment and changing nothing.
    public static func plan(directory: String, fileSystem: any FileSystem) throws -> LogRepairPlan {
        let names = try fileSystem.contentsOfDirectory(directory)
            .compactMap { name in SegmentHeader.firstLSN(fromFileName: name).map { (lsn: $0, name: name) } }
            .sorted { $0.lsn < $1.lsn }
        var existing = LogHoles()
        var holesFileDamaged = false
        do {
            existing = try LogHoles.load(from: directory, fileSystem: fileSystem)
        } catch let error as StorageError where error.code == .corruption {
            holesFileDamaged = true
        }
        var plan = LogRepairPlan(directory: directory, changes: [], removals: [], lost: [], holes: existing)
        plan.holesFileDamaged = holesFileDamaged
        var kept: [Range<UInt64>] = []  // LSN ranges of the segments after repair, in order
        var minLSN: UInt64 = 0
        var segmentStarts: [UInt64] = []
        for (index, entry) in names.enumerated() {
            let path = joinPath(directory, entry.name)
            let isLast = index == names.count - 1
            let walked = try walk(path: path, nameLSN: entry.lsn, minLSN: minLSN, fileSystem: fileSystem)
            var removals = walked.bad.map {
                LogRepairPlan.Removal(path: path, start: $0.start, end: $0.end, reason: $0.reason, tornTail: false)
            }
            if isLast, let last = removals.last, last.end == walked.size, walked.pieces.last.map({ $0.end <= last.start }) ?? true {
                removals[removals.count - 1].tornTail = true
            }
            plan.removals.append(contentsOf: removals)
            segmentStarts.append(entry.lsn)
            let inPlace = walked.headerValid && (walked.pieces.first.map { $0.start == Int64(SegmentHeader.Format.size) && $0.firstLSN == entry.lsn } ?? true)
            if walked.pieces.isEmpty {
                if walked.headerValid {
                    // Only the header is left (or nothing was wrong): keep it so LSNs continue from its name.
                    if !removals.isEmpty { plan.changes.append(.init(path: path, action: .truncate(to: Int64(SegmentHeader.Format.size)))) }
                    kept.append(entry.lsn..<entry.lsn)
                } else if isLast && entry.lsn >= minLSN && removals.contains(where: { $0.start >= Int64(SegmentHeader.Format.size) }) {
                    // Frames were there but none is readable: a fresh header keeps new LSNs past the lost ones.
                    plan.changes.append(.init(path: path, action: .rewrite(pieces: [])))
                    kept.append(entry.lsn..<entry.lsn)
                } else {
                    plan.changes.append(.init(path: path, action: .remove))
                }
            } else if inPlace && walked.pieces.count == 1 {
                let piece = walked.pieces[0]
                if piece.end < walked.size && !removals.isEmpty { plan.changes.append(.init(path: path, action: .truncate(to: piece.end))) }
                kept.append(piece.firstLSN..<piece.nextLSN)
            } else {
                plan.changes.append(.init(path: path, action: .rewrite(pieces: walked.pieces)))
                kept.append(contentsOf: walked.pieces.map { $0.firstLSN..<$0.nextLSN })
            }
            if let last = kept.last { minLSN = max(minLSN, last.upperBound) }
        }
        // Lost: the gaps between kept runs, and what the first segment's name says came before its
        // first readable frame.
        var gaps: [Range<UInt64>] = []
        if let first = kept.first, let start = segmentStarts.first, start < first.lowerBound { gaps.append(start..<first.lowerBound) }
        for (a, b) in zip(kept, kept.dropFirst()) where a.upperBound < b.lowerBound { gaps.append(a.upperBound..<b.lowerBound) }
        for gap in gaps {
            if existing.covers(gap) {
                plan.declaredEarlier.append(gap)
            } else {
                plan.lost.append(gap)
                plan.holes.insert(gap)
            }
        }
        return plan
    }

    struct Walk {
        var size: Int64
        var headerValid: Bool
        var pieces: [LogRepairPlan.Piece] = []
        var bad: [(start: Int64, end: Int64, reason: String)] = []
    }

    /// Reads one segment frame by frame, resynchronizing after damage at the next valid frame.
    static func walk(path: String, nameLSN: UInt64, minLSN: UInt64, fileSystem: any FileSystem) throws -> Walk {
        let handle = try fileSystem.open(path, .readOnly)
        defer { handle.close() }
        let size = try handle.size()
        var reader = BufferedReader(handle: handle, end: size)
        let headerSize = Int64(SegmentHeader.Format.size)
        let headerBytes = try reader.withBytes(at: 0, count: SegmentHeader.Format.size) { Array($0) }
        var result = Walk(size: size, headerValid: false)
        do {
            let header = try SegmentHeader.decode(headerBytes, path: path)
            if header.firstLSN == nameLSN {
                result.headerValid = true
            } else {
                result.bad.append((0, headerSize, "segment header says first LSN \(header.firstLSN) but the file name says \(nameLSN)"))
            }
        } catch let error as StorageError {
            result.bad.append((0, min(headerSize, size), error.message))
        }
        var offset = headerSize
        var current: LogRepairPlan.Piece? = nil
        var expected = minLSN
        func close() {
            if let piece = current { result.pieces.append(piece) }
            current = nil
        }
        while offset < size {
            var problem: String? = nil
            if size - offset < Int64(FrameHeader.Format.size) {
                if try LogRecovery.allZero(&reader, from: offset, to: size) { break }
                problem = "\(size - offset) bytes after the last frame are too short for a frame header"
            } else {
                let decoded = try reader.withBytes(at: offset, count: FrameHeader.Format.size) { FrameHeader.decode($0) }
                switch decoded {
                case .failure(let error):
                    if error.defect == .zeroes, try LogRecovery.allZero(&reader, from: offset, to: size) { break }
                    problem = error.defect.explanation
                case .success(let frame):
                    if frame.firstLSN < expected {
                        problem = "frame starts at LSN \(frame.firstLSN), which is already present (expected \(expected))"
                    } else if offset + Int64(frame.frameLength) > size {
                        problem = "frame of \(frame.frameLength) bytes extends past the end of the file (\(size) bytes)"
                    } else {
                        let payloadOK = try reader.withBytes(at: offset + Int64(FrameHeader.Format.size), count: Int(frame.storedLength)) {
                            Checksum.xxh3($0) == frame.payloadChecksum
                        }
                        if !payloadOK {
                            problem = "frame payload checksum mismatch at LSN \(frame.firstLSN)"
                        } else {
                            if let piece = current, piece.nextLSN != frame.firstLSN { close() }
                            if current == nil {
                                current = .init(sourcePath: path, start: offset, end: offset, firstLSN: frame.firstLSN, nextLSN: frame.firstLSN, frames: 0)
                            }
                            offset += Int64(frame.frameLength)
                            current!.end = offset
                            current!.nextLSN = frame.nextLSN
                            current!.frames += 1
                            expected = frame.nextLSN
                            continue
                        }
                    }
                }
                if problem == nil { break }  // only zero bytes remain
            }
            close()
            let resume = try LogRecovery.validFrameAfter(&reader, from: offset, size: size, minLSN: expected)
            let end = resume?.offset ?? size
            result.bad.append((offset, end, problem!))
            offset = end
        }
        close()
        return result
    }

    /// Carries out `plan`: copies every segment it changes, whole, to `quarantine/original/`, and
    /// every removed byte range to `quarantine/<segment>.<start>-<end>.bad`; writes the holes file;
    /// then truncates, rewrites (temporary file, fsync, rename) or removes segments, and fsyncs
    /// the directory. Take the directory lock first. Rerunning after a crash is safe: it plans anew.
    public static func apply(_ plan: LogRepairPlan, quarantine: String, fileSystem: any FileSystem) throws {
        let directory = plan.directory
        let originals = joinPath(quarantine, "original")
        try fileSystem.createDirectory(originals)
        for change in plan.changes {
            try copy(change.path, range: nil, to: joinPath(originals, baseName(change.path)), fileSystem: fileSystem)
        }
        for removal in plan.removals {
            let name = "\(baseName(removal.path)).\(removal.start)-\(removal.end).\(removal.tornTail ? "torn" : "bad")"
            try copy(removal.path, range: removal.start..<removal.end, to: joinPath(quarantine, name), fileSystem: fileSystem)
        }
        try fileSystem.syncDirectory(originals)
        try fileSystem.syncDirectory(quarantine)
        let holesPath = joinPath(directory, LogHoles.Format.fileName)
        if plan.holesFileDamaged && fileSystem.fileExists(holesPath) {
            try copy(holesPath, range: nil, to: joinPath(quarantine, LogHoles.Format.fileName + ".bad"), fileSystem: fileSystem)
            try fileSystem.syncDirectory(quarantine)
        }
        if !plan.lost.isEmpty || plan.holesFileDamaged {
            if plan.holes.isEmpty {
                try fileSystem.removeFile(holesPath)
                try fileSystem.syncDirectory(directory)
            } else {
                try plan.holes.store(in: directory, fileSystem: fileSystem)
            }
        }
        for change in plan.changes {
            switch change.action {
            case .truncate(let size):
                let handle = try fileSystem.open(change.path, .readWrite)
                defer { handle.close() }
                try handle.truncate(to: size)
                try handle.sync()
            case .remove:
                try fileSystem.removeFile(change.path)
            case .rewrite(let pieces):
                var targets: [String] = []
                let source = try fileSystem.open(change.path, .readOnly)
                defer { source.close() }
                let emptyAt = SegmentHeader.firstLSN(fromFileName: baseName(change.path)) ?? 1
                for piece in pieces.isEmpty ? [nil] : pieces.map(Optional.some) {
                    let firstLSN = piece?.firstLSN ?? emptyAt
                    let target = joinPath(directory, SegmentHeader.fileName(firstLSN: firstLSN))
                    let temporary = target + ".repair"
                    if fileSystem.fileExists(temporary) { try fileSystem.removeFile(temporary) }
                    let out = try fileSystem.open(temporary, .createNew)
                    do {
                        try out.writeAll(SegmentHeader(firstLSN: firstLSN).encoded(), at: 0)
                        if let piece {
                            var at = piece.start
                            while at < piece.end {
                                let chunk = try source.read(count: Int(min(Int64(LogLimits.readAheadBytes), piece.end - at)), at: at)
                                guard !chunk.isEmpty else { throw StorageError(.io, "short read while copying frames", path: change.path, offset: at) }
                                try out.writeAll(chunk, at: Int64(SegmentHeader.Format.size) + at - piece.start)
                                at += Int64(chunk.count)
                            }
                        }
                        try out.sync()
                        out.close()
                    } catch {
                        out.close()
                        throw error
                    }
                    try fileSystem.rename(temporary, to: target)
                    targets.append(target)
                }
                if !targets.contains(change.path) { try fileSystem.removeFile(change.path) }
            }
        }
        try fileSystem.syncDirectory(directory)
    }

    private static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func copy(_ path: String, range: Range<Int64>?, to target: String, fileSystem: any FileSystem) throws {
        let source = try fileSystem.open(path, .readOnly)
        defer { source.close() }
        let bounds = try range ?? 0..<source.size()
        if fileSystem.fileExists(target) { try fileSystem.removeFile(target) }
        let out = try fileSystem.open(target, .createNew)
        defer { out.close() }
        var at = bounds.lowerBound
        while at < bounds.upperBound {
            let chunk = try source.read(count: Int(min(Int64(LogLimits.readAheadBytes), bounds.upperBound - at)), at: at)
            guard !chunk.isEmpty else { break }
            try out.writeAll(chunk, at: at - bounds.lowerBound)
            at += Int64(chunk.count)
        }
        try out.sync()
    }
}
