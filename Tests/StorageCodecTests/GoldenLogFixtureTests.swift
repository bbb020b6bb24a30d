import StorageCodec
import StorageIO
import StorageTesting
import Testing

/// Decodes the checked-in segment file Tests/Fixtures/log-v1/00000000000000000001.log, so any
/// change to the log format fails here. Layout: docs/format/log.md.
///
/// The fixture holds: the segment header (first LSN 1); frame 1, raw, LSNs 1–3 ("hello", an empty
/// record, "annals"); frame 2, LZ4, LSN 4 (the JSON-like text below, repeated 20 times); a seal frame
/// at LSN 5. Regenerate (only for a new format version) with ANNALS_WRITE_FIXTURES=1.
@Suite("Golden log fixture")
struct GoldenLogFixtureTests {
    static let fixture = fixturesDirectory() + "/log-v1/00000000000000000001.log"
    static let line = "{\"eventId\":5,\"eventType\":\"ActivityTaskScheduled\",\"taskQueue\":\"orders\"}"
    static let records: [[UInt8]] = [
        Array("hello".utf8), [], Array("annals".utf8),
        Array(String(repeating: line, count: 20).utf8),
    ]

    static func build() -> [UInt8] {
        var bytes = SegmentHeader(firstLSN: 1).encoded()
        var builder = FrameBuilder()
        for record in records[0..<3] { builder.add(record) }
        builder.encode(firstLSN: 1, compress: false, into: &bytes)
        builder.reset()
        builder.add(records[3])
        builder.encode(firstLSN: 4, compress: true, into: &bytes)
        builder.reset()
        builder.encode(kind: .seal, firstLSN: 5, compress: false, into: &bytes)
        return bytes
    }

    @Test func fixtureDecodes() throws {
        let fs = PosixFileSystem()
        if writeFixtures {
            try fs.createDirectory(fixturesDirectory() + "/log-v1")
            try? fs.removeFile(Self.fixture)
            let handle = try fs.open(Self.fixture, .createNew)
            try handle.writeAll(Self.build(), at: 0)
            try handle.sync()
            handle.close()
        }
        let handle = try fs.open(Self.fixture, .readOnly)
        defer { handle.close() }
        let bytes = try handle.read(count: Int(try handle.size()), at: 0)

        let header = try SegmentHeader.decode(bytes, path: Self.fixture)
        #expect(header.firstLSN == 1)
        #expect(header.version == 1)
        // Exact bytes of the header and the raw frame (independent of the LZ4 library's version).
        #expect(Array(bytes[0..<8]) == Array("ANNALSEG".utf8))
        #expect(Array(bytes[32..<36]) == Array("AFRM".utf8))

        var offset = SegmentHeader.Format.size
        var decoded: [[UInt8]] = []
        var frames: [FrameHeader] = []
        while offset < bytes.count {
            let frame = try bytes.withUnsafeBytes {
                try FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + FrameHeader.Format.size)])).get()
            }
            frames.append(frame)
            let payload = try bytes.withUnsafeBytes {
                try FramePayload.rawPayload(
                    header: frame,
                    stored: UnsafeRawBufferPointer(rebasing: $0[(offset + 48)..<(offset + 48 + Int(frame.storedLength))]),
                    path: Self.fixture, offset: Int64(offset))
            }
            try payload.withUnsafeBytes {
                try FramePayload.forEachRecord(in: $0, count: Int(frame.recordCount), path: Self.fixture, offset: Int64(offset)) {
                    _, record in decoded.append(Array(record))
                }
            }
            offset += frame.frameLength
        }
        #expect(decoded == Self.records)
        #expect(frames.map(\.kind) == [.records, .records, .seal])
        #expect(frames.map(\.codec) == [.none, .lz4, .none])
        #expect(frames.map(\.firstLSN) == [1, 4, 5])
        #expect(frames[0].rawLength == 4 * 3 + 5 + 0 + 6)
        // The raw frame re-encodes to identical bytes.
        let rebuilt = Self.build()
        let rawFrameEnd = 32 + frames[0].frameLength
        #expect(Array(rebuilt[0..<rawFrameEnd]) == Array(bytes[0..<rawFrameEnd]))
    }
}
