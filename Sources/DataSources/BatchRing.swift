import Graph

/// A few batch buffers used in turn. A buffer is reused only when nobody else holds it any
/// more (the consumer dropped the batch); otherwise a new one is allocated. So a steady
/// consumer causes no allocation, and one that keeps batches is never overwritten.
final class BatchRing {
    private var data: [Tensor<Float>?]
    private var labels: [Tensor<Float>?]
    private var next = 0
    private let sampleShape: [Int]

    init(count: Int, sampleShape: [Int]) {
        data = Array(repeating: nil, count: max(count, 1))
        labels = Array(repeating: nil, count: max(count, 1))
        self.sampleShape = sampleShape
    }

    /// A batch buffer shaped for `count` samples.
    func take(count: Int) -> Batch {
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
