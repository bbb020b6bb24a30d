public import StorageIO
import Synchronization

/// Wraps a file system and injects faults by rule: EIO, ENOSPC, short writes, failed fsyncs,
/// flipped bits on read. Everything not matched by a rule passes through unchanged.
public final class FaultyFileSystem: FileSystem, @unchecked Sendable {
    public enum Operation: Sendable, Equatable {
        case open, read, write, sync, truncate, syncDirectory, removeFile, rename
    }

    public enum Effect: Sendable, Equatable {
        /// Fails with EIO.
        case ioError
        /// Fails with ENOSPC (after writing nothing).
        case noSpace
        /// Writes at most this many bytes and reports the short count (a later rule can then fail).
        case shortWrite(maxBytes: Int)
        /// Succeeds, but flips the lowest bit of the byte at this index of what was read.
        case flipBit(atReadIndex: Int)
    }

    public struct Rule: Sendable {
        public var operation: Operation
        /// The rule applies to paths containing this (empty: every path).
        public var pathContains: String
        /// Matching calls to let through before the rule fires.
        public var skip: Int
        /// How many times it fires (then it is spent).
        public var times: Int
        public var effect: Effect

        public init(_ operation: Operation, pathContains: String = "", skip: Int = 0, times: Int = 1, effect: Effect) {
            self.operation = operation
            self.pathContains = pathContains
            self.skip = skip
            self.times = times
            self.effect = effect
        }
    }

    public let base: any FileSystem
    private let rules = Mutex<[Rule]>([])
    private let fired = Mutex<Int>(0)

    public init(base: any FileSystem) {
        self.base = base
    }

    public func inject(_ rule: Rule) {
        rules.withLock { $0.append(rule) }
    }

    public func clearFaults() {
        rules.withLock { $0.removeAll() }
    }

    /// How many faults have fired so far.
    public var faultsFired: Int { fired.withLock { $0 } }

    /// The effect to apply to this call, if a rule fires.
    func effect(for operation: Operation, path: String) -> Effect? {
        let effect: Effect? = rules.withLock { rules in
            for index in rules.indices where rules[index].operation == operation && rules[index].times > 0
                && (rules[index].pathContains.isEmpty || path.contains(rules[index].pathContains))
            {
                if rules[index].skip > 0 {
                    rules[index].skip -= 1
                    continue
                }
                rules[index].times -= 1
                return rules[index].effect
            }
            return nil
        }
        if effect != nil { fired.withLock { $0 += 1 } }
        return effect
    }

    func fail(_ effect: Effect, _ what: String, path: String) throws {
        switch effect {
        case .ioError: throw StorageError(.io, "\(what) failed: injected EIO", path: path, errno: 5)
        case .noSpace: throw StorageError(.noSpace, "\(what) failed: injected ENOSPC", path: path, errno: 28)
        case .shortWrite, .flipBit: break
        }
    }

    public func open(_ path: String, _ mode: OpenMode) throws -> any FileHandle {
        if let effect = effect(for: .open, path: path) { try fail(effect, "open", path: path) }
        return FaultyFileHandle(fileSystem: self, base: try base.open(path, mode))
    }

    public func contentsOfDirectory(_ path: String) throws -> [String] { try base.contentsOfDirectory(path) }
    public func createDirectory(_ path: String) throws { try base.createDirectory(path) }

    public func removeFile(_ path: String) throws {
        if let effect = effect(for: .removeFile, path: path) { try fail(effect, "unlink", path: path) }
        try base.removeFile(path)
    }

    public func rename(_ from: String, to: String) throws {
        if let effect = effect(for: .rename, path: from) { try fail(effect, "rename", path: from) }
        try base.rename(from, to: to)
    }

    public func syncDirectory(_ path: String) throws {
        if let effect = effect(for: .syncDirectory, path: path) { try fail(effect, "fsync directory", path: path) }
        try base.syncDirectory(path)
    }

    public func fileExists(_ path: String) -> Bool { base.fileExists(path) }
    public func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
    public func lockDirectory(_ path: String) throws -> any DirectoryLock { try base.lockDirectory(path) }
}

final class FaultyFileHandle: FileHandle, @unchecked Sendable {
    let fileSystem: FaultyFileSystem
    let base: any FileHandle

    init(fileSystem: FaultyFileSystem, base: any FileHandle) {
        self.fileSystem = fileSystem
        self.base = base
    }

    var path: String { base.path }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        let effect = fileSystem.effect(for: .read, path: path)
        if let effect { try fileSystem.fail(effect, "pread", path: path) }
        let n = try base.read(into: buffer, at: offset)
        if case .flipBit(let index)? = effect, index < n { buffer[index] ^= 1 }
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        let effect = fileSystem.effect(for: .write, path: path)
        if case .shortWrite(let maxBytes)? = effect {
            let n = min(maxBytes, bytes.count)
            return try base.write(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: offset)
        }
        if let effect { try fileSystem.fail(effect, "pwrite", path: path) }
        return try base.write(bytes, at: offset)
    }

    func dataSync() throws {
        if let effect = fileSystem.effect(for: .sync, path: path) { try fileSystem.fail(effect, "fdatasync", path: path) }
        try base.dataSync()
    }

    func sync() throws {
        if let effect = fileSystem.effect(for: .sync, path: path) { try fileSystem.fail(effect, "fsync", path: path) }
        try base.sync()
    }

    func truncate(to size: Int64) throws {
        if let effect = fileSystem.effect(for: .truncate, path: path) { try fileSystem.fail(effect, "ftruncate", path: path) }
        try base.truncate(to: size)
    }

    func size() throws -> Int64 { try base.size() }
    func close() { base.close() }
}
