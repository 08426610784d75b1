/// `dense(x, W, b) = x · W + b`: x of shape [N, in] (any sample shape, flattened), W of
/// shape [in, out], b of shape [out] (optional). Both products go through BLAS.
public struct Dense: Operation {
    public init() {}
    public var name: String { "dense" }
    public var arity: ClosedRange<Int> { 2...3 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        let x = inputs[0], weight = inputs[1]
        guard x.batched, !x.isLabel else { throw ShapeError("input x must be batched data, got \(x)") }
        guard !weight.batched, weight.dims.count == 2 else {
            throw ShapeError("weight must have rank 2 [in, out], got \(weight)")
        }
        guard weight.dims[0] == x.elementCount else {
            throw ShapeError("weight \(weight) needs \(weight.dims[0]) inputs per sample, x gives \(x.elementCount) (\(x))")
        }
        if inputs.count == 3 {
            let bias = inputs[2]
            guard !bias.batched, bias.dims == [weight.dims[1]] else {
                throw ShapeError("bias must have shape [\(weight.dims[1])], got \(bias)")
            }
        }
        return NodeShape(batched: true, dims: [weight.dims[1]])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0], weight = inputs[1]
        let n = x.rows, inCount = weight.shape[0], outCount = weight.shape[1]
        var beta: T = 0
        if inputs.count == 3 {
            // Start every row from the bias, then add the product onto it.
            let bias = inputs[2].pointer
            for r in 0..<n { (output.pointer + r * outCount).update(from: bias, count: outCount) }
            beta = 1
        }
        guard n > 0 else { return }
        T.gemm(
            transposeA: false, transposeB: false, m: n, n: outCount, k: inCount,
            alpha: 1, a: x.pointer, lda: inCount, b: weight.pointer, ldb: outCount,
            beta: beta, c: output.pointer, ldc: outCount)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let x = inputs[0], weight = inputs[1], g = outputDiff.pointer
        let n = x.rows, inCount = weight.shape[0], outCount = weight.shape[1]
        if let dx = diffs[0] {  // dx = g · Wᵀ
            if n > 0 {
                T.gemm(
                    transposeA: false, transposeB: true, m: n, n: inCount, k: outCount,
                    alpha: 1, a: g, lda: outCount, b: weight.pointer, ldb: outCount,
                    beta: dx.accumulate ? 1 : 0, c: dx.tensor.pointer, ldc: inCount)
            }
        }
        if let dw = diffs[1] {  // dW = xᵀ · g
            if n > 0 {
                T.gemm(
                    transposeA: true, transposeB: false, m: inCount, n: outCount, k: n,
                    alpha: 1, a: x.pointer, lda: inCount, b: g, ldb: outCount,
                    beta: dw.accumulate ? 1 : 0, c: dw.tensor.pointer, ldc: outCount)
            } else if !dw.accumulate {
                dw.tensor.fill(0)
            }
        }
        if diffs.count == 3, let db = diffs[2] {  // db = Σ over the batch of g
            let d = db.tensor.pointer
            if !db.accumulate { db.tensor.fill(0) }
            for r in 0..<n {
                let row = g + r * outCount
                for j in 0..<outCount { d[j] += row[j] }
            }
        }
    }
}
