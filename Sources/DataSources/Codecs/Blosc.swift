import CBlosc

/// Blosc 1 buffers (HDF5's Blosc filter stores one per chunk), through the `_ctx` calls,
/// which need no global state and so are safe on any thread.
enum Blosc {
    /// The compressors the filter's seventh parameter names, by code.
    static let compressors = ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"]

    /// Decodes a buffer that must fill `destination` exactly.
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        var nbytes = 0, cbytes = 0, blocksize = 0
        guard source.count >= 16 else { throw CodecError("blosc", "a buffer of \(source.count) bytes has no Blosc header") }
        blosc_cbuffer_sizes(source.baseAddress, &nbytes, &cbytes, &blocksize)
        guard cbytes <= source.count else {
            throw CodecError("blosc", "the header says \(cbytes) compressed bytes, the chunk holds \(source.count)")
        }
        guard nbytes == destination.count else {
            throw CodecError("blosc", "the header says \(nbytes) bytes, the chunk holds \(destination.count)")
        }
        let n = blosc_decompress_ctx(source.baseAddress, destination.baseAddress, destination.count, 1)
        guard n == destination.count else { throw CodecError("blosc", "blosc_decompress_ctx failed (\(n))") }
    }

    /// The decoded size a buffer's header declares (0 when it has no header).
    static func declaredSize(_ source: UnsafeRawBufferPointer) -> Int {
        guard source.count >= 16 else { return 0 }
        var nbytes = 0, cbytes = 0, blocksize = 0
        blosc_cbuffer_sizes(source.baseAddress, &nbytes, &cbytes, &blocksize)
        return nbytes
    }

    /// One Blosc buffer: `shuffle` 0 none, 1 bytes, 2 bits; `compressor` one of `compressors`.
    static func compress(_ source: UnsafeRawBufferPointer, typeSize: Int, level: Int, shuffle: Int, compressor: String) throws -> [UInt8] {
        let capacity = source.count + Int(feedbench_BLOSC_MAX_OVERHEAD())
        var out = [UInt8](repeating: 0, count: capacity)
        let n = out.withUnsafeMutableBytes {
            blosc_compress_ctx(Int32(level), Int32(shuffle), typeSize, source.count, source.baseAddress, $0.baseAddress,
                               capacity, compressor, 0, 1)
        }
        guard n > 0 else { throw CodecError("blosc", "blosc_compress_ctx with \(compressor) failed (\(n))") }
        out.removeLast(capacity - Int(n))
        return out
    }
}
