/// `least_squares(p, t) = Σ (p - t)² / (2N)`, Caffe's Euclidean loss: half the squared
/// error, summed over a sample and averaged over the batch.
public struct LeastSquares: Operation {
    public init() {}
    public var name: String { "least_squares" }
    public var arity: ClosedRange<Int> { 2...2 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        let p = inputs[0], t = inputs[1]
        guard p.batched, !p.isLabel else { throw ShapeError("prediction must be batched values, got \(p)") }
        guard t.batched, t.elementCount == p.elementCount, t.dims == p.dims || t.isLabel else {
            throw ShapeError("target must be shaped like the prediction \(p), got \(t)")
        }
        return .scalar
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let p = inputs[0].pointer, t = inputs[1].pointer, n = inputs[0].rows
        var total: T = 0
        for i in 0..<inputs[0].count {
            let e = p[i] - t[i]
            total += e * e
        }
        output.pointer[0] = n > 0 ? total / T(2 * n) : 0
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let p = inputs[0].pointer, t = inputs[1].pointer
        let scale = outputDiff.pointer[0] / T(Swift.max(inputs[0].rows, 1))
        diffs[0]?.store { scale * (p[$0] - t[$0]) }
        diffs[1]?.store { scale * (t[$0] - p[$0]) }
    }
}
