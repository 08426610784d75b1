import CZstd

/// A Zstandard decompression context; one per thread, freed exactly once, in `deinit`.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() throws {
        guard let c = ZSTD_createDCtx() else { throw CodecError("zstd", "cannot allocate a decompression context") }
        context = c
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decodes one frame; returns the bytes written.
    func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = ZSTD_decompressDCtx(context, destination.baseAddress, destination.count, source.baseAddress, source.count)
        if ZSTD_isError(n) != 0 { throw CodecError("zstd", String(cString: ZSTD_getErrorName(n))) }
        return n
    }
}

/// A Zstandard compression context, kept per thread (`ZSTD_compress` makes and frees one per
/// chunk). Frames always carry the content size in their header, which the HDF5 plugin needs
/// to size its buffer. Freed exactly once, in `deinit`.
final class ZstdCompressor {
    private let context: OpaquePointer

    init() throws {
        guard let c = ZSTD_createCCtx() else { throw CodecError("zstd", "cannot allocate a compression context") }
        context = c
    }

    deinit { ZSTD_freeCCtx(context) }

    func compress(_ source: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes {
            ZSTD_compressCCtx(context, $0.baseAddress, bound, source.baseAddress, source.count, Int32(level))
        }
        if ZSTD_isError(n) != 0 { throw CodecError("zstd", String(cString: ZSTD_getErrorName(n))) }
        out.removeLast(bound - n)
        return out
    }
}
