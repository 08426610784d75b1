import Foundation

/// How encoded image records are read: the transform that brings them to one shape, whether
/// undecodable images are skipped (and counted) instead of stopping the run, and the decode
/// threads (default: one per core).
public struct ImageOptions: Sendable, Equatable {
    public var transform: ImageTransform
    /// Skip records that do not decode or do not fit the set (another channel count, another
    /// size when no transform fixes it, smaller than the crop) — found by reading every
    /// header and decoding every record once when the set is opened; off by default: the
    /// first one is an error naming it. The set's channels and size are the first readable
    /// header's.
    public var skipBad: Bool
    public var decodeThreads: Int?
    /// Walk every record (skipping the ones whose header does not read) without decoding:
    /// the crash checks run in a child process.
    public var walkOnly = false

    public init(transform: ImageTransform = .none, skipBad: Bool = false, decodeThreads: Int? = nil, walkOnly: Bool = false) {
        self.transform = transform
        self.skipBad = skipBad
        self.decodeThreads = decodeThreads
        self.walkOnly = walkOnly
    }

    /// Whether records whose header does not read are skipped rather than an error.
    var skipsBadHeaders: Bool { skipBad || walkOnly }
    /// Whether every image is decoded once when the set is opened.
    var decodesEveryImage: Bool { skipBad && !walkOnly }

    public static let standard = ImageOptions()
}

/// What the records of an encoded set have in common, checked record by record as the set
/// is opened: one channel count and, unless the transform fixes the size, one size.
struct ImageSetShape {
    var channels: Int?
    var size: (height: Int, width: Int)?
    var smallest: (height: Int, width: Int)?
    var formats: Set<ImageFormat> = []

    /// Adds one record's header; throws a line saying how it differs.
    mutating func add(_ header: ImageHeader, transform: ImageTransform) throws {
        if let channels, channels != header.channels {
            throw ImageError("\(header.channels == 1 ? "a grey" : "a colour") image (\(header.channels) channel\(header.channels == 1 ? "" : "s")) where the first had \(channels)")
        }
        if !transform.fixesSize, let size, size != (header.height, header.width) {
            throw ImageError("\(header.width)×\(header.height), where the first image is \(size.width)×\(size.height); give --resize H,W or --crop N to bring them to one size")
        }
        if let crop = transform.cropSize, transform.resize == nil, min(header.height, header.width) < crop {
            throw ImageError("the image is \(header.width)×\(header.height), smaller than the crop \(crop)×\(crop)")
        }
        channels = header.channels
        if size == nil { size = (header.height, header.width) }
        formats.insert(header.format)
    }

    /// The batch's sample shape [C, H, W].
    func sampleShape(_ transform: ImageTransform) -> [Int]? {
        guard let channels, let size else { return nil }
        let out = transform.outputSize(stored: size)
        return [channels, out.height, out.width]
    }
}

/// Decodes a batch's encoded images in parallel on a `DecodePool` (the calling thread among
/// the workers), each worker with its own decoder and buffers, outside any library lock:
/// the bytes come from LMDB's map or an HDF5 read that has already returned.
public final class ImageBatchDecoder: @unchecked Sendable {
    let transform: ImageTransform
    public let sampleShape: [Int]
    let pool: DecodePool
    private let lock = NSLock()
    private var idle: [Worker] = []

    /// One worker's decoder and buffers, reused from image to image.
    final class Worker {
        let decoder: ImageDecoder
        var pixels: [UInt8] = []
        var scratch: [UInt8] = []
        init() throws { decoder = try ImageDecoder() }

        /// Decodes `bytes` and writes the transformed sample at `destination`.
        func decode(_ bytes: UnsafeRawBufferPointer, transform: ImageTransform, sampleShape: [Int], seed: UInt64,
                    into destination: UnsafeMutablePointer<Float>) throws {
            let header = try decoder.header(bytes)
            guard header.channels == sampleShape[0] else {
                throw ImageError("\(header.channels) channel\(header.channels == 1 ? "" : "s") where the set has \(sampleShape[0])")
            }
            let size = ImageDecoder.decodedSize(header, target: transform.decodeTarget)
            let count = size.height * size.width * header.channels
            if pixels.count < count { pixels = [UInt8](repeating: 0, count: count) }
            var random = SplitMix64(seed: seed)
            try pixels.withUnsafeMutableBufferPointer { buffer in
                try decoder.decode(bytes, header: header, size: size, into: buffer.baseAddress!)
                let out = transform.outputSize(stored: transform.resize.map { ($0[0], $0[1]) } ?? size)
                guard out.height == sampleShape[1], out.width == sampleShape[2] else {
                    throw ImageError("\(header.width)×\(header.height), where the set's images are \(sampleShape[2])×\(sampleShape[1]) (changed since the set was opened?)")
                }
                try transform.apply(buffer.baseAddress!, height: size.height, width: size.width, channels: header.channels,
                                    into: destination, random: &random, scratch: &scratch)
            }
        }
    }

    init(transform: ImageTransform, sampleShape: [Int], threads: Int?) {
        self.transform = transform
        self.sampleShape = sampleShape
        pool = threads.map { DecodePool(threads: $0) } ?? DecodePool()
    }

    func borrow() throws -> Worker {
        if let worker = lock.withLock({ idle.popLast() }) { return worker }
        return try Worker()
    }

    func giveBack(_ worker: Worker) { lock.withLock { idle.append(worker) } }

    /// The seed of sample `index` in an epoch seeded `seed`: its crop and flip.
    static func sampleSeed(_ seed: UInt64, _ index: Int) -> UInt64 { seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15) }

    /// Decodes `count` records into consecutive samples at `destination`; `record(i)` lends
    /// slot i's bytes, `describe(i)` names it in a message ("record '00000012'").
    func decode(_ count: Int, record: (Int) -> UnsafeRawBufferPointer, sampleIndex: (Int) -> Int, seed: UInt64,
                describe: (Int) -> String, into destination: UnsafeMutablePointer<Float>) throws {
        let d = sampleShape.reduce(1, *)
        try pool.run(count) { i in
            let worker = try borrow()
            defer { giveBack(worker) }
            do {
                try worker.decode(record(i), transform: transform, sampleShape: sampleShape,
                                  seed: Self.sampleSeed(seed, sampleIndex(i)), into: destination + i * d)
            } catch {
                throw ImageError("\(describe(i)): \(error)")
            }
        }
    }

    /// Which of `count` records do not decode (for `--skip-bad`, when a set is opened): their
    /// indices and the first one's message.
    func undecodable(_ count: Int, record: (Int) -> UnsafeRawBufferPointer) -> (indices: [Int], first: String?) {
        let d = sampleShape.reduce(1, *)
        let bad = UnsafeMutableBufferPointer<String?>.allocate(capacity: count)
        bad.initialize(repeating: nil)
        defer { bad.deinitialize(); bad.deallocate() }
        let block = 64
        let blocks = (count + block - 1) / block
        try? pool.run(blocks) { b in
            let worker = try borrow()
            defer { giveBack(worker) }
            let sample = UnsafeMutablePointer<Float>.allocate(capacity: d)
            defer { sample.deallocate() }
            for i in (b * block)..<min(count, (b + 1) * block) {
                do { try worker.decode(record(i), transform: transform.forEvaluation, sampleShape: sampleShape, seed: 0, into: sample) } catch {
                    bad[i] = "\(error)"
                }
            }
        }
        let indices = (0..<count).filter { bad[$0] != nil }
        return (indices, indices.first.map { bad[$0]! })
    }
}

/// Encodes blocks of samples as images in parallel (writers), each worker with its own
/// encoder.
final class ImageBlockEncoder: @unchecked Sendable {
    let encoding: ImageEncoding
    let shape: [Int]
    let pool = DecodePool()
    private let lock = NSLock()
    private var idle: [(ImageEncoder, [UInt8])] = []

    init(encoding: ImageEncoding, shape: [Int], destination: String) throws {
        try ImageEncoder.check(shape: shape, destination: destination)
        self.encoding = encoding
        self.shape = shape
    }

    /// Encodes `count` consecutive samples starting at `values`.
    func encode(_ values: UnsafePointer<Float>, count: Int) throws -> [[UInt8]] {
        let d = shape.reduce(1, *)
        let out = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: count)
        out.initialize(repeating: [])
        defer { out.deinitialize(); out.deallocate() }
        try pool.run(count) { i in
            var (encoder, scratch) = try lock.withLock({ idle.popLast() }) ?? (try ImageEncoder(), [])
            defer { lock.withLock { idle.append((encoder, scratch)) } }
            out[i] = try encoder.encode(sample: values + i * d, shape: shape, as: encoding, scratch: &scratch)
            _ = encoder
        }
        return Array(out)
    }
}
