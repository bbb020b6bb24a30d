/// How a file is opened.
public enum OpenMode: Sendable, Equatable {
    /// Open an existing file for reading only.
    case readOnly
    /// Open an existing file for reading and writing.
    case readWrite
    /// Create a new file for reading and writing; fail with `.alreadyExists` if it exists.
    case createNew
}

/// The file-system operations the storage engine uses, and nothing more.
///
/// Everything the engine writes goes through this protocol, so tests can substitute an in-memory
/// file system that simulates crashes and a wrapper that injects faults. Paths are plain strings;
/// the engine only ever builds them by joining a directory and a file name.
///
/// Durability contract (what the POSIX implementation provides and the in-memory one simulates):
/// - bytes written to a handle are durable only after `dataSync()`/`sync()` on it returns;
/// - a created, renamed or removed directory entry is durable only after `syncDirectory` of its parent.
public protocol FileSystem: Sendable {
    func open(_ path: String, _ mode: OpenMode) throws -> any FileHandle
    /// File names (not paths) in a directory, in no particular order.
    func contentsOfDirectory(_ path: String) throws -> [String]
    /// Creates a directory and any missing parents. Succeeds if it already exists.
    func createDirectory(_ path: String) throws
    func removeFile(_ path: String) throws
    /// Atomically replaces `to` with `from`.
    func rename(_ from: String, to: String) throws
    /// Makes the directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws
    func fileExists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    /// Takes the exclusive lock of a data directory, or fails with `.locked` naming the holder's pid.
    func lockDirectory(_ path: String) throws -> any DirectoryLock
}

/// Storage APIs throw `StorageError` (plain `throws` keeps closures simple; nothing else is thrown).
///
/// An open file. Reads and writes are positional, so one handle may be shared by many readers.
public protocol FileHandle: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes bytes at `offset`; may write fewer than asked (a short write). Returns the count written.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int
    /// `fdatasync`: makes written data (and the size) durable.
    func dataSync() throws
    /// `fsync`: makes written data and all metadata durable.
    func sync() throws
    func truncate(to size: Int64) throws
    func size() throws -> Int64
    /// Closes the handle. Further calls fail with `.closed`. Closing twice is allowed.
    func close()
}

/// An exclusive lock on a data directory, held until `release()` (or process exit).
public protocol DirectoryLock: AnyObject, Sendable {
    func release()
}

extension FileHandle {
    /// Writes every byte, looping over short writes. A write that makes no progress is an error.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let n = try write(rest, at: offset + Int64(done))
            if n <= 0 {
                throw StorageError(
                    .io, "write made no progress (\(done) of \(bytes.count) bytes written)",
                    path: path, offset: offset + Int64(done))
            }
            done += n
        }
    }

    public func writeAll(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { buffer in try writeAll(buffer, at: offset) }
    }

    /// Reads up to `count` bytes at `offset`, looping until `count` bytes or end of file.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        let got = try result.withUnsafeMutableBytes { buffer in
            try readFully(into: buffer, at: offset)
        }
        if got < count { result.removeLast(count - got) }
        return result
    }

    /// Fills `buffer` from `offset`, looping; returns fewer bytes only at end of file.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n = try read(into: rest, at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }
}

/// Joins a directory and a name with exactly one slash.
public func joinPath(_ directory: String, _ name: String) -> String {
    if directory.isEmpty { return name }
    return directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
