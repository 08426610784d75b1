import Graph

/// A few batch buffers used in turn. A buffer is reused only when nobody else holds it any
/// more (the consumer dropped the batch); otherwise a new one is allocated. So a steady
/// consumer causes no allocation, and one that keeps batches is never overwritten. Taken from
/// one thread at a time.
public final class BatchRing: @unchecked Sendable {
    private var data: [Tensor<Float>?]
    private var labels: [Tensor<Float>?]
    private var next = 0
    private let sampleShape: [Int]

    public init(count: Int, sampleShape: [Int]) {
        data = Array(repeating: nil, count: max(count, 1))
        labels = Array(repeating: nil, count: max(count, 1))
        self.sampleShape = sampleShape
    }

    /// Allocates every buffer for `count` samples now (zeroed, so its pages are touched), so
    /// that taking batches later neither allocates nor faults pages in.
    public func allocate(count: Int) {
        for i in data.indices where data[i] == nil || data[i]!.count < count * sampleShape.reduce(1, *) {
            data[i] = Tensor(zeros: [count] + sampleShape)
            labels[i] = Tensor(zeros: [count])
        }
    }

    /// A batch buffer shaped for `count` samples.
    public func take(count: Int) -> Batch {
        defer { next = (next + 1) % data.count }
        if !isKnownUniquelyReferenced(&data[next]) || !isKnownUniquelyReferenced(&labels[next]) {
            data[next] = Tensor(zeros: [count] + sampleShape)
            labels[next] = Tensor(zeros: [count])
        }
        let batch = Batch(data: data[next]!, labels: labels[next]!)
        batch.data.reshape(to: [count] + sampleShape)
        batch.labels.reshape(to: [count])
        return batch
    }
}
