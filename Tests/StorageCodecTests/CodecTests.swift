import StorageCodec
import StorageIO
import StorageTesting
import Testing

@Suite("Segment header")
struct SegmentHeaderTests {
    @Test func roundTrip() throws {
        let header = SegmentHeader(firstLSN: 123_456_789)
        let bytes = header.encoded()
        #expect(bytes.count == SegmentHeader.Format.size)
        #expect(try SegmentHeader.decode(bytes, path: "x") == header)
    }

    @Test func fileNames() {
        #expect(SegmentHeader.fileName(firstLSN: 1) == "00000000000000000001.log")
        #expect(SegmentHeader.firstLSN(fromFileName: "00000000000000000042.log") == 42)
        #expect(SegmentHeader.firstLSN(fromFileName: "42.log") == nil)
        #expect(SegmentHeader.firstLSN(fromFileName: "0000000000000000004x.log") == nil)
        #expect(SegmentHeader.firstLSN(fromFileName: "00000000000000000042.tmp") == nil)
    }

    @Test(arguments: 0..<SegmentHeader.Format.size)
    func everyFlippedByteIsDetected(index: Int) {
        var bytes = SegmentHeader(firstLSN: 77).encoded()
        bytes[index] ^= 0x40
        #expect(throws: StorageError.self) { try SegmentHeader.decode(bytes, path: "seg") }
    }

    @Test func shortHeaderIsTorn() {
        let bytes = Array(SegmentHeader(firstLSN: 1).encoded().prefix(10))
        do {
            _ = try SegmentHeader.decode(bytes, path: "seg")
            Issue.record("decoded a 10-byte header")
        } catch let error as StorageError {
            #expect(error.code == .tornTail)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("Frames")
struct FrameTests {
    func decodeFrame(_ bytes: [UInt8]) throws -> (FrameHeader, [[UInt8]]) {
        try bytes.withUnsafeBytes { raw in
            let header = try FrameHeader.decode(UnsafeRawBufferPointer(rebasing: raw[0..<FrameHeader.Format.size])).get()
            let stored = UnsafeRawBufferPointer(
                rebasing: raw[FrameHeader.Format.size..<(FrameHeader.Format.size + Int(header.storedLength))])
            let payload = try FramePayload.rawPayload(header: header, stored: stored, path: "t", offset: 0)
            var records: [[UInt8]] = []
            try payload.withUnsafeBytes { p in
                try FramePayload.forEachRecord(in: p, count: Int(header.recordCount), path: "t", offset: 0) { _, r in
                    records.append(Array(r))
                }
            }
            return (header, records)
        }
    }

    @Test func seededRoundTrip() throws {
        let seed = SeededRandom.seedFromEnvironment(default: 0xF4A3E)
        print("FrameTests.seededRoundTrip seed=\(seed) (set ANNALS_TEST_SEED to replay)")
        var rng = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let count = 1 + Int(rng.next() % 20)
            var records: [[UInt8]] = []
            for _ in 0..<count {
                let size = Int(rng.next() % 3 == 0 ? rng.next() % 5000 : rng.next() % 100)
                records.append(rng.next() % 2 == 0 ? rng.eventLikeBytes(count: size) : rng.bytes(count: size))
            }
            var builder = FrameBuilder()
            for r in records { builder.add(r) }
            var out: [UInt8] = []
            let lsn = rng.next() % 1_000_000 + 1
            let header = builder.encode(firstLSN: lsn, compress: rng.next() % 2 == 0, into: &out)
            #expect(out.count == header.frameLength)
            #expect(out.count % FrameHeader.Format.alignment == 0)
            let (decoded, decodedRecords) = try decodeFrame(out)
            #expect(decoded == header)
            #expect(decoded.firstLSN == lsn)
            #expect(decodedRecords == records, "seed \(seed)")
        }
    }

    @Test func compressibleIsCompressedAndRandomIsStoredRaw() throws {
        var rng = SeededRandom(seed: 1)
        var builder = FrameBuilder()
        builder.add(rng.eventLikeBytes(count: 64 << 10))
        var out: [UInt8] = []
        let compressed = builder.encode(firstLSN: 1, compress: true, into: &out)
        #expect(compressed.codec == .lz4)
        #expect(Double(compressed.rawLength) / Double(compressed.storedLength) > 2.5)

        builder.reset()
        builder.add(rng.bytes(count: 4096))
        out.removeAll()
        let raw = builder.encode(firstLSN: 2, compress: true, into: &out)
        #expect(raw.codec == .none)
        #expect(raw.storedLength == raw.rawLength)
    }

    @Test func zeroHeaderIsReportedAsZeroes() {
        let zeros = [UInt8](repeating: 0, count: FrameHeader.Format.size)
        let result = zeros.withUnsafeBytes { FrameHeader.decode($0) }
        #expect(result == .failure(FrameHeader.DefectError(.zeroes)))
    }

    @Test(arguments: 0..<FrameHeader.Format.size)
    func everyFlippedHeaderByteIsDetected(index: Int) {
        var builder = FrameBuilder()
        builder.add(Array("hello".utf8))
        var out: [UInt8] = []
        builder.encode(firstLSN: 9, compress: false, into: &out)
        out[index] ^= 0x01
        let result = out.withUnsafeBytes { FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<FrameHeader.Format.size])) }
        #expect(throws: (any Error).self) { try result.get() }
    }

    @Test func flippedPayloadByteFailsTheChecksum() throws {
        var builder = FrameBuilder()
        builder.add(Array(repeating: 65, count: 500))
        var out: [UInt8] = []
        builder.encode(firstLSN: 1, compress: true, into: &out)
        out[FrameHeader.Format.size + 3] ^= 0x10
        #expect(throws: StorageError.self) { try decodeFrame(out) }
    }

    @Test func recordLengthsMustAddUp() {
        var payload: [UInt8] = []
        payload.appendLE(UInt32(10))
        payload += [1, 2, 3]
        #expect(throws: StorageError.self) {
            try payload.withUnsafeBytes { try FramePayload.forEachRecord(in: $0, count: 1, path: "p", offset: 0) { _, _ in } }
        }
    }
}

@Suite("LZ4")
struct LZ4Tests {
    @Test func roundTrip() {
        var rng = SeededRandom(seed: 99)
        for size in [1, 63, 64, 4096, 100_000] {
            let input = rng.eventLikeBytes(count: size)
            let compressed = LZ4.compress(input)
            #expect(LZ4.decompress(compressed, rawCount: size) == input)
        }
    }

    @Test func malformedInputIsRejected() {
        #expect(LZ4.decompress([0xFF, 0xFF, 0xFF], rawCount: 100) == nil)
        let good = LZ4.compress(Array(repeating: 7, count: 1000))
        #expect(LZ4.decompress(good, rawCount: 999) == nil)
    }
}

@Suite("Format constants")
struct FormatConstantsTests {
    @Test func relations() {
        #expect(SegmentHeader.Format.size % FrameHeader.Format.alignment == 0, "frames after the header start aligned")
        #expect(FrameHeader.Format.size % FrameHeader.Format.alignment == 0)
        #expect(FrameHeader.Format.headerChecksumOffset + 8 == FrameHeader.Format.size)
        #expect(FrameHeader.Format.payloadChecksumOffset + 8 == FrameHeader.Format.headerChecksumOffset)
        #expect(SegmentHeader.Format.checksummedBytes + 8 == SegmentHeader.Format.size)
        #expect(SegmentHeader.Format.magic.count == 8)
        // The frame magic spells "AFRM" in file order.
        var bytes: [UInt8] = []
        bytes.appendLE(FrameHeader.Format.magic)
        #expect(bytes == Array("AFRM".utf8))
    }
}
