import StorageIO
import StorageTesting
import Testing

/// The crash simulator itself: what a sync makes durable, and what a crash clone keeps.
@Suite("Memory file system")
struct MemFileSystemTests {
    static let path = "/data/file"

    static func file(_ fs: MemFileSystem) throws -> any FileHandle {
        try fs.createDirectory("/data")
        return try fs.open(path, .createNew)
    }

    @Test func aSyncMakesExactlyTheCurrentBytesDurable() throws {
        let fs = MemFileSystem()
        let handle = try Self.file(fs)
        try fs.syncDirectory("/data")
        try handle.writeAll([UInt8](repeating: 1, count: 100), at: 0)
        try handle.dataSync()
        try handle.writeAll([2, 2], at: 10)  // an overwrite, not synced
        #expect(fs.crashClone().contents(of: Self.path) == [UInt8](repeating: 1, count: 100))
        // Shrunk, then grown again past a gap: the gap reads as zeros after the sync, not as the
        // bytes the durable copy held there before.
        try handle.truncate(to: 10)
        try handle.writeAll([3], at: 50)
        try handle.dataSync()
        let expected = [UInt8](repeating: 1, count: 10) + [UInt8](repeating: 0, count: 40) + [3]
        #expect(fs.contents(of: Self.path) == expected)
        #expect(fs.crashClone().contents(of: Self.path) == expected)
    }

    @Test func tornClonesKeepAPrefixOfUnsyncedOverwritesToo() throws {
        let fs = MemFileSystem()
        let handle = try Self.file(fs)
        try fs.syncDirectory("/data")
        try handle.writeAll([UInt8](repeating: 0, count: 1000), at: 0)
        try handle.dataSync()
        try handle.writeAll([UInt8](repeating: 9, count: 500), at: 100)
        var kept = Set<Int>()
        for seed in UInt64(0)..<40 {
            let bytes = try #require(fs.crashClone(.tornUnsynced(seed: seed)).contents(of: Self.path))
            #expect(bytes.count == 1000)
            #expect(bytes[..<100].allSatisfy { $0 == 0 } && bytes[600...].allSatisfy { $0 == 0 })
            kept.insert(bytes[100..<600].lastIndex(where: { $0 != 0 }).map { $0 - 99 } ?? 0)
        }
        #expect(kept.count > 5, "prefixes of different lengths survive: \(kept.sorted())")
    }
}
