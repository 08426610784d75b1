import Graph

/// A seeded synthetic classification set, made on the fly. Sample i depends only on the
/// seed and i, so any order gives the same values; labels cycle through the classes.
///
/// - `noise`: each class has a random prototype in [0, 1]^D, and a sample is 0.6 × its
///   class's prototype plus 0.4 × uniform noise (learnable, incompressible).
/// - `digits`: a real handwritten digit of the sample's class, scaled to about 0.7 of the
///   image (MNIST draws 20 of 28 pixels), shifted by up to a ninth of the image, its stroke
///   thinned and mostly saturated, with noise on its edges; the background stays 0.
/// - `photos`: a square patch of the class's photograph, its side between a quarter of the
///   photograph and all of it (but never smaller than the sample), resampled from the
///   nearest level of a half-size pyramid, mirrored at random, brightness ×0.85–1.15.
///
/// Values are multiples of 1/255, so uint8 storage holds them exactly.
public final class SyntheticSource: DataSource {
    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let content: SampleContent
    let seed: UInt64
    let prototypes: [Float]
    let digits: ContentAssets.DigitImages?
    let photos: [ContentAssets.Photo]?

    public init(samples: Int, shape: [Int], classes: Int, seed: UInt64, content: SampleContent = .noise) throws {
        guard samples >= 1 else { throw DataSourceError("generate", "--samples must be at least 1") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 1 }) else { throw DataSourceError("generate", "--shape must be positive sizes") }
        guard SizeLimits.product(shape, limit: SizeLimits.sampleElements) != nil else {
            throw DataSourceError("generate", "--shape \(describe(shape: shape)) holds more than \(SizeLimits.sampleElements) values per sample")
        }
        guard classes >= 1 else { throw DataSourceError("generate", "--classes must be at least 1") }
        try content.check(shape: shape, classes: classes)
        name = "synthetic \(content.rawValue) (\(samples)×\(shape.map(String.init).joined(separator: "×")), \(classes) classes, seed \(seed))"
        sampleShape = shape
        sampleCount = samples
        self.classes = classes
        self.seed = seed
        self.content = content
        segments = .single(samples)
        let d = shape.reduce(1, *)
        if content == .noise {
            var g = SeededGenerator(seed: seed, stream: "prototypes")
            prototypes = (0..<classes * d).map { _ in Float(g.nextUnit()) }
        } else {
            prototypes = []
        }
        digits = content == .digits ? try ContentAssets.shared.digits() : nil
        photos = content == .photos ? try ContentAssets.shared.photos() : nil
    }

    /// Writes sample `index` into `destination` and returns its label.
    func sample(_ index: Int, into destination: UnsafeMutablePointer<Float>) -> Float {
        let label = index % (classes ?? 1)
        var g = SeededGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        switch content {
        case .noise: noise(label, into: destination, &g)
        case .digits: digit(label, into: destination, &g)
        case .photos: photo(label, into: destination, &g)
        }
        return Float(label)
    }

    private var imageSize: (channels: Int, height: Int, width: Int) {
        let s = sampleShape
        return s.count == 3 ? (s[0], s[1], s[2]) : (1, s[0], s[1])
    }

    private func noise(_ label: Int, into destination: UnsafeMutablePointer<Float>, _ g: inout SeededGenerator) {
        let d = sampleElements
        prototypes.withUnsafeBufferPointer { p in
            let base = p.baseAddress! + label * d
            for j in 0..<d {
                let v = 0.6 * base[j] + 0.4 * Float(g.nextUnit())
                destination[j] = (v * 255).rounded() / 255
            }
        }
    }

    private func digit(_ label: Int, into destination: UnsafeMutablePointer<Float>, _ g: inout SeededGenerator) {
        guard let digits else { return }
        let (c, h, w) = imageSize
        let candidates = digits.byClass[label]
        let pick = candidates[Int(g.next() % UInt64(candidates.count))]
        let box = max(4.0, (0.71 * Double(min(h, w))).rounded())
        let reach = max(1, min(h, w) / 9)
        let dx = Int(g.next() % UInt64(2 * reach + 1)) - reach, dy = Int(g.next() % UInt64(2 * reach + 1)) - reach
        let x0 = Double(w) / 2 - box / 2 + Double(dx), y0 = Double(h) / 2 - box / 2 + Double(dy)
        let gain = 0.8 + 0.5 * g.nextUnit()
        let step = 8 / box
        digits.pixels.withUnsafeBufferPointer { all in
            let image = all.baseAddress! + pick * 64
            func at(_ x: Int, _ y: Int) -> Double { x < 0 || y < 0 || x > 7 || y > 7 ? 0 : Double(image[y * 8 + x]) }
            for y in 0..<h {
                let v = (Double(y) + 0.5 - y0) * step - 0.5
                let vy = Int(v.rounded(.down)), fy = v - Double(vy)
                for x in 0..<w {
                    let u = (Double(x) + 0.5 - x0) * step - 0.5
                    let ux = Int(u.rounded(.down)), fx = u - Double(ux)
                    let s = (1 - fy) * ((1 - fx) * at(ux, vy) + fx * at(ux + 1, vy)) + fy * ((1 - fx) * at(ux, vy + 1) + fx * at(ux + 1, vy + 1))
                    // Thin the stroke (MNIST's strokes are about two pixels wide with
                    // anti-aliased edges), then vary it a little along its length.
                    var value = ((s - 56) * 2.4 * gain).rounded()
                    if value > 0 && value < 255 { value += ((g.nextUnit() - 0.5) * 12).rounded() }
                    let q = Float(min(255, max(0, value))) / 255
                    for channel in 0..<c { destination[(channel * h + y) * w + x] = q }
                }
            }
        }
    }

    private func photo(_ label: Int, into destination: UnsafeMutablePointer<Float>, _ g: inout SeededGenerator) {
        guard let photos else { return }
        let (c, h, w) = imageSize
        let photo = photos[label], full = photo.levels[0]
        let shorter = Double(min(full.width, full.height)), longest = Double(max(h, w))
        let low = min(shorter, max(longest, shorter / 4))
        let side = low + (shorter - low) * g.nextUnit()  // the patch's longer side, in pixels
        let scale = side / longest  // photograph pixels per sample pixel
        let (cropW, cropH) = (scale * Double(w), scale * Double(h))
        let left = g.nextUnit() * (Double(full.width) - cropW), top = g.nextUnit() * (Double(full.height) - cropH)
        let mirror = g.next() & 1 == 1
        let brightness = 0.85 + 0.3 * g.nextUnit()
        var levelIndex = 0
        while levelIndex + 1 < photo.levels.count && scale / Double(1 << (levelIndex + 1)) >= 1 { levelIndex += 1 }
        let level = photo.levels[levelIndex], factor = Double(1 << levelIndex)
        level.pixels.withUnsafeBufferPointer { p in
            func at(_ x: Int, _ y: Int, _ k: Int) -> Double {
                let cx = min(max(x, 0), level.width - 1), cy = min(max(y, 0), level.height - 1)
                return Double(p[(cy * level.width + cx) * 3 + k])
            }
            for y in 0..<h {
                let v = (top + (Double(y) + 0.5) * scale) / factor - 0.5
                let vy = Int(v.rounded(.down)), fy = v - Double(vy)
                for x in 0..<w {
                    let sx = mirror ? w - 1 - x : x
                    let u = (left + (Double(sx) + 0.5) * scale) / factor - 0.5
                    let ux = Int(u.rounded(.down)), fx = u - Double(ux)
                    var rgb = (0.0, 0.0, 0.0)
                    for k in 0..<3 {
                        let s = (1 - fy) * ((1 - fx) * at(ux, vy, k) + fx * at(ux + 1, vy, k)) + fy * ((1 - fx) * at(ux, vy + 1, k) + fx * at(ux + 1, vy + 1, k))
                        if k == 0 { rgb.0 = s } else if k == 1 { rgb.1 = s } else { rgb.2 = s }
                    }
                    func q(_ value: Double) -> Float { Float(min(255, max(0, (value * brightness).rounded()))) / 255 }
                    if c == 3 {
                        destination[(0 * h + y) * w + x] = q(rgb.0)
                        destination[(1 * h + y) * w + x] = q(rgb.1)
                        destination[(2 * h + y) * w + x] = q(rgb.2)
                    } else {
                        destination[y * w + x] = q(0.299 * rgb.0 + 0.587 * rgb.1 + 0.114 * rgb.2)
                    }
                }
            }
        }
    }

    /// Generated values are multiples of 1/255, so uint8 holds them exactly.
    public var storedType: StoredType? { .uint8 }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        PlannedIterator(self, options) { [self] batch, indices in
            let d = sampleElements
            for (slot, index) in indices.enumerated() {
                batch.labels.pointer[slot] = sample(index, into: batch.data.pointer + slot * d)
            }
        }
    }
}
