import Graph

/// A seeded synthetic classification set, made on the fly: each class has a random
/// prototype in [0, 1]^D, and a sample is 0.6 × its class's prototype plus 0.4 × uniform
/// noise, so a network can learn it but not trivially. Sample i depends only on the seed
/// and i, so any order gives the same values; labels cycle through the classes.
public final class SyntheticSource: DataSource {
    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    let seed: UInt64
    let prototypes: [Float]

    public init(samples: Int, shape: [Int], classes: Int, seed: UInt64) throws {
        guard samples >= 1 else { throw DataSourceError("generate", "--samples must be at least 1") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 1 }) else { throw DataSourceError("generate", "--shape must be positive sizes") }
        guard classes >= 1 else { throw DataSourceError("generate", "--classes must be at least 1") }
        name = "synthetic(\(samples)×\(shape.map(String.init).joined(separator: "×")), \(classes) classes, seed \(seed))"
        sampleShape = shape
        sampleCount = samples
        self.classes = classes
        self.seed = seed
        segments = .single(samples)
        let d = shape.reduce(1, *)
        var g = SeededGenerator(seed: seed, stream: "prototypes")
        prototypes = (0..<classes * d).map { _ in Float(g.nextUnit()) }
    }

    /// Writes sample `index` into `destination` and returns its label.
    func sample(_ index: Int, into destination: UnsafeMutablePointer<Float>) -> Float {
        let d = sampleElements
        let label = index % (classes ?? 1)
        var g = SeededGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        prototypes.withUnsafeBufferPointer { p in
            let base = p.baseAddress! + label * d
            for j in 0..<d {
                // Quantise to 1/255 steps so uint8 storage holds the values exactly.
                let v = 0.6 * base[j] + 0.4 * Float(g.nextUnit())
                destination[j] = (v * 255).rounded() / 255
            }
        }
        return Float(label)
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
