import CLZ4

/// LZ4 block compression (liblz4), the only compression of the on-disk formats.
public enum LZ4 {
    /// The largest output `compress` can produce for `count` input bytes.
    public static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(clamping: count)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or nil when the output
    /// would not fit in `destination` (callers size it below the input to detect incompressible data).
    public static func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard source.count > 0, source.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let n = LZ4_compress_default(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(clamping: destination.count))
        return n > 0 ? Int(n) : nil
    }

    /// Decompresses exactly `destination.count` bytes; returns false if `source` is malformed or
    /// does not decode to exactly that many bytes.
    public static func decompress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard let src = source.baseAddress, let dst = destination.baseAddress else {
            return source.count == 0 && destination.count == 0
        }
        let n = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(clamping: source.count), Int32(clamping: destination.count))
        return n == destination.count
    }

    public static func compress(_ source: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: compressBound(source.count))
        let n = source.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in compress(src, into: dst) }
        }
        out.removeLast(out.count - (n ?? 0))
        return out
    }

    public static func decompress(_ source: [UInt8], rawCount: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: rawCount)
        let ok = source.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in decompress(src, into: dst) }
        }
        return ok ? out : nil
    }
}
