import CXXHash

/// XXH3-64, the checksum of every on-disk format. All 64 bits are stored.
public enum Checksum {
    public static func xxh3(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    public static func xxh3(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0) }
    }

    public static func xxh3<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ xxh3(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return xxh3(Array(bytes))
    }
}
