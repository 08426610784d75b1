import Graph

/// Data already in memory: every sample converted to float32 once, batches copied from it.
/// The baseline for "how fast could training go if storage cost nothing".
public final class MemorySource: DataSource {
    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    let values: [Float]
    let labels: [Float]

    /// Reads all of `source` into memory.
    public init(loading source: any DataSource) throws {
        name = "memory(\(source.name))"
        try SizeLimits.checkHeldInMemory(source, elementSize: MemoryLayout<Float>.size, as: "the memory backend (float32)")
        sampleShape = source.sampleShape
        sampleCount = source.sampleCount
        classes = source.classes
        segments = .single(source.sampleCount)
        var values: [Float] = [], labels: [Float] = []
        values.reserveCapacity(source.sampleCount * source.sampleElements)
        let iterator = try source.makeIterator(EpochOptions(batchSize: 1024))
        while let batch = try iterator.next() {
            values += UnsafeBufferPointer(start: batch.data.pointer, count: batch.data.count)
            labels += batch.labels.scalars
        }
        self.values = values
        self.labels = labels
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        PlannedIterator(self, options) { [self] batch, indices in
            let d = sampleElements
            values.withUnsafeBufferPointer { all in
                for (slot, index) in indices.enumerated() {
                    (batch.data.pointer + slot * d).update(from: all.baseAddress! + index * d, count: d)
                    batch.labels.pointer[slot] = labels[index]
                }
            }
        }
    }
}

extension SizeLimits {
    /// Refuses to load all of `source` into memory when it would take more than three
    /// quarters of the machine's memory (the rest is the process, its read-ahead and the
    /// page cache the measurement needs): one line naming the set, before any allocation.
    static func checkHeldInMemory(_ source: any DataSource, elementSize: Int, as what: String) throws {
        guard let bytes = product([source.sampleCount, source.sampleElements, elementSize]), bytes <= memory / 4 * 3 else {
            let size = product([source.sampleCount, source.sampleElements, elementSize]).map(gib) ?? "more than 2⁶³ bytes"
            throw DataSourceError(source.name, "\(what) would hold \(size) in memory, more than three quarters of the machine's \(gib(memory))")
        }
    }
}
