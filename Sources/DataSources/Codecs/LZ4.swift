import CLZ4

/// LZ4 blocks (no frame), as HDF5's LZ4 filter and Bitshuffle store them.
enum LZ4Block {
    /// Decodes one block that must fill `destination` exactly.
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard source.count <= Int(Int32.max), destination.count <= Int(Int32.max) else {
            throw CodecError("lz4", "a block of \(source.count) bytes is larger than LZ4 handles")
        }
        let n = LZ4_decompress_safe(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    Int32(source.count), Int32(destination.count))
        guard n == destination.count else {
            throw CodecError("lz4", n < 0 ? "LZ4_decompress_safe: malformed block (error \(n))"
                                          : "LZ4_decompress_safe: the block decodes to \(n) bytes, expected \(destination.count)")
        }
    }

    /// One compressed block (`LZ4_compress_default`).
    static func compress(_ source: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes {
            LZ4_compress_default(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                 $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(source.count), Int32(bound))
        }
        guard n > 0 else { throw CodecError("lz4", "LZ4_compress_default could not compress \(source.count) bytes") }
        out.removeLast(bound - Int(n))
        return out
    }
}
