import Foundation
import Graph
import HDF5

/// The physical limit: one flat file of samples read by memory copy.
///
/// A raw folder holds `data.bin` (N samples of the stored type, row after row),
/// `labels.bin` (N float32) and `meta.json` (`{"samples", "shape", "dtype"}`). The data file
/// is mapped into memory and each sample converted straight from the mapping into its batch
/// slot: no system call per sample and no library in between.
public final class RawSource: DataSource {
    struct Meta: Codable {
        var samples: Int
        var shape: [Int]
        var dtype: String
    }

    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let elementType: ElementType
    public var storedElementType: ElementType? { elementType }
    let scaling: Scaling
    let labels: [Float]
    let mapping: UnsafeRawPointer?
    let mappedBytes: Int

    public init(path: String, scale: Float? = nil) throws {
        name = path
        let metaPath = (path as NSString).appendingPathComponent("meta.json")
        guard let metaData = FileManager.default.contents(atPath: metaPath) else {
            throw DataSourceError(path, "not a raw folder (no meta.json)")
        }
        let meta: Meta
        do { meta = try JSONDecoder().decode(Meta.self, from: metaData) } catch {
            throw DataSourceError(metaPath, "cannot parse (\(error))")
        }
        guard let type = ElementType(rawValue: meta.dtype) else { throw DataSourceError(metaPath, "unknown dtype '\(meta.dtype)'") }
        guard meta.samples >= 0, !meta.shape.isEmpty, meta.shape.allSatisfy({ $0 >= 1 }) else {
            throw DataSourceError(metaPath, "samples and shape must be positive")
        }
        elementType = type
        sampleShape = meta.shape
        sampleCount = meta.samples
        scaling = scale.map { .multiply($0) } ?? .default(for: type)
        segments = .single(meta.samples)
        let labelPath = (path as NSString).appendingPathComponent("labels.bin")
        guard let labelData = FileManager.default.contents(atPath: labelPath), labelData.count == meta.samples * 4 else {
            throw DataSourceError(labelPath, "missing, or not \(meta.samples) float32 labels")
        }
        labels = labelData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let maxLabel = labels.max() ?? -1
        classes = labels.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) && maxLabel >= 0 ? Int(maxLabel) + 1 : nil
        let dataPath = (path as NSString).appendingPathComponent("data.bin")
        let expected = meta.samples * meta.shape.reduce(1, *) * type.size
        let fd = open(dataPath, O_RDONLY)
        guard fd >= 0 else { throw DataSourceError(dataPath, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        guard Int(info.st_size) == expected else {
            throw DataSourceError(dataPath, "has \(info.st_size) bytes, meta.json describes \(expected)")
        }
        mappedBytes = expected
        if expected > 0 {
            let p = mmap(nil, expected, PROT_READ, MAP_SHARED, fd, 0)
            guard let p, p != MAP_FAILED else { throw DataSourceError(dataPath, "cannot map: \(String(cString: strerror(errno)))") }
            mapping = UnsafeRawPointer(p)
        } else {
            mapping = nil
        }
    }

    deinit {
        if let mapping { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedBytes) }
    }

    /// The files the source reads (for cache eviction and residency checks).
    public var files: [String] { ["data.bin", "labels.bin"].map { (name as NSString).appendingPathComponent($0) } }

    public func evictFromPageCache() {
        if let mapping { madvise(UnsafeMutableRawPointer(mutating: mapping), mappedBytes, MADV_DONTNEED) }
        PageCache.evict(files)
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        PlannedIterator(self, options) { [self] batch, indices in
            let d = sampleElements, rowBytes = d * elementType.size
            guard let mapping else { return }
            var slot = 0
            var k = indices.startIndex
            while k < indices.endIndex {
                // Consecutive samples convert in one pass.
                var count = 1
                while k + count < indices.endIndex && indices[k + count] == indices[k] + count { count += 1 }
                convertToFloat(mapping + indices[k] * rowBytes, type: elementType, count: count * d,
                               scaling: scaling, into: batch.data.pointer + slot * d)
                for c in 0..<count { batch.labels.pointer[slot + c] = labels[indices[k] + c] }
                slot += count
                k += count
            }
        }
    }

    /// Writes any source as a raw folder (atomically: a temporary folder renamed at the end).
    public static func write(_ source: any DataSource, to path: String, dtype: ElementType, progress: (Int) -> Void = { _ in }) throws {
        guard dtype == .uint8 || dtype == .float32 else { throw DataSourceError(path, "raw folders store uint8 or float32") }
        let temporary = AtomicFile.temporaryPath(for: path)
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            let dataPath = (temporary as NSString).appendingPathComponent("data.bin")
            FileManager.default.createFile(atPath: dataPath, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataPath))
            var labels: [Float] = []
            let iterator = try source.makeIterator(EpochOptions(batchSize: 1024))
            let d = source.sampleElements
            while let batch = try iterator.next() {
                let values = batch.data.pointer, n = batch.count * d
                if dtype == .uint8 {
                    var bytes = [UInt8](repeating: 0, count: n)
                    for i in 0..<n { bytes[i] = UInt8(max(0, min(255, (values[i] * 255).rounded()))) }
                    try handle.write(contentsOf: bytes)
                } else {
                    try handle.write(contentsOf: Data(bytes: values, count: n * 4))
                }
                labels += batch.labels.scalars
                progress(labels.count)
            }
            try handle.close()
            try labels.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: (temporary as NSString).appendingPathComponent("labels.bin"))) }
            let meta = Meta(samples: labels.count, shape: source.sampleShape, dtype: dtype.rawValue)
            try JSONEncoder().encode(meta).write(to: URL(fileURLWithPath: (temporary as NSString).appendingPathComponent("meta.json")))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try AtomicFile.commit(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}
