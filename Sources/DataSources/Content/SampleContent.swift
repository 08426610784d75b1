import Foundation

/// What a generated data set's samples look like. Real data compresses: MNIST's image file
/// shrinks to about 0.21 of its size under gzip; noise does not compress at all, so it shows
/// nothing of what compression trades (datasets/README gives each content's ratios).
public enum SampleContent: String, Sendable, CaseIterable {
    /// A prototype per class plus uniform noise: incompressible, the worst case.
    case noise
    /// Handwritten digits (the real digits of datasets/digits), scaled to the sample size,
    /// shifted, with stroke noise: MNIST-like. Labels are the digits.
    case digits
    /// Patches cut from ten real photographs (public domain, datasets/README), at random
    /// positions and scales, mirrored at random, brightness varied: CIFAR- and ImageNet-like.
    /// Labels say which photograph.
    case photos

    /// Photos for three-channel images, digits for other images of at least 4×4, noise for
    /// anything else (vectors).
    public static func `default`(for shape: [Int]) -> SampleContent {
        if shape.count == 3 && shape[0] == 3 && shape[1] >= 4 && shape[2] >= 4 { return .photos }
        if (shape.count == 2 || shape.count == 3), shape.suffix(2).allSatisfy({ $0 >= 4 }) { return .digits }
        return .noise
    }

    /// How many classes the content can label (nil: any).
    var classLimit: Int? { self == .noise ? nil : 10 }

    /// Checks a shape and class count for this content; the message names the option.
    func check(shape: [Int], classes: Int) throws {
        if let limit = classLimit, classes > limit {
            throw DataSourceError("--classes", "\(rawValue) content has \(limit) classes (one per \(self == .digits ? "digit" : "photograph")); give --classes \(limit) or fewer")
        }
        guard self != .noise else { return }
        guard shape.count == 2 || shape.count == 3 else {
            throw DataSourceError("--shape", "\(rawValue) content needs an image shape [H, W] or [C, H, W], got \(shape)")
        }
        let (h, w) = (shape[shape.count - 2], shape[shape.count - 1])
        guard h >= 4, w >= 4 else { throw DataSourceError("--shape", "\(rawValue) content needs images of at least 4×4, got \(h)×\(w)") }
        if self == .photos, shape.count == 3, shape[0] != 1, shape[0] != 3 {
            throw DataSourceError("--shape", "photos have 1 or 3 channels, not \(shape[0])")
        }
    }
}

/// The real images content is made from, loaded once from DataSources' resources
/// (Content/Assets, written by datasets/content/make_assets.py).
final class ContentAssets: @unchecked Sendable {
    static let shared = ContentAssets()
    private let lock = NSLock()
    private var digitSet: DigitImages?
    private var photoSet: [Photo]?

    struct DigitImages {
        /// 8×8 images, 0–255.
        let pixels: [UInt8]
        let labels: [UInt8]
        /// Indices of each digit's images.
        let byClass: [[Int]]
    }

    /// A photograph as RGB levels, each half the size of the one before, down to 16 pixels.
    struct Photo {
        struct Level {
            let pixels: [UInt8]
            let width: Int
            let height: Int
        }
        let levels: [Level]
    }

    private func resource(_ name: String, _ ext: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Assets"),
              let data = try? Data(contentsOf: url) else {
            throw DataSourceError("\(name).\(ext)", "a resource of FeedBench's DataSources module is missing; rebuild the package")
        }
        return data
    }

    func digits() throws -> DigitImages {
        lock.lock()
        defer { lock.unlock() }
        if let digitSet { return digitSet }
        let data = try resource("digits", "bin")
        let count = data.count / 65
        guard count > 0, data.count == count * 65 else { throw DataSourceError("digits.bin", "holds \(data.count) bytes, not 65 per digit") }
        let pixels = [UInt8](data.prefix(count * 64)), labels = [UInt8](data.suffix(count))
        var byClass = [[Int]](repeating: [], count: 10)
        for (i, l) in labels.enumerated() where l < 10 { byClass[Int(l)].append(i) }
        let set = DigitImages(pixels: pixels, labels: labels, byClass: byClass)
        digitSet = set
        return set
    }

    func photos() throws -> [Photo] {
        lock.lock()
        defer { lock.unlock() }
        if let photoSet { return photoSet }
        let decoder = try JPEGDecoder()
        let set = try (0..<10).map { k -> Photo in
            let jpeg = try resource("photo-\(k)", "jpg")
            let (pixels, w, h) = try jpeg.withUnsafeBytes { try decoder.decodeRGB($0) }
            var levels = [Photo.Level(pixels: pixels, width: w, height: h)]
            while let last = levels.last, min(last.width, last.height) >= 32 { levels.append(Self.half(last)) }
            return Photo(levels: levels)
        }
        photoSet = set
        return set
    }

    /// A level at half the size: each pixel the mean of four.
    private static func half(_ level: Photo.Level) -> Photo.Level {
        let w = level.width / 2, h = level.height / 2
        var out = [UInt8](repeating: 0, count: w * h * 3)
        level.pixels.withUnsafeBufferPointer { p in
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 {
                        let a = Int(p[((2 * y) * level.width + 2 * x) * 3 + c]), b = Int(p[((2 * y) * level.width + 2 * x + 1) * 3 + c])
                        let d = Int(p[((2 * y + 1) * level.width + 2 * x) * 3 + c]), e = Int(p[((2 * y + 1) * level.width + 2 * x + 1) * 3 + c])
                        out[(y * w + x) * 3 + c] = UInt8((a + b + d + e + 2) / 4)
                    }
                }
            }
        }
        return Photo.Level(pixels: out, width: w, height: h)
    }
}
