public import StorageIO
import StorageCodec

/// The list of live index files and the checkpoint: every log record with LSN <= `checkpointLSN`
/// is reflected in those files, so recovery replays the log from `checkpointLSN + 1`.
/// Replaced atomically (temp file, fsync, rename, directory fsync). Layout: docs/format/manifest.md.
public struct Manifest: Equatable, Sendable {
    // Part of the on-disk format. Never change; add a new version instead.
    public enum Format {
        public static let magic: [UInt8] = Array("ANNALMAN".utf8)
        public static let version: UInt16 = 1
        public static let fileName = "MANIFEST"
        public static let temporaryFileName = "MANIFEST.tmp"
    }

    public struct FileRecord: Equatable, Sendable {
        public var id: UInt64
        public var maxLSN: UInt64
        public var entries: UInt64
        public var bytes: UInt64

        public init(id: UInt64, maxLSN: UInt64, entries: UInt64, bytes: UInt64) {
            self.id = id
            self.maxLSN = maxLSN
            self.entries = entries
            self.bytes = bytes
        }
    }

    public var checkpointLSN: UInt64
    public var nextFileID: UInt64
    /// Oldest first (newer files shadow older ones for the same key).
    public var files: [FileRecord]

    public init(checkpointLSN: UInt64 = 0, nextFileID: UInt64 = 1, files: [FileRecord] = []) {
        self.checkpointLSN = checkpointLSN
        self.nextFileID = nextFileID
        self.files = files
    }

    public func encoded() -> [UInt8] {
        var out = Format.magic
        out.appendLE(Format.version)
        out.appendLE(UInt16(0))
        out.appendLE(UInt32(files.count))
        out.appendLE(checkpointLSN)
        out.appendLE(nextFileID)
        for file in files {
            out.appendLE(file.id)
            out.appendLE(file.maxLSN)
            out.appendLE(file.entries)
            out.appendLE(file.bytes)
        }
        out.appendLE(Checksum.xxh3(out))
        return out
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Manifest {
        guard bytes.count >= 40 else {
            throw StorageError(.corruption, "manifest is \(bytes.count) bytes, too short", path: path, offset: 0)
        }
        guard Array(bytes[0..<8]) == Format.magic else {
            throw StorageError(.corruption, "manifest has a bad magic number", path: path, offset: 0)
        }
        return try bytes.withUnsafeBytes { b in
            let version = b.loadLE(UInt16.self, at: 8)
            guard version == Format.version else {
                throw StorageError(.corruption, "manifest version \(version) is not supported", path: path, offset: 8)
            }
            let count = Int(b.loadLE(UInt32.self, at: 12))
            guard bytes.count == 32 + count * 32 + 8 else {
                throw StorageError(.corruption, "manifest of \(bytes.count) bytes cannot hold \(count) files", path: path, offset: 12)
            }
            let sum = b.loadLE(UInt64.self, at: bytes.count - 8)
            let computed = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: b[0..<(bytes.count - 8)]))
            guard sum == computed else {
                throw StorageError(.corruption, "manifest checksum mismatch", path: path, offset: Int64(bytes.count - 8))
            }
            var files: [FileRecord] = []
            for i in 0..<count {
                let p = 32 + i * 32
                files.append(FileRecord(
                    id: b.loadLE(UInt64.self, at: p), maxLSN: b.loadLE(UInt64.self, at: p + 8),
                    entries: b.loadLE(UInt64.self, at: p + 16), bytes: b.loadLE(UInt64.self, at: p + 24)))
            }
            return Manifest(checkpointLSN: b.loadLE(UInt64.self, at: 16), nextFileID: b.loadLE(UInt64.self, at: 24), files: files)
        }
    }

    /// Reads the manifest of `directory`; nil if there is none (a new store, or one to rebuild).
    public static func load(from directory: String, fileSystem: any FileSystem) throws -> Manifest? {
        let path = joinPath(directory, Format.fileName)
        guard let bytes = try fileSystem.readWholeFile(path) else { return nil }
        return try decode(bytes, path: path)
    }

    /// Writes this manifest durably and atomically in place of the current one.
    public func store(in directory: String, fileSystem: any FileSystem) throws {
        try fileSystem.replaceAtomically(
            directory: directory, name: Format.fileName, temporaryName: Format.temporaryFileName, bytes: encoded())
    }
}
