import Foundation
import Graph

/// The physical limit: one flat file of samples read by memory copy.
///
/// A raw folder holds `data.bin` (N samples of the stored type, row after row),
/// `labels.bin` (N float32) and `meta.json` (`{"samples", "shape", "dtype"}`). The data file
/// is mapped into memory and each sample converted straight from the mapping into its batch
/// slot: no system call per sample and no library in between.
public final class RawSource: DataSource, FileBacked, StoredRows, MappedReads {
    /// The contents of `meta.json`.
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
    public let elementType: StoredType
    public var storedType: StoredType? { elementType }
    let scaling: Scaling
    let labels: [Float]
    let mapping: UnsafeRawPointer?
    let mappedBytes: Int

    public init(path: String, scale: Float? = nil) throws {
        name = path
        let metaPath = (path as NSString).appendingPathComponent("meta.json")
        // Regular files only (a FIFO would block the reads below); missing ones are named below.
        for name in ["meta.json", "labels.bin", "data.bin"] {
            let file = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file) { try InputFile.requireRegular(file) }
        }
        guard let metaData = FileManager.default.contents(atPath: metaPath) else {
            throw DataSourceError(path, "not a raw folder (no meta.json)")
        }
        let meta: Meta
        do { meta = try JSONDecoder().decode(Meta.self, from: metaData) } catch {
            throw DataSourceError(metaPath, "cannot parse (\(error))")
        }
        guard let type = StoredType(rawValue: meta.dtype) else { throw DataSourceError(metaPath, "unknown dtype '\(meta.dtype)'") }
        guard meta.samples >= 0, !meta.shape.isEmpty, meta.shape.allSatisfy({ $0 >= 1 }) else {
            throw DataSourceError(metaPath, "samples and shape must be positive")
        }
        elementType = type
        sampleShape = meta.shape
        sampleCount = meta.samples
        scaling = .from(scale, for: type)
        segments = .single(meta.samples)
        let labelPath = (path as NSString).appendingPathComponent("labels.bin")
        guard let labelData = FileManager.default.contents(atPath: labelPath), labelData.count == meta.samples * 4 else {
            throw DataSourceError(labelPath, "missing, or not \(meta.samples) float32 labels")
        }
        labels = labelData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let maxLabel = labels.max() ?? -1
        classes = ClassLabels.count(maxLabel: Double(maxLabel), allIntegral: labels.allSatisfy { $0 >= 0 && $0 == $0.rounded() })
        let dataPath = (path as NSString).appendingPathComponent("data.bin")
        guard let elements = SizeLimits.product(meta.shape, limit: SizeLimits.sampleElements),
              let expected = SizeLimits.product([meta.samples, elements, type.size]) else {
            throw DataSourceError(metaPath, "\(meta.samples) samples of shape \(describe(shape: meta.shape)) are too large to read (a corrupt meta.json?)")
        }
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
            guardSlot = MappingGuard.register(UnsafeRawPointer(p), length: expected)
        } else {
            mapping = nil
        }
    }

    deinit {
        MappingGuard.unregister(guardSlot)
        if let mapping { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedBytes) }
    }

    /// Its entry in `MappingGuard`: a read of a data.bin that shrank is an error, not SIGBUS.
    private var guardSlot: Int?

    func checkMappings() throws {
        try MappingGuard.check(guardSlot, path: (name as NSString).appendingPathComponent("data.bin"))
    }

    public var rowType: StoredType { elementType }

    public func copyStoredRows(_ range: Range<Int>, into destination: UnsafeMutableRawPointer,
                               labels out: UnsafeMutablePointer<Float>) throws {
        guard range.lowerBound >= 0, range.upperBound <= sampleCount else { throw DataSourceError(name, "rows \(range) out of range") }
        let rowBytes = sampleElements * elementType.size
        if let mapping, !range.isEmpty { destination.copyMemory(from: mapping + range.lowerBound * rowBytes, byteCount: range.count * rowBytes) }
        try checkMappings()
        for (k, i) in range.enumerated() { out[k] = labels[i] }
    }

    /// The files the source reads (for cache eviction and residency checks).
    public var files: [String] { ["data.bin", "labels.bin"].map { (name as NSString).appendingPathComponent($0) } }

    public func evictFromPageCache() {
        if let mapping { madvise(UnsafeMutableRawPointer(mutating: mapping), mappedBytes, MADV_DONTNEED) }
        PageCache.evict(files)
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        CheckedIterator(plannedIterator(options), source: self)
    }

    private func plannedIterator(_ options: EpochOptions) -> PlannedIterator {
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
}
