import CPNG
import Graph
import CTurboJPEG
import Foundation

/// The formats of encoded image records: JPEG (libjpeg-turbo's TurboJPEG API) and PNG
/// (libpng's simplified API, Debian's `libpng-dev`).
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png

    /// The format of `bytes` from their signature, or nil.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47,
           bytes[4] == 0x0D, bytes[5] == 0x0A, bytes[6] == 0x1A, bytes[7] == 0x0A { return .png }
        return nil
    }
}

/// What an encoded image's header says: its size and how many channels FeedBench decodes it
/// to (1 for grey, 3 for colour; an alpha channel is composed onto black, a palette expanded).
public struct ImageHeader: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    public var channels: Int
}

/// An image that cannot be decoded, with the decoder's own message.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Decodes JPEG and PNG records; one per thread (TurboJPEG handles are not shared), its
/// handle destroyed exactly once, in `deinit`.
public final class ImageDecoder {
    private var jpeg: tjhandle
    /// TurboJPEG's message for the last call, and a fresh handle: after a failed call (a
    /// warning turned error among them) the old handle fails the next image too.
    private func jpegError() -> ImageError {
        let error = ImageError("JPEG: \(String(cString: tjGetErrorStr2(jpeg)))")
        if let fresh = tjInitDecompress() {
            tjDestroy(jpeg)
            jpeg = fresh
        }
        return error
    }

    /// The DCT scaling factors libjpeg-turbo offers, largest first.
    private static let scalingFactors: [tjscalingfactor] = {
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count), count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: factors, count: Int(count)))
            .sorted { Double($0.num) / Double($0.denom) > Double($1.num) / Double($1.denom) }
    }()

    public init() throws {
        guard let handle = tjInitDecompress() else { throw ImageError("cannot create a TurboJPEG decompressor") }
        jpeg = handle
    }

    deinit { tjDestroy(jpeg) }

    /// Reads the header only (cheap: no pixels are decoded); an image of more values than a
    /// sample may hold (2³¹) is refused here, before anything is allocated for it.
    public func header(_ bytes: UnsafeRawBufferPointer) throws -> ImageHeader {
        let header = try readHeader(bytes)
        guard SizeLimits.product([header.width, header.height, header.channels], limit: SizeLimits.sampleElements) != nil else {
            throw ImageError("\(header.format == .jpeg ? "JPEG" : "PNG"): \(header.width)×\(header.height) is too large (more than \(SizeLimits.sampleElements) values)")
        }
        return header
    }

    private func readHeader(_ bytes: UnsafeRawBufferPointer) throws -> ImageHeader {
        guard bytes.count > 0 else { throw ImageError("an empty record (0 bytes)") }
        switch ImageFormat.detect(bytes) {
        case .jpeg:
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(jpeg, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                                      &width, &height, &subsampling, &colorspace) == 0 else {
                throw jpegError()
            }
            guard width > 0, height > 0 else { throw ImageError("JPEG: a zero-size image (\(width)×\(height))") }
            return ImageHeader(format: .jpeg, width: Int(width), height: Int(height), channels: colorspace == TJCS_GRAY.rawValue ? 1 : 3)
        case .png:
            // The IHDR chunk comes first: length, "IHDR", width, height (big-endian), bit depth, colour type.
            guard bytes.count >= 33, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44, bytes[15] == 0x52 else {
                throw ImageError("PNG: no IHDR chunk where the format puts it (a truncated or corrupt file?)")
            }
            func u32(_ at: Int) -> Int { (Int(bytes[at]) << 24) | (Int(bytes[at + 1]) << 16) | (Int(bytes[at + 2]) << 8) | Int(bytes[at + 3]) }
            let width = u32(16), height = u32(20), colorType = bytes[25]
            guard width > 0, height > 0 else { throw ImageError("PNG: a zero-size image (\(width)×\(height))") }
            guard width <= 1 << 24, height <= 1 << 24 else { throw ImageError("PNG: size \(width)×\(height) is too large (a corrupt header?)") }
            // 0 grey, 4 grey + alpha: one channel; 2 RGB, 3 palette, 6 RGBA: three.
            return ImageHeader(format: .png, width: width, height: height, channels: colorType == 0 || colorType == 4 ? 1 : 3)
        case nil:
            let head = bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError("not a JPEG or PNG image (it starts with \(head))")
        }
    }

    /// The decoded size of `header` for a target of `target` (height, width): libjpeg-turbo's
    /// DCT scaling is used when the target is at most half the stored size (decoding at 1/2,
    /// 1/4 or 1/8 does a fraction of the work); PNG is always decoded whole.
    public static func decodedSize(_ header: ImageHeader, target: (height: Int, width: Int)?) -> (height: Int, width: Int) {
        guard header.format == .jpeg, let target, target.height * 2 <= header.height, target.width * 2 <= header.width else {
            return (header.height, header.width)
        }
        // The smallest factor (at most 1/2) that keeps both sides at least the target's.
        var best = (header.height, header.width)
        for f in scalingFactors where Int(f.num) * 2 <= Int(f.denom) {
            let h = (header.height * Int(f.num) + Int(f.denom) - 1) / Int(f.denom)
            let w = (header.width * Int(f.num) + Int(f.denom) - 1) / Int(f.denom)
            if h >= target.height && w >= target.width && h * w < best.0 * best.1 { best = (h, w) }
        }
        return best
    }

    /// Decodes into `pixels` (height × width × channels, interleaved, RGB order) at `size`
    /// (from `decodedSize`). A truncated or corrupt stream is an error, also where libjpeg-turbo
    /// would only warn and fill the rest with grey.
    public func decode(_ bytes: UnsafeRawBufferPointer, header: ImageHeader, size: (height: Int, width: Int),
                       into pixels: UnsafeMutablePointer<UInt8>) throws {
        switch header.format {
        case .jpeg:
            let format = header.channels == 1 ? TJPF_GRAY : TJPF_RGB
            let status = tjDecompress2(jpeg, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count), pixels,
                                       Int32(size.width), 0, Int32(size.height), Int32(format.rawValue), TJFLAG_STOPONWARNING)
            guard status == 0 else { throw jpegError() }
        case .png:
            var image = png_image()
            image.version = feedbench_png_version()
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else { throw ImageError("PNG: \(message(image))") }
            guard Int(image.width) == header.width, Int(image.height) == header.height else {
                throw ImageError("PNG: the header says \(header.width)×\(header.height), libpng read \(image.width)×\(image.height)")
            }
            image.format = header.channels == 1 ? feedbench_png_format_gray() : feedbench_png_format_rgb()
            // Alpha is composed onto black: with no background libpng composes onto what the
            // buffer already holds (the previous image of this worker).
            var black = png_color(red: 0, green: 0, blue: 0)
            guard png_image_finish_read(&image, &black, pixels, Int32(header.width * header.channels), nil) != 0 else {
                throw ImageError("PNG: \(message(image))")
            }
            if feedbench_png_failed(&image) != 0 { throw ImageError("PNG: \(message(image))") }
        }
    }
}

/// libpng's message for a failed simplified-API call.
private func message(_ image: png_image) -> String {
    var copy = image.message
    return withUnsafeBytes(of: &copy) { raw in
        let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        return text.isEmpty ? "cannot decode" : text
    }
}

/// Encodes interleaved pixels (height × width × channels, RGB order) as JPEG or PNG; one per
/// thread, its TurboJPEG handle destroyed exactly once.
public final class ImageEncoder {
    private let jpeg: tjhandle

    public init() throws {
        guard let handle = tjInitCompress() else { throw ImageError("cannot create a TurboJPEG compressor") }
        jpeg = handle
    }

    deinit { tjDestroy(jpeg) }

    /// JPEG at `quality` (1–100), 4:2:0 chroma subsampling for colour (as most photo sets).
    public func jpeg(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int, quality: Int) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
        let sampling = channels == 1 ? TJSAMP_GRAY : TJSAMP_420
        let status = tjCompress2(jpeg, pixels, Int32(width), 0, Int32(height), Int32(format.rawValue), &buffer, &size,
                                 Int32(sampling.rawValue), Int32(quality), 0)
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else { throw ImageError("JPEG: \(String(cString: tjGetErrorStr2(jpeg)))") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// PNG (lossless).
    public func png(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int) throws -> [UInt8] {
        var image = png_image()
        image.version = feedbench_png_version()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = channels == 1 ? feedbench_png_format_gray() : feedbench_png_format_rgb()
        defer { png_image_free(&image) }
        var size = 0
        let stride = Int32(width * channels)
        guard png_image_write_to_memory(&image, nil, &size, 0, pixels, stride, nil) != 0, size > 0 else {
            throw ImageError("PNG: \(message(image))")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        guard bytes.withUnsafeMutableBytes({ png_image_write_to_memory(&image, $0.baseAddress, &size, 0, pixels, stride, nil) }) != 0 else {
            throw ImageError("PNG: \(message(image))")
        }
        return Array(bytes.prefix(size))
    }
}

/// How samples are encoded when written: `jpeg[:QUALITY]` (default quality 90) or `png`.
public struct ImageEncoding: Sendable, Equatable, CustomStringConvertible {
    public var format: ImageFormat
    public var quality: Int

    public init(format: ImageFormat, quality: Int = 90) {
        self.format = format
        self.quality = quality
    }

    /// Parses `jpeg`, `jpeg:85` or `png`.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "jpeg", "jpg":
            guard parts.count <= 2 else { return nil }
            let quality = parts.count == 2 ? Int(parts[1]) : 90
            guard let quality, (1...100).contains(quality) else { return nil }
            self.init(format: .jpeg, quality: quality)
        case "png":
            guard parts.count == 1 else { return nil }
            self.init(format: .png)
        default: return nil
        }
    }

    public var description: String { format == .jpeg ? "jpeg:\(quality)" : "png" }
}

extension ImageEncoder {
    /// Encodes one sample (float32 [C, H, W] in 0…1, C = 1 or 3) as `encoding`: quantised to
    /// uint8 (`Quantizer`) and interleaved, as an image file stores pixels.
    func encode(sample values: UnsafePointer<Float>, shape: [Int], as encoding: ImageEncoding, scratch: inout [UInt8]) throws -> [UInt8] {
        let (c, h, w) = (shape[0], shape[1], shape[2])
        let count = c * h * w
        if scratch.count < 2 * count { scratch = [UInt8](repeating: 0, count: 2 * count) }
        return try scratch.withUnsafeMutableBufferPointer { buffer in
            let planar = buffer.baseAddress!, interleaved = buffer.baseAddress! + count
            try Quantizer.uint8(values, count: count, into: planar)
            for ch in 0..<c { for i in 0..<(h * w) { interleaved[i * c + ch] = planar[ch * h * w + i] } }
            switch encoding.format {
            case .jpeg: return try jpeg(interleaved, width: w, height: h, channels: c, quality: encoding.quality)
            case .png: return try png(interleaved, width: w, height: h, channels: c)
            }
        }
    }

    /// Checks that samples of `shape` can be stored as images: [1 or 3, H, W].
    static func check(shape: [Int], destination: String) throws {
        guard shape.count == 3, shape[0] == 1 || shape[0] == 3, shape[1] >= 1, shape[2] >= 1, shape[1] <= 65_535, shape[2] <= 65_535 else {
            throw DataSourceError(destination, "encoded images need samples of shape [1 or 3, H, W] (H, W ≤ 65535); these are \(describe(shape: shape))")
        }
    }
}
