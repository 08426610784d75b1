import Graph
/// A source that can lend its samples as they are stored — without converting them to
/// float32 and back — so that a writer storing the same element type copies bytes. Writing
/// uint8 through the float batches costs more than LZ4 compression itself.
public protocol StoredRows: DataSource {
    /// The type every sample is stored as.
    var rowType: StoredType { get }
    /// Copies the stored bytes of samples `range` (in order) into `destination`, and their
    /// labels into `labels`.
    func copyStoredRows(_ range: Range<Int>, into destination: UnsafeMutableRawPointer,
                        labels: UnsafeMutablePointer<Float>) throws
}

/// A data set held in memory in its stored element type (for writing it again, as a user
/// converting data already loaded would): uint8 samples of a uint8 source, else float32.
public final class StoredMemorySource: StoredRows {
    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let rowType: StoredType
    public var storedType: StoredType? { rowType }
    private let bytes: [UInt8]
    private let labels: [Float]
    private let scaling: Scaling

    /// Reads all of `source` into memory, as uint8 when it stores uint8 (quantised exactly,
    /// its values being multiples of 1/255), else as float32.
    public init(loading source: any DataSource) throws {
        name = "stored memory(\(source.name))"
        sampleShape = source.sampleShape
        sampleCount = source.sampleCount
        classes = source.classes
        segments = .single(source.sampleCount)
        let type: StoredType = source.storedType == .uint8 ? .uint8 : .float32
        try SizeLimits.checkHeldInMemory(source, elementSize: type.size, as: "write mode's copy of the data (\(type.rawValue))")
        rowType = type
        scaling = .default(for: type)
        let d = source.sampleElements
        var bytes = [UInt8](repeating: 0, count: source.sampleCount * d * type.size)
        var labels = [Float](repeating: 0, count: source.sampleCount)
        var row = 0
        let iterator = try source.makeIterator(EpochOptions(batchSize: 1024))
        while let batch = try iterator.next() {
            let n = batch.count
            try bytes.withUnsafeMutableBytes { out in
                let target = out.baseAddress! + row * d * type.size
                if type == .uint8 {
                    try Quantizer.uint8(batch.data.pointer, count: n * d, into: target.assumingMemoryBound(to: UInt8.self))
                } else {
                    target.copyMemory(from: batch.data.pointer, byteCount: n * d * 4)
                }
            }
            for i in 0..<n { labels[row + i] = batch.labels.pointer[i] }
            row += n
        }
        self.bytes = bytes
        self.labels = labels
    }

    public func copyStoredRows(_ range: Range<Int>, into destination: UnsafeMutableRawPointer,
                               labels out: UnsafeMutablePointer<Float>) throws {
        let rowBytes = sampleElements * rowType.size
        bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + range.lowerBound * rowBytes, byteCount: range.count * rowBytes) }
        for (k, i) in range.enumerated() { out[k] = labels[i] }
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        PlannedIterator(self, options) { [self] batch, indices in
            let d = sampleElements, rowBytes = d * rowType.size
            bytes.withUnsafeBytes { all in
                for (slot, index) in indices.enumerated() {
                    convertToFloat(all.baseAddress! + index * rowBytes, type: rowType, count: d, scaling: scaling,
                                   into: batch.data.pointer + slot * d)
                    batch.labels.pointer[slot] = labels[index]
                }
            }
        }
    }
}
