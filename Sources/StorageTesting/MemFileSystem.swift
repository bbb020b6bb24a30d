public import StorageIO
import Synchronization

/// An in-memory file system that remembers what is durable, to simulate crashes.
///
/// - A file's bytes become durable at `dataSync()`/`sync()` of a handle to it.
/// - A directory entry (create, rename, remove) becomes durable at `syncDirectory` of its directory.
/// - `crashClone()` returns a new file system holding only durable state, as after a power loss;
///   `.tornUnsynced` keeps a random prefix of each unsynced write as well (appended or over
///   existing bytes, such as a log's preallocated zeros), with some of them scrambled, as a torn
///   write leaves them.
///
/// Each file keeps its durable bytes apart from its current ones and the ranges written since the
/// last sync, so a write costs its own size and a sync the bytes written since the last one.
/// Directories themselves are always durable.
public final class MemFileSystem: FileSystem, @unchecked Sendable {
    final class Node: @unchecked Sendable {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        /// Ranges of `current` written since the last sync, in write order, adjacent ones merged.
        var unsynced: [Range<Int>] = []
        /// The shortest `current` has been since the last sync (a truncate): bytes past it that no
        /// write covers are zeros now, whatever `durable` held there.
        var shortestSinceSync: Int?
        init() {}
        init(current: [UInt8], durable: [UInt8]) {
            self.current = current
            self.durable = durable
        }

        func noteWrite(_ range: Range<Int>) {
            if let last = unsynced.last, last.upperBound == range.lowerBound {
                unsynced[unsynced.count - 1] = last.lowerBound..<range.upperBound
            } else {
                unsynced.append(range)
            }
        }

        /// Makes `durable` equal `current`, copying only what changed since the last sync.
        func sync() {
            if let shortest = shortestSinceSync, durable.count > shortest { durable.removeLast(durable.count - shortest) }
            shortestSinceSync = nil
            if durable.count > current.count {
                durable.removeLast(durable.count - current.count)
            } else if durable.count < current.count {
                durable.append(contentsOf: repeatElement(0, count: current.count - durable.count))
            }
            durable.withUnsafeMutableBufferPointer { target in
                current.withUnsafeBufferPointer { source in
                    for range in unsynced {
                        let clipped = range.clamped(to: 0..<source.count)
                        guard !clipped.isEmpty else { continue }
                        UnsafeMutableBufferPointer(rebasing: target[clipped]).update(fromContentsOf: source[clipped])
                    }
                }
            }
            unsynced.removeAll()
            // Bytes zero-filled by a write past the end or an extending truncate are zero in both.
        }

        func noteTruncate(to size: Int) {
            shortestSinceSync = min(shortestSinceSync ?? current.count, size)
        }
    }

    struct State {
        var directories: Set<String> = ["/"]
        /// path → file, as a process sees it now.
        var entries: [String: Node] = [:]
        /// path → file, as it would be after a crash.
        var durableEntries: [String: Node] = [:]
        var locked: Set<String> = []
    }

    let state = Mutex(State())

    public init() {}

    public enum CrashMode: Sendable {
        /// Keep only synced bytes and synced directory entries.
        case syncedOnly
        /// Also keep a random prefix of each unsynced write (appended or over existing bytes), scrambling up to a few bytes of it.
        case tornUnsynced(seed: UInt64)
    }

    /// A new file system with what would survive a crash now.
    public func crashClone(_ mode: CrashMode = .syncedOnly) -> MemFileSystem {
        let clone = MemFileSystem()
        var random = SeededRandom(seed: { if case .tornUnsynced(let s) = mode { return s } else { return 0 } }())
        state.withLock { state in
            clone.state.withLock { target in
                target.directories = state.directories
                for (path, node) in state.durableEntries.sorted(by: { $0.key < $1.key }) {
                    var bytes = node.durable
                    if case .tornUnsynced = mode {
                        // Each unsynced write reached the disk in part: a random prefix, maybe scrambled.
                        for range in node.unsynced {
                            let clipped = range.clamped(to: 0..<node.current.count)
                            let keep = Int(random.next() % UInt64(clipped.count + 1))
                            guard keep > 0 else { continue }
                            var part = Array(node.current[clipped.lowerBound..<(clipped.lowerBound + keep)])
                            if random.next() % 2 == 0 {
                                for _ in 0..<(1 + Int(random.next() % 4)) {
                                    part[Int(random.next() % UInt64(part.count))] = UInt8(truncatingIfNeeded: random.next())
                                }
                            }
                            let end = clipped.lowerBound + keep
                            if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
                            bytes.replaceSubrange(clipped.lowerBound..<end, with: part)
                        }
                    }
                    let copy = Node(current: bytes, durable: bytes)
                    target.entries[path] = copy
                    target.durableEntries[path] = copy
                }
            }
        }
        return clone
    }

    // MARK: Test access

    /// The current bytes of a file (nil if absent).
    public func contents(of path: String) -> [UInt8]? {
        state.withLock { $0.entries[path]?.current }
    }

    /// Replaces a file's bytes, durably (for corrupting files in tests).
    public func setContents(of path: String, _ bytes: [UInt8]) {
        state.withLock { state in
            let node = state.entries[path] ?? Node()
            node.current = bytes
            node.durable = bytes
            node.unsynced = []
            node.shortestSinceSync = nil
            state.entries[path] = node
            state.durableEntries[path] = node
        }
    }

    // MARK: FileSystem

    public func open(_ path: String, _ mode: OpenMode) throws -> any FileHandle {
        try state.withLock { state in
            guard state.directories.contains(parent(path)) else {
                throw StorageError(.notFound, "open: no such directory", path: path, errno: 2)
            }
            switch mode {
            case .readOnly, .readWrite:
                guard let node = state.entries[path] else {
                    throw StorageError(.notFound, "open: no such file", path: path, errno: 2)
                }
                return MemFileHandle(fileSystem: self, node: node, path: path, writable: mode == .readWrite)
            case .createNew:
                if state.entries[path] != nil {
                    throw StorageError(.alreadyExists, "open: file exists", path: path, errno: 17)
                }
                let node = Node()
                state.entries[path] = node
                return MemFileHandle(fileSystem: self, node: node, path: path, writable: true)
            }
        }
    }

    public func contentsOfDirectory(_ path: String) throws -> [String] {
        try state.withLock { state in
            let dir = normalize(path)
            guard state.directories.contains(dir) else {
                throw StorageError(.notFound, "no such directory", path: path, errno: 2)
            }
            var names = state.entries.keys.filter { parent($0) == dir }.map { String($0.dropFirst(dir == "/" ? 1 : dir.count + 1)) }
            names += state.directories.filter { $0 != dir && parent($0) == dir }.map { String($0.dropFirst(dir == "/" ? 1 : dir.count + 1)) }
            return names
        }
    }

    public func createDirectory(_ path: String) throws {
        state.withLock { state in
            var prefix = ""
            for component in normalize(path).split(separator: "/") {
                prefix += "/" + component
                state.directories.insert(prefix)
            }
        }
    }

    public func removeFile(_ path: String) throws {
        try state.withLock { state in
            guard state.entries.removeValue(forKey: path) != nil else {
                throw StorageError(.notFound, "unlink: no such file", path: path, errno: 2)
            }
        }
    }

    public func rename(_ from: String, to: String) throws {
        try state.withLock { state in
            guard let node = state.entries.removeValue(forKey: from) else {
                throw StorageError(.notFound, "rename: no such file", path: from, errno: 2)
            }
            state.entries[to] = node
        }
    }

    public func syncDirectory(_ path: String) throws {
        state.withLock { state in
            let dir = normalize(path)
            for key in state.durableEntries.keys where parent(key) == dir { state.durableEntries.removeValue(forKey: key) }
            for (key, node) in state.entries where parent(key) == dir { state.durableEntries[key] = node }
        }
    }

    public func fileExists(_ path: String) -> Bool {
        state.withLock { $0.entries[path] != nil || $0.directories.contains(normalize(path)) }
    }

    public func isDirectory(_ path: String) -> Bool {
        state.withLock { $0.directories.contains(normalize(path)) }
    }

    public func lockDirectory(_ path: String) throws -> any DirectoryLock {
        let dir = normalize(path)
        return try state.withLock { state in
            guard !state.locked.contains(dir) else {
                throw StorageError(.locked, "data directory \(path) is locked by pid (this process)", path: dir)
            }
            state.locked.insert(dir)
            return MemDirectoryLock(fileSystem: self, directory: dir)
        }
    }

    func normalize(_ path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.hasPrefix("/") ? trimmed : "/" + trimmed
    }

    func parent(_ path: String) -> String {
        let p = normalize(path)
        guard let slash = p.lastIndex(of: "/") else { return "/" }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }
}

final class MemDirectoryLock: DirectoryLock, @unchecked Sendable {
    let fileSystem: MemFileSystem
    let directory: String
    private let released = Mutex(false)

    init(fileSystem: MemFileSystem, directory: String) {
        self.fileSystem = fileSystem
        self.directory = directory
    }

    func release() {
        let first = released.withLock { done in
            defer { done = true }
            return !done
        }
        if first { fileSystem.state.withLock { _ = $0.locked.remove(directory) } }
    }
}

final class MemFileHandle: FileHandle, @unchecked Sendable {
    let fileSystem: MemFileSystem
    let node: MemFileSystem.Node
    let path: String
    let writable: Bool
    private let closed = Mutex(false)

    init(fileSystem: MemFileSystem, node: MemFileSystem.Node, path: String, writable: Bool) {
        self.fileSystem = fileSystem
        self.node = node
        self.path = path
        self.writable = writable
    }

    private func checkOpen() throws {
        if closed.withLock({ $0 }) { throw StorageError(.closed, "file handle is closed", path: path) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try checkOpen()
        return fileSystem.state.withLock { _ in
            let start = Int(offset)
            guard start < node.current.count else { return 0 }
            let n = min(buffer.count, node.current.count - start)
            node.current.withUnsafeBytes { src in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<(start + n)]))
            }
            return n
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        try checkOpen()
        guard writable else { throw StorageError(.io, "write to a read-only handle", path: path, errno: 9) }
        fileSystem.state.withLock { _ in
            let start = Int(offset)
            if node.current.count < start + bytes.count {
                node.current.append(contentsOf: repeatElement(0, count: start + bytes.count - node.current.count))
            }
            node.current.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + bytes.count)]).copyMemory(from: bytes)
            }
            node.noteWrite(start..<(start + bytes.count))
        }
        return bytes.count
    }

    func dataSync() throws {
        try checkOpen()
        fileSystem.state.withLock { _ in node.sync() }
    }

    func sync() throws { try dataSync() }

    func truncate(to size: Int64) throws {
        try checkOpen()
        fileSystem.state.withLock { _ in
            let n = Int(size)
            node.noteTruncate(to: n)
            if node.current.count > n { node.current.removeLast(node.current.count - n) }
            else { node.current.append(contentsOf: repeatElement(0, count: n - node.current.count)) }
        }
    }

    func size() throws -> Int64 {
        try checkOpen()
        return fileSystem.state.withLock { _ in Int64(node.current.count) }
    }

    func close() { closed.withLock { $0 = true } }
}
