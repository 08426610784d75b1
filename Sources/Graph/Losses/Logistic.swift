/// Shape rule of the binary losses: one score per sample ([N] or [N, 1]) and labels [N].
func binaryLossShape(_ op: String, _ inputs: [NodeShape]) throws -> NodeShape {
    let scores = inputs[0], labels = inputs[1]
    guard scores.batched, scores.elementCount == 1, !scores.isLabel else {
        throw ShapeError("scores must have one value per sample ([N] or [N, 1]), got \(scores)")
    }
    guard labels.isLabel else { throw ShapeError("second input must be labels (declare it as `label`), got \(labels)") }
    return .scalar
}

/// A label that is not one of a binary loss's two values.
public struct BinaryLabelError: Error, CustomStringConvertible {
    public let sample: Int
    public let label: Double
    public let expected: String
    public var description: String { "label \(label.formatted()) of sample \(sample) is not \(expected)" }
}

/// `softplus(x) = log(1 + e^x)` without overflow for large |x|: max(x, 0) + log1p(e^−|x|).
@inline(__always)
func softplus<T: TensorScalar>(_ x: T) -> T { Swift.max(x, 0) + T.log1p(T.exp(-Swift.abs(x))) }

/// `σ(x) = 1 / (1 + e^−x)`, written so neither branch overflows.
@inline(__always)
func logistic<T: TensorScalar>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

/// `logistic(z, y)` for labels y ∈ {−1, +1}: mean over samples of −log σ(y·z) =
/// softplus(−y·z), stable for large |z|. Its diff is `−y · σ(−y·z) / N`.
public struct Logistic: Operation {
    public init() {}
    public var name: String { "logistic" }
    public var arity: ClosedRange<Int> { 2...2 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try binaryLossShape(name, inputs) }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let z = inputs[0].pointer, y = inputs[1].pointer, n = inputs[0].rows
        var total: T = 0
        for r in 0..<n {
            guard y[r] == 1 || y[r] == -1 else { throw BinaryLabelError(sample: r, label: Double(y[r]), expected: "−1 or +1") }
            total += softplus(-y[r] * z[r])
        }
        output.pointer[0] = n > 0 ? total / T(n) : 0
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let z = inputs[0].pointer, y = inputs[1].pointer
        let scale = outputDiff.pointer[0] / T(Swift.max(inputs[0].rows, 1))
        diffs[0]?.store { -scale * y[$0] * logistic(-y[$0] * z[$0]) }
    }
}

/// `sigmoid_cross_entropy(z, t)` for labels t ∈ {0, 1}: mean over samples of
/// −t·log σ(z) − (1−t)·log(1−σ(z)) = softplus(z) − t·z, stable for large |z|. Its diff is
/// `(σ(z) − t) / N`.
public struct SigmoidCrossEntropy: Operation {
    public init() {}
    public var name: String { "sigmoid_cross_entropy" }
    public var arity: ClosedRange<Int> { 2...2 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try binaryLossShape(name, inputs) }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let z = inputs[0].pointer, t = inputs[1].pointer, n = inputs[0].rows
        var total: T = 0
        for r in 0..<n {
            guard t[r] == 0 || t[r] == 1 else { throw BinaryLabelError(sample: r, label: Double(t[r]), expected: "0 or 1") }
            total += softplus(z[r]) - t[r] * z[r]
        }
        output.pointer[0] = n > 0 ? total / T(n) : 0
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let z = inputs[0].pointer, t = inputs[1].pointer
        let scale = outputDiff.pointer[0] / T(Swift.max(inputs[0].rows, 1))
        diffs[0]?.store { scale * (logistic(z[$0]) - t[$0]) }
    }
}
