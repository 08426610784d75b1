/// `softmax_cross_entropy(z, y) = mean over samples of -log softmax(z)[y]`, computed with
/// log-sum-exp so large scores do not overflow. Its diff is `(softmax(z) - onehot(y)) / N`,
/// scaled by the output's diff so the loss may sit anywhere in a network.
public struct SoftmaxCrossEntropy: Operation {
    public init() {}
    public var name: String { "softmax_cross_entropy" }
    public var arity: ClosedRange<Int> { 2...2 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try classificationLossShape(name, inputs)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let z = inputs[0].pointer, labels = inputs[1].pointer
        let n = inputs[0].rows, k = inputs[0].columns
        var total: T = 0
        for r in 0..<n {
            let row = z + r * k
            let y = try classIndex(labels, r, classes: k)
            var m = row[0]
            for j in 1..<k where row[j] > m { m = row[j] }
            var sum: T = 0
            for j in 0..<k { sum += T.exp(row[j] - m) }
            total += m + T.log(sum) - row[y]
        }
        output.pointer[0] = n > 0 ? total / T(n) : 0
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        guard let dz = diffs[0] else { return }
        let z = inputs[0].pointer, labels = inputs[1].pointer
        let n = inputs[0].rows, k = inputs[0].columns
        let scale = outputDiff.pointer[0] / T(Swift.max(n, 1))
        let d = dz.tensor.pointer
        for r in 0..<n {
            let row = z + r * k, out = d + r * k
            var m = row[0]
            for j in 1..<k where row[j] > m { m = row[j] }
            var sum: T = 0
            for j in 0..<k { sum += T.exp(row[j] - m) }
            let inverse = 1 / sum
            let y = Int(labels[r])  // checked in forward
            for j in 0..<k {
                let p = T.exp(row[j] - m) * inverse
                let v = scale * (j == y ? p - 1 : p)
                if dz.accumulate { out[j] += v } else { out[j] = v }
            }
        }
    }
}
