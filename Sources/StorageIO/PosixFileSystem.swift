
import Glibc



import SystemPackage

/// The real file system: POSIX calls through swift-system's `FileDescriptor`, with `fdatasync`,
/// `fsync`, `ftruncate` and directory fsync added, each retried on EINTR.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, _ mode: OpenMode) throws -> any FileHandle {
        let access: FileDescriptor.AccessMode
        var options: FileDescriptor.OpenOptions = [.closeOnExec]
        switch mode {
        case .readOnly: access = .readOnly
        case .readWrite: access = .readWrite
        case .createNew:
            access = .readWrite
            options.formUnion([.create, .exclusiveCreate])
        }
        do {
            let fd = try FileDescriptor.open(
                FilePath(path), access, options: options, permissions: [.ownerReadWrite, .groupRead, .otherRead],
                retryOnInterrupt: true)
            return PosixFileHandle(fd: fd, path: path)
        } catch let errno as Errno {
            throw posixError(errno, "open (\(mode))", path: path)
        }
    }

    public func contentsOfDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw posixError(Errno(rawValue: Glibc.errno), "opendir", path: path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if !isDirectory(prefix) {
                if mkdir(prefix, 0o755) != 0 && Glibc.errno != EEXIST {
                    throw posixError(Errno(rawValue: Glibc.errno), "mkdir", path: prefix)
                }
            }
            prefix += "/"
        }
    }

    public func removeFile(_ path: String) throws {
        if unlink(path) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "unlink", path: path)
        }
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "rename to \(to)", path: from)
        }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw posixError(Errno(rawValue: Glibc.errno), "open directory", path: path) }
        defer { Glibc.close(fd) }
        if try retrying({ fsync(fd) }) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "fsync directory", path: path)
        }
    }

    public func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public func lockDirectory(_ path: String) throws -> any DirectoryLock {
        try PosixDirectoryLock(directory: path)
    }
}

/// An open POSIX file descriptor.
final class PosixFileHandle: FileHandle, @unchecked Sendable {
    // The descriptor is immutable after init except for `close`, which callers sequence after all
    // other use (the log closes a segment only once no reader holds it).
    private var fd: FileDescriptor?
    let path: String

    init(fd: FileDescriptor, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close() }

    private func descriptor() throws -> FileDescriptor {
        guard let fd else { throw StorageError(.closed, "file handle is closed", path: path) }
        return fd
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        do {
            return try descriptor().read(fromAbsoluteOffset: offset, into: buffer, retryOnInterrupt: true)
        } catch let errno as Errno {
            throw posixError(errno, "pread of \(buffer.count) bytes", path: path, offset: offset)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        do {
            return try descriptor().write(toAbsoluteOffset: offset, bytes, retryOnInterrupt: true)
        } catch let errno as Errno {
            throw posixError(errno, "pwrite of \(bytes.count) bytes", path: path, offset: offset)
        }
    }

    func dataSync() throws {
        let raw = try descriptor().rawValue
        if try retrying({ fdatasync(raw) }) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "fdatasync", path: path)
        }
    }

    func sync() throws {
        let raw = try descriptor().rawValue
        if try retrying({ fsync(raw) }) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "fsync", path: path)
        }
    }

    func truncate(to size: Int64) throws {
        let raw = try descriptor().rawValue
        if try retrying({ ftruncate(raw, off_t(size)) }) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "ftruncate", path: path, offset: size)
        }
    }

    func size() throws -> Int64 {
        let raw = try descriptor().rawValue
        var info = stat()
        if fstat(raw, &info) != 0 {
            throw posixError(Errno(rawValue: Glibc.errno), "fstat", path: path)
        }
        return Int64(info.st_size)
    }

    func close() {
        if let fd {
            try? fd.close()
            self.fd = nil
        }
    }
}

/// `flock` on `<dir>/LOCK`, holding the pid of the owner as text for the error message of others.
final class PosixDirectoryLock: DirectoryLock, @unchecked Sendable {
    private var fd: Int32

    init(directory: String) throws {
        let lockPath = joinPath(directory, "LOCK")
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw posixError(Errno(rawValue: Glibc.errno), "open lock file", path: lockPath) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = Glibc.errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            Glibc.close(fd)
            if err == EWOULDBLOCK {
                let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
                let pid = text.split(whereSeparator: { $0 == "\n" }).first.map(String.init) ?? "unknown"
                throw StorageError(
                    .locked, "data directory \(directory) is locked by pid \(pid)", path: lockPath)
            }
            throw posixError(Errno(rawValue: err), "flock", path: lockPath)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit { release() }

    func release() {
        if fd >= 0 {
            _ = flock(fd, LOCK_UN)
            Glibc.close(fd)
            fd = -1
        }
    }
}

private func retrying(_ call: () -> Int32) throws -> Int32 {
    while true {
        let result = call()
        if result == -1 && Glibc.errno == EINTR { continue }
        return result
    }
}

func posixError(_ errno: Errno, _ what: String, path: String, offset: Int64? = nil) -> StorageError {
    let code: StorageError.Code
    switch errno {
    case .noSpace, .diskQuotaExceeded: code = .noSpace
    case .noSuchFileOrDirectory: code = .notFound
    case .fileExists: code = .alreadyExists
    default: code = .io
    }
    return StorageError(code, "\(what) failed: \(errno)", path: path, offset: offset, errno: errno.rawValue)
}
