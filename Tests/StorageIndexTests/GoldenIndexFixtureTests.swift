import StorageCodec
import StorageIO
import StorageIndex
import StorageTesting
import Testing

/// Decodes the checked-in Tests/Fixtures/index-v1/00000000000000000001.sst and MANIFEST, so a
/// change to either format fails here (docs/format/index.md, manifest.md). Regenerate only for a
/// new format version, with ANNALS_WRITE_FIXTURES=1.
@Suite("Golden index fixtures")
struct GoldenIndexFixtureTests {
    static let directory = fixturesDirectory() + "/index-v1"
    static let entries: [(key: [UInt8], entry: IndexEntry)] = [
        (KeyEncoding.encode([.string("executions"), .bytes([1]), .string("run-a")]), IndexEntry(lsn: 3, value: .inline(Array("row a".utf8)))),
        (KeyEncoding.encode([.string("executions"), .bytes([1]), .string("run-b")]), IndexEntry(lsn: 4, value: .tombstone)),
        (KeyEncoding.encode([.string("history_node"), .bytes([2]), .int(7)]),
         IndexEntry(lsn: 5, value: .pointer(ValuePointer(lsn: 5, segmentFirstLSN: 1, frameOffset: 4096, writeIndex: 1, rowBytes: 300)))),
    ]
    static let manifest = Manifest(checkpointLSN: 5, nextFileID: 2, files: [.init(id: 1, maxLSN: 5, entries: 3, bytes: 0)])

    @Test func fixturesDecode() throws {
        let fs = PosixFileSystem()
        let sst = Self.directory + "/" + IndexFileFormat.fileName(id: 1)
        if writeFixtures {
            try fs.createDirectory(Self.directory)
            for name in [IndexFileFormat.fileName(id: 1), Manifest.Format.fileName] where fs.fileExists(Self.directory + "/" + name) {
                try fs.removeFile(Self.directory + "/" + name)
            }
            var writer = try IndexFileWriter(fileSystem: fs, path: sst, compress: false)
            for (key, entry) in Self.entries { try writer.add(key, entry) }
            let size = try writer.finish().bytes
            var manifest = Self.manifest
            manifest.files[0].bytes = UInt64(size)
            try manifest.store(in: Self.directory, fileSystem: fs)
        }
        let file = try IndexFile(fileSystem: fs, path: sst, id: 1)
        var decoded: [(key: [UInt8], entry: IndexEntry)] = []
        try file.forEachEntry { decoded.append(($0, $1)) }
        #expect(decoded.map(\.key) == Self.entries.map(\.key))
        #expect(decoded.map(\.entry) == Self.entries.map(\.entry))
        #expect(file.maxLSN == 5)
        let manifest = try #require(try Manifest.load(from: Self.directory, fileSystem: fs))
        #expect(manifest.checkpointLSN == 5)
        #expect(manifest.files.map(\.id) == [1])
        #expect(Int64(manifest.files[0].bytes) == file.bytes)
    }
}
