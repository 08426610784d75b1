import CDeflate

/// A libdeflate decompressor: zlib streams (HDF5's deflate filter) decoded in one call into a
/// buffer of known size. One per thread; freed exactly once, in `deinit`.
final class DeflateDecompressor {
    private let handle: OpaquePointer

    init() throws {
        guard let h = libdeflate_alloc_decompressor() else { throw CodecError("libdeflate", "cannot allocate a decompressor") }
        handle = h
    }

    deinit { libdeflate_free_decompressor(handle) }

    /// Decodes one zlib stream; returns the bytes written.
    func decompressZlib(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        let result = libdeflate_zlib_decompress(handle, source.baseAddress, source.count, destination.baseAddress,
                                                destination.count, &written)
        switch result {
        case LIBDEFLATE_SUCCESS: return written
        case LIBDEFLATE_BAD_DATA: throw CodecError("deflate", "libdeflate: bad data (a corrupt or truncated zlib stream)")
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            throw CodecError("deflate", "libdeflate: insufficient space (the stream decodes to more than the chunk's \(destination.count) bytes)")
        default: throw CodecError("deflate", "libdeflate: error \(result.rawValue)")
        }
    }
}

/// A libdeflate compressor at one level; freed exactly once, in `deinit`.
final class DeflateCompressor {
    private let handle: OpaquePointer

    init(level: Int) throws {
        guard let h = libdeflate_alloc_compressor(Int32(level)) else {
            throw CodecError("libdeflate", "cannot allocate a compressor at level \(level)")
        }
        handle = h
    }

    deinit { libdeflate_free_compressor(handle) }

    /// One zlib stream holding `source` (what HDF5's deflate filter stores).
    func compressZlib(_ source: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = libdeflate_zlib_compress_bound(handle, source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { libdeflate_zlib_compress(handle, source.baseAddress, source.count, $0.baseAddress, bound) }
        guard n > 0 else { throw CodecError("deflate", "libdeflate could not compress \(source.count) bytes") }
        out.removeLast(bound - n)
        return out
    }
}
