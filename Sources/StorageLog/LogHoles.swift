import StorageCodec
public import StorageIO

/// LSN ranges the log no longer has because `annals store repair` removed the frames that held
/// them (they were physically destroyed; their bytes are in the repair's quarantine folder).
///
/// LSNs are consecutive across segments, and recovery refuses a gap between two segments as a
/// lost segment. After a repair that gap is known and accepted: the `HOLES` file declares it, and
/// recovery opens a log whose gaps are all declared (and still refuses any other gap). Nothing
/// else in the log changes: surviving records keep their LSNs, and a read of a lost LSN fails
/// with `.notFound`. Only repair writes this file. Layout: docs/format/log.md ("Holes file").
public struct LogHoles: Equatable, Sendable {
    // Part of the on-disk format. Never change; add a new version instead.
    public enum Format {
        public static let magic: [UInt8] = Array("ANNALHOL".utf8)
        public static let version: UInt16 = 1
        public static let fileName = "HOLES"
        public static let temporaryFileName = "HOLES.tmp"
        /// magic, version, reserved u16, range count u32.
        public static let headerSize = 16
        /// first LSN u64, end LSN u64 (exclusive).
        public static let rangeSize = 16
    }

    /// Sorted, non-overlapping, non-adjacent ranges of lost LSNs.
    public private(set) var ranges: [Range<UInt64>]

    public init(_ ranges: [Range<UInt64>] = []) {
        self.ranges = []
        for range in ranges { insert(range) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Adds a range, merging it with overlapping or adjacent ones.
    public mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var merged = range
        var kept: [Range<UInt64>] = []
        for existing in ranges {
            if existing.upperBound < merged.lowerBound || existing.lowerBound > merged.upperBound {
                kept.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        kept.append(merged)
        ranges = kept.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Whether every LSN of `range` is declared lost.
    public func covers(_ range: Range<UInt64>) -> Bool {
        range.isEmpty || ranges.contains { $0.lowerBound <= range.lowerBound && $0.upperBound >= range.upperBound }
    }

    public func encoded() -> [UInt8] {
        var out = Format.magic
        out.appendLE(Format.version)
        out.appendLE(UInt16(0))
        out.appendLE(UInt32(ranges.count))
        for range in ranges {
            out.appendLE(range.lowerBound)
            out.appendLE(range.upperBound)
        }
        out.appendLE(Checksum.xxh3(out))
        return out
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> LogHoles {
        guard bytes.count >= Format.headerSize + 8, Array(bytes[0..<8]) == Format.magic else {
            throw StorageError(.corruption, "holes file has a bad magic number or is too short", path: path, offset: 0)
        }
        return try bytes.withUnsafeBytes { b in
            let version = b.loadLE(UInt16.self, at: 8)
            guard version == Format.version else {
                throw StorageError(.corruption, "holes file version \(version) is not supported", path: path, offset: 8)
            }
            let count = Int(b.loadLE(UInt32.self, at: 12))
            guard bytes.count == Format.headerSize + count * Format.rangeSize + 8 else {
                throw StorageError(.corruption, "holes file of \(bytes.count) bytes cannot hold \(count) ranges", path: path, offset: 12)
            }
            let stored = b.loadLE(UInt64.self, at: bytes.count - 8)
            let computed = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: b[0..<(bytes.count - 8)]))
            guard stored == computed else {
                throw StorageError(.corruption, "holes file checksum mismatch", path: path, offset: Int64(bytes.count - 8))
            }
            var ranges: [Range<UInt64>] = []
            for i in 0..<count {
                let at = Format.headerSize + i * Format.rangeSize
                let (first, end) = (b.loadLE(UInt64.self, at: at), b.loadLE(UInt64.self, at: at + 8))
                guard first < end, ranges.last.map({ $0.upperBound < first }) ?? true else {
                    throw StorageError(.corruption, "holes file range \(i) (\(first)..<\(end)) is empty or out of order", path: path, offset: Int64(at))
                }
                ranges.append(first..<end)
            }
            return LogHoles(ranges)
        }
    }

    /// The holes of `directory` (none when there is no holes file).
    public static func load(from directory: String, fileSystem: any FileSystem) throws -> LogHoles {
        let path = joinPath(directory, Format.fileName)
        guard let bytes = try fileSystem.readWholeFile(path) else { return LogHoles() }
        return try decode(bytes, path: path)
    }

    /// Writes the holes file durably and atomically (temporary file, fsync, rename, directory fsync).
    public func store(in directory: String, fileSystem: any FileSystem) throws {
        try fileSystem.replaceAtomically(
            directory: directory, name: Format.fileName, temporaryName: Format.temporaryFileName, bytes: encoded())
    }
}

extension Range<UInt64> {
    /// `5` or `5...9` (inclusive, as operators read LSNs).
    public var lsnDescription: String {
        upperBound - lowerBound == 1 ? "\(lowerBound)" : "\(lowerBound)...\(upperBound - 1)"
    }

    /// `LSN 5 was` or `LSNs 5...9 were`.
    public var lsnSubject: String {
        upperBound - lowerBound == 1 ? "LSN \(lowerBound) was" : "LSNs \(lowerBound)...\(upperBound - 1) were"
    }
}
