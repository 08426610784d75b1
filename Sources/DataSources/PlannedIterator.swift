/// The batches of one epoch in the order `EpochPlan` gives, each taken from a buffer ring
/// and filled by the source. Every backend's iterator is this plus its fill function; a
/// source that plans ahead (the chunk cache) sees the whole epoch's batches first.
final class PlannedIterator: BatchIterator {
    typealias Fill = (_ batch: Batch, _ indices: ArraySlice<Int>, _ position: Int) throws -> Void

    private let batches: [ArraySlice<Int>]
    private var position = 0
    private let ring: BatchRing
    private let fill: Fill
    var statistics: EpochStatistics?

    init(_ source: any DataSource, _ options: EpochOptions, onPlan: (([ArraySlice<Int>]) -> Void)? = nil, fill: @escaping Fill) {
        batches = EpochPlan.batches(EpochPlan.order(source.segments, options), options)
        ring = BatchRing(count: options.buffers, sampleShape: source.sampleShape)
        self.fill = fill
        onPlan?(batches)
    }

    /// For sources that fill by indices alone.
    convenience init(_ source: any DataSource, _ options: EpochOptions, fill: @escaping (Batch, ArraySlice<Int>) throws -> Void) {
        self.init(source, options, onPlan: nil) { batch, indices, _ in try fill(batch, indices) }
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
