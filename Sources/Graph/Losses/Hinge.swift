/// `hinge(s, y)`, the multiclass SVM loss: mean over samples of
/// `Σ_{j ≠ y} max(0, s_j - s_y + 1)`.
public struct Hinge: Operation {
    public init() {}
    public var name: String { "hinge" }
    public var arity: ClosedRange<Int> { 2...2 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try classificationLossShape(name, inputs)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let s = inputs[0].pointer, labels = inputs[1].pointer
        let n = inputs[0].rows, k = inputs[0].columns
        var total: T = 0
        for r in 0..<n {
            let row = s + r * k
            let y = try classIndex(labels, r, classes: k)
            for j in 0..<k where j != y { total += Swift.max(0, row[j] - row[y] + 1) }
        }
        output.pointer[0] = n > 0 ? total / T(n) : 0
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        guard let ds = diffs[0] else { return }
        let s = inputs[0].pointer, labels = inputs[1].pointer
        let n = inputs[0].rows, k = inputs[0].columns
        let scale = outputDiff.pointer[0] / T(Swift.max(n, 1))
        let d = ds.tensor.pointer
        if !ds.accumulate { ds.tensor.fill(0) }
        for r in 0..<n {
            let row = s + r * k, out = d + r * k
            let y = Int(labels[r])
            var active: T = 0
            for j in 0..<k where j != y && row[j] - row[y] + 1 > 0 {
                out[j] += scale
                active += 1
            }
            out[y] -= scale * active
        }
    }
}
