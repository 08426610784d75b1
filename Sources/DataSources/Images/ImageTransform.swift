import Foundation

/// What happens to a decoded image before it enters a batch, by Caffe's `transform_param`
/// names: resize (before cropping; images may differ in size), `crop_size` (a centre crop, or
/// a random one in training), `mirror` (a random horizontal flip in training), `mean_value`
/// (subtracted per channel, in 0–255 units) and `scale` (multiplied after; FeedBench's default
/// for uint8 is 1/255). The batch holds float32 [C, H, W].
public struct ImageTransform: Sendable, Equatable {
    /// Resize every image to this (height, width) first (bilinear); nil keeps the stored size.
    public var resize: [Int]?
    /// Crop a square of this side.
    public var cropSize: Int?
    /// A random crop position (training) instead of the centre.
    public var randomCrop = false
    /// Flip half the images horizontally, at random (training).
    public var mirror = false
    /// Per-channel means (one value for all channels, or one per channel), 0–255 units.
    public var meanValues: [Float] = []
    /// Multiplies each value after the mean is subtracted; nil: 1/255.
    public var scale: Float?

    public init(resize: [Int]? = nil, cropSize: Int? = nil, randomCrop: Bool = false, mirror: Bool = false,
                meanValues: [Float] = [], scale: Float? = nil) {
        self.resize = resize
        self.cropSize = cropSize
        self.randomCrop = randomCrop
        self.mirror = mirror
        self.meanValues = meanValues
        self.scale = scale
    }

    /// No resize, crop, flip or mean: pixels as stored, times 1/255.
    public static let none = ImageTransform()

    /// Whether images of different sizes come out the same size.
    public var fixesSize: Bool { resize != nil || cropSize != nil }

    /// The same transform for evaluation: centre crop, no flip (Caffe's TEST phase).
    public var forEvaluation: ImageTransform {
        var t = self
        t.randomCrop = false
        t.mirror = false
        return t
    }

    /// The (height, width) the image is decoded for: the resize target, or for a crop of a
    /// stored size, nothing smaller than the stored size (a crop needs the full resolution).
    var decodeTarget: (height: Int, width: Int)? {
        resize.map { ($0[0], $0[1]) }
    }

    /// The output's (height, width) for an image stored at (height, width).
    func outputSize(stored: (height: Int, width: Int)) -> (height: Int, width: Int) {
        if let cropSize { return (cropSize, cropSize) }
        if let resize { return (resize[0], resize[1]) }
        return stored
    }

    /// Checks the options against each other and the channels: one line naming the problem.
    public func check(channels: Int) throws {
        if let resize, resize.count != 2 || resize.contains(where: { $0 < 1 || $0 > 1 << 15 }) {
            throw ImageError("resize must be HEIGHT,WIDTH between 1 and 32768")
        }
        if let cropSize, cropSize < 1 || cropSize > 1 << 15 { throw ImageError("crop size must be between 1 and 32768") }
        if let cropSize, let resize, cropSize > min(resize[0], resize[1]) {
            throw ImageError("crop size \(cropSize) is larger than the resized image \(resize[0])×\(resize[1])")
        }
        if !meanValues.isEmpty && meanValues.count != 1 && meanValues.count != channels {
            throw ImageError("\(meanValues.count) mean values for images of \(channels) channels (give 1 or \(channels))")
        }
        if let scale, !scale.isFinite { throw ImageError("scale must be a finite number") }
    }

    /// Writes one decoded image (`pixels`: height × width × channels, interleaved) as float32
    /// [C, outH, outW] into `destination`; `random` picks the crop and the flip.
    func apply(_ pixels: UnsafePointer<UInt8>, height: Int, width: Int, channels: Int,
               into destination: UnsafeMutablePointer<Float>, random: inout SplitMix64, scratch: inout [UInt8]) throws {
        guard let resize, resize[0] != height || resize[1] != width else {
            return try place(pixels, height: height, width: width, channels: channels, into: destination, random: &random)
        }
        let count = resize[0] * resize[1] * channels
        if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
        try scratch.withUnsafeMutableBufferPointer { resized in
            Self.resizeBilinear(pixels, height: height, width: width, channels: channels, to: resized.baseAddress!, height: resize[0], width: resize[1])
            try place(resized.baseAddress!, height: resize[0], width: resize[1], channels: channels, into: destination, random: &random)
        }
    }

    /// Crops, flips, subtracts the mean and scales an image already at its final size.
    private func place(_ source: UnsafePointer<UInt8>, height h: Int, width w: Int, channels: Int,
                       into destination: UnsafeMutablePointer<Float>, random: inout SplitMix64) throws {
        let (oh, ow) = outputSize(stored: (h, w))
        guard oh <= h && ow <= w else {
            throw ImageError("the decoded image is \(w)×\(h), smaller than the crop \(ow)×\(oh)")
        }
        let y0 = randomCrop ? Int(random.next() % UInt64(h - oh + 1)) : (h - oh) / 2
        let x0 = randomCrop ? Int(random.next() % UInt64(w - ow + 1)) : (w - ow) / 2
        let flip = mirror && random.next() & 1 == 1
        let factor = scale ?? 1 / 255
        for c in 0..<channels {
            let mean = meanValues.isEmpty ? 0 : meanValues[meanValues.count == 1 ? 0 : c]
            let plane = destination + c * oh * ow
            for y in 0..<oh {
                let row = source + ((y0 + y) * w + x0) * channels + c
                let out = plane + y * ow
                if flip {
                    for x in 0..<ow { out[x] = (Float(row[(ow - 1 - x) * channels]) - mean) * factor }
                } else {
                    for x in 0..<ow { out[x] = (Float(row[x * channels]) - mean) * factor }
                }
            }
        }
    }

    /// Bilinear resampling of interleaved 8-bit pixels (pixel centres aligned, as OpenCV's
    /// INTER_LINEAR). Written here because no Debian library FeedBench links resizes images
    /// (libjpeg-turbo scales by 1/2, 1/4, 1/8 only, which `ImageDecoder` uses first).
    static func resizeBilinear(_ source: UnsafePointer<UInt8>, height: Int, width: Int, channels: Int,
                               to destination: UnsafeMutablePointer<UInt8>, height oh: Int, width ow: Int) {
        let sy = Float(height) / Float(oh), sx = Float(width) / Float(ow)
        for y in 0..<oh {
            let fy = max(0, (Float(y) + 0.5) * sy - 0.5)
            let y1 = min(Int(fy), height - 1), y2 = min(y1 + 1, height - 1)
            let wy = fy - Float(y1)
            for x in 0..<ow {
                let fx = max(0, (Float(x) + 0.5) * sx - 0.5)
                let x1 = min(Int(fx), width - 1), x2 = min(x1 + 1, width - 1)
                let wx = fx - Float(x1)
                for c in 0..<channels {
                    let a = Float(source[(y1 * width + x1) * channels + c]), b = Float(source[(y1 * width + x2) * channels + c])
                    let d = Float(source[(y2 * width + x1) * channels + c]), e = Float(source[(y2 * width + x2) * channels + c])
                    let value = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy
                    destination[(y * ow + x) * channels + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
    }
}

/// A small seeded generator (SplitMix64) for crops and flips: sample i of an epoch seeded s
/// gets the same crop whatever thread decodes it.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
