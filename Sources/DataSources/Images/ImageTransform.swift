import Graph
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
        if let resize, SizeLimits.product(resize + [channels], limit: SizeLimits.sampleElements) == nil {
            throw ImageError("resize \(resize[0]),\(resize[1]) makes samples of more than \(SizeLimits.sampleElements) values")
        }
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
        // Only the part of the resized image the crop keeps is computed: the crop's position
        // is drawn first, then that window resized into `scratch`, then placed (as a crop of
        // its own size, so at offset 0).
        let (oh, ow) = outputSize(stored: (resize[0], resize[1]))
        guard oh <= resize[0] && ow <= resize[1] else {
            throw ImageError("the resized image is \(resize[1])×\(resize[0]), smaller than the crop \(ow)×\(oh)")
        }
        let y0 = randomCrop ? Int(random.next() % UInt64(resize[0] - oh + 1)) : (resize[0] - oh) / 2
        let x0 = randomCrop ? Int(random.next() % UInt64(resize[1] - ow + 1)) : (resize[1] - ow) / 2
        let count = oh * ow * channels
        if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
        try scratch.withUnsafeMutableBufferPointer { window in
            Self.resizeBilinear(pixels, height: height, width: width, channels: channels, to: window.baseAddress!,
                                height: resize[0], width: resize[1], window: (y0, x0, oh, ow))
            try place(window.baseAddress!, height: oh, width: ow, channels: channels, into: destination, random: &random)
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
    /// INTER_LINEAR and Pillow's BILINEAR for enlarging), computing only `window` (first row,
    /// first column, rows, columns) of the (oh, ow) result: separable, each source row
    /// resampled horizontally once into a row buffer, then rows blended. Written here because
    /// no Debian library FeedBench links resizes images (libjpeg-turbo scales by 1/8 … 1/2
    /// only, which `ImageDecoder` uses first).
    static func resizeBilinear(_ source: UnsafePointer<UInt8>, height: Int, width: Int, channels c: Int,
                               to destination: UnsafeMutablePointer<UInt8>, height oh: Int, width ow: Int,
                               window: (y: Int, x: Int, height: Int, width: Int)? = nil) {
        let (wy0, wx0, wh, ww) = window ?? (0, 0, oh, ow)
        let sy = Float(height) / Float(oh), sx = Float(width) / Float(ow)
        let rowLength = ww * c
        // Fixed point: weights in 1/256, a resampled row in 1/256 of a level (Int32 holds
        // 255 × 256 × 256 with room to spare). Integer arithmetic in unchecked buffers: the
        // float version with Swift arrays took a third of an image's decode time.
        let left = UnsafeMutablePointer<Int>.allocate(capacity: ww), right = UnsafeMutablePointer<Int>.allocate(capacity: ww)
        let weight = UnsafeMutablePointer<Int32>.allocate(capacity: ww)
        var rowA = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength), rowB = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
        defer { left.deallocate(); right.deallocate(); weight.deallocate(); rowA.deallocate(); rowB.deallocate() }
        for x in 0..<ww {
            let f = max(0, (Float(wx0 + x) + 0.5) * sx - 0.5)
            let x1 = min(Int(f), width - 1)
            left[x] = x1 * c
            right[x] = min(x1 + 1, width - 1) * c
            weight[x] = Int32(min(256, max(0, ((f - Float(x1)) * 256).rounded())))
        }
        func resample(_ sourceRow: Int, into row: UnsafeMutablePointer<Int32>) {
            let line = source + sourceRow * width * c
            if c == 3 {
                for x in 0..<ww {
                    let l = left[x], r = right[x], w = weight[x], o = x * 3
                    let a0 = Int32(line[l]), a1 = Int32(line[l + 1]), a2 = Int32(line[l + 2])
                    row[o] = (a0 << 8) &+ (Int32(line[r]) &- a0) &* w
                    row[o + 1] = (a1 << 8) &+ (Int32(line[r + 1]) &- a1) &* w
                    row[o + 2] = (a2 << 8) &+ (Int32(line[r + 2]) &- a2) &* w
                }
            } else {
                for x in 0..<ww {
                    let l = left[x], r = right[x], w = weight[x]
                    for k in 0..<c {
                        let a = Int32(line[l + k])
                        row[x * c + k] = (a << 8) &+ (Int32(line[r + k]) &- a) &* w
                    }
                }
            }
        }
        var rowAIndex = -1, rowBIndex = -1
        for y in 0..<wh {
            let f = max(0, (Float(wy0 + y) + 0.5) * sy - 0.5)
            let y1 = min(Int(f), height - 1), y2 = min(y1 + 1, height - 1)
            let w = Int32(min(256, max(0, ((f - Float(y1)) * 256).rounded())))
            // Source rows advance monotonically: reuse the two buffers.
            if rowAIndex != y1 {
                if rowBIndex == y1 { swap(&rowA, &rowB); swap(&rowAIndex, &rowBIndex) } else { resample(y1, into: rowA); rowAIndex = y1 }
            }
            if rowBIndex != y2 { resample(y2, into: rowB); rowBIndex = y2 }
            let out = destination + y * rowLength
            let keep = 256 &- w
            for i in 0..<rowLength {
                out[i] = UInt8(truncatingIfNeeded: (rowA[i] &* keep &+ rowB[i] &* w &+ 32768) >> 16)
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
