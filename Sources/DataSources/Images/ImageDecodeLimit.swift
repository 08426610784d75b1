import Foundation

/// A set of encoded images: what the decode-only limit needs from it.
public protocol EncodedImageSource: DataSource {
    /// The batch decoder (transform, sample shape, threads).
    var imageDecoder: ImageBatchDecoder { get }
    /// Every image's bytes, in index order, copied into memory.
    func copyEncodedImages() throws -> [[UInt8]]
}

/// The physical limit of an encoded layout: the same images, copied into memory first, then
/// decoded and transformed (crop, flip, mean, scale) into float32 on all the pool's threads
/// by the same decoders — no file, no LMDB or HDF5, no batching, no order. A reader of
/// encoded images cannot go faster; the benchmark reports each encoded read as a ratio to it.
public final class ImageDecodeLimit {
    private let decoder: ImageBatchDecoder
    private let images: [[UInt8]]
    public var sampleCount: Int { images.count }

    public init(_ source: any EncodedImageSource) throws {
        decoder = source.imageDecoder
        images = try source.copyEncodedImages()
        guard !images.isEmpty else { throw DataSourceError(source.name, "has no encoded images to decode") }
    }

    /// Decodes every image once; returns the samples decoded and the seconds it took.
    public func run() throws -> (samples: Int, seconds: Double) {
        let d = decoder.sampleShape.reduce(1, *)
        let block = 64
        let blocks = (images.count + block - 1) / block
        let clock = ContinuousClock()
        let start = clock.now
        try decoder.pool.run(blocks) { b in
            let worker = try decoder.borrow()
            defer { decoder.giveBack(worker) }
            let output = UnsafeMutablePointer<Float>.allocate(capacity: d)
            defer { output.deallocate() }
            for i in (b * block)..<min(images.count, (b + 1) * block) {
                try images[i].withUnsafeBytes { bytes in
                    try worker.decode(bytes, transform: decoder.transform, sampleShape: decoder.sampleShape,
                                      seed: ImageBatchDecoder.sampleSeed(1, i), into: output)
                }
            }
        }
        let elapsed = clock.now - start
        return (images.count, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
}

extension LMDBSource: EncodedImageSource {
    public var imageDecoder: ImageBatchDecoder {
        guard let images else { preconditionFailure("imageDecoder of an LMDB of raw pixels") }
        return images
    }

    public func copyEncodedImages() throws -> [[UInt8]] {
        guard images != nil else { throw DataSourceError(name, "holds raw pixels, not encoded images") }
        let transaction = try environment.beginRead()
        return try (0..<sampleCount).map { index in
            let start = index == 0 ? 0 : keyEnds[index - 1]
            return try keyBytes.withUnsafeBytes { keys in
                try transaction.withValue(forKey: UnsafeRawBufferPointer(rebasing: keys[start..<keyEnds[index]])) { value in
                    guard let value, let data = try DatumView(value).data else { throw DataSourceError(name, "record \(describe(index: index)) vanished") }
                    return Array(data)
                }
            }
        }
    }
}

extension EncodedHDF5Source: EncodedImageSource {
    public var imageDecoder: ImageBatchDecoder { images }

    public func copyEncodedImages() throws -> [[UInt8]] {
        var copies = [[UInt8]](repeating: [], count: sampleCount)
        var sampleOf: [Int: [Int: Int]] = [:]  // member → row → sample
        for (sample, location) in locations.enumerated() { sampleOf[location.member, default: [:]][location.row] = sample }
        for (m, member) in members.enumerated() {
            guard let rows = sampleOf[m] else { continue }
            let count = member.offsets.map { $0.count - 1 } ?? member.data.rows
            try Self.visit(member, rows: 0..<count) { row, bytes in
                if let sample = rows[row] { copies[sample] = Array(bytes) }
            }
        }
        return copies
    }
}
