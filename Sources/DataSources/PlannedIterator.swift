/// The batches of one epoch in the order `EpochPlan` gives, each taken from a buffer ring
/// and filled by the source. Every backend's iterator is this plus its fill function.
final class PlannedIterator: BatchIterator {
    typealias Fill = (_ batch: Batch, _ indices: ArraySlice<Int>) throws -> Void

    private let batches: [ArraySlice<Int>]
    private var position = 0
    private let ring: BatchRing
    private let fill: Fill

    init(_ source: any DataSource, _ options: EpochOptions, fill: @escaping Fill) {
        batches = EpochPlan.batches(EpochPlan.order(source.segments, options), options)
        ring = BatchRing(count: options.buffers, sampleShape: source.sampleShape)
        self.fill = fill
    }

    func next() throws -> Batch? {
        guard position < batches.count else { return nil }
        let indices = batches[position]
        position += 1
        let batch = ring.take(count: indices.count)
        try fill(batch, indices)
        return batch
    }
}
