import CTurboJPEG

/// A libjpeg-turbo (TurboJPEG) decompressor; one per thread, destroyed exactly once, in
/// `deinit`. Errors carry TurboJPEG's own message.
final class JPEGDecoder {
    private let handle: tjhandle

    init() throws {
        guard let h = tjInitDecompress() else { throw CodecError("jpeg", "cannot create a TurboJPEG decompressor") }
        handle = h
    }

    deinit { tjDestroy(handle) }

    /// Width and height of a JPEG image.
    func size(of jpeg: UnsafeRawBufferPointer) throws -> (width: Int, height: Int) {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
                                  &width, &height, &subsampling, &colorspace) == 0 else { throw error() }
        return (Int(width), Int(height))
    }

    /// Decodes to interleaved RGB, `width × height × 3` bytes.
    func decodeRGB(_ jpeg: UnsafeRawBufferPointer) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let (w, h) = try size(of: jpeg)
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        let status = pixels.withUnsafeMutableBufferPointer {
            tjDecompress2(handle, jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count), $0.baseAddress,
                          Int32(w), 0, Int32(h), Int32(TJPF_RGB.rawValue), 0)
        }
        guard status == 0 else { throw error() }
        return (pixels, w, h)
    }

    private func error() -> CodecError {
        CodecError("jpeg", String(cString: tjGetErrorStr2(handle)))
    }
}
