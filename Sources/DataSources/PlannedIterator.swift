/// The batches of one epoch in the order `EpochPlan` gives, each taken from a buffer ring
/// and filled by the source. Every backend's iterator is this plus its fill function (an
/// HDF5 set whose chunks FeedBench decodes uses `ChunkAssembler`, which plans further ahead).
final class PlannedIterator: BatchIterator {
    typealias Fill = (_ batch: Batch, _ indices: ArraySlice<Int>, _ position: Int) throws -> Void

    private let batches: [ArraySlice<Int>]
    private var position = 0
    private let ring: BatchRing
    private let fill: Fill

    init(_ source: any DataSource, _ options: EpochOptions, fill: @escaping Fill) {
        batches = EpochPlan.batches(EpochPlan.order(source.segments, options), options)
        ring = options.ring ?? BatchRing(count: options.buffers, sampleShape: source.sampleShape)
        self.fill = fill
    }

    /// For sources that fill by indices alone.
    convenience init(_ source: any DataSource, _ options: EpochOptions, fill: @escaping (Batch, ArraySlice<Int>) throws -> Void) {
        self.init(source, options) { batch, indices, _ in try fill(batch, indices) }
    }

    func next() throws -> Batch? {
        guard position < batches.count else { return nil }
        let indices = batches[position]
        let batch = ring.take(count: indices.count)
        try fill(batch, indices, position)
        position += 1
        return batch
    }
}
