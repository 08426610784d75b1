/// Elementwise functions of one input, forward and derivative side by side: each op gives
/// `value(x)` and `derivative(x, y)` (with `y = value(x)`, which some derivatives reuse), and
/// this extension runs them over the buffers.
public protocol ElementwiseFunction: Operation {
    func value<T: TensorScalar>(_ x: T) -> T
    func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T
}

extension ElementwiseFunction {
    public var arity: ClosedRange<Int> { 1...1 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try unaryShape(name, inputs[0]) }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer
        for i in 0..<output.count { o[i] = value(x[i]) }
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let x = inputs[0].pointer, y = output.pointer, g = outputDiff.pointer
        diffs[0]?.store { g[$0] * derivative(x[$0], y[$0]) }
    }
}

/// `log(x)`, the natural logarithm; `1/x`. A value ≤ 0 gives NaN or −∞, which training
/// reports as a non-finite loss naming the step.
public struct Log: ElementwiseFunction {
    public init() {}
    public var name: String { "log" }
    public func value<T: TensorScalar>(_ x: T) -> T { T.log(x) }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { 1 / x }
}

/// `exp(x)`; its derivative is itself.
public struct Exp: ElementwiseFunction {
    public init() {}
    public var name: String { "exp" }
    public func value<T: TensorScalar>(_ x: T) -> T { T.exp(x) }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { y }
}

/// `sin(x)`; `cos(x)`.
public struct Sin: ElementwiseFunction {
    public init() {}
    public var name: String { "sin" }
    public func value<T: TensorScalar>(_ x: T) -> T { T.sin(x) }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { T.cos(x) }
}

/// `cos(x)`; `−sin(x)`.
public struct Cos: ElementwiseFunction {
    public init() {}
    public var name: String { "cos" }
    public func value<T: TensorScalar>(_ x: T) -> T { T.cos(x) }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { -T.sin(x) }
}

/// `square(x) = x²`; `2x`.
public struct Square: ElementwiseFunction {
    public init() {}
    public var name: String { "square" }
    public func value<T: TensorScalar>(_ x: T) -> T { x * x }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { 2 * x }
}

/// `negate(x) = −x`; `−1`.
public struct Negate: ElementwiseFunction {
    public init() {}
    public var name: String { "negate" }
    public func value<T: TensorScalar>(_ x: T) -> T { -x }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { -1 }
}

/// `scale(x) = factor · x`, by a constant from the spec (`factor: 0.5`); `factor`.
public struct Scale: ElementwiseFunction {
    public let factor: Double
    public init(factor: Double = 1) { self.factor = factor }
    public var name: String { "scale" }
    public func value<T: TensorScalar>(_ x: T) -> T { T(factor) * x }
    public func derivative<T: TensorScalar>(_ x: T, _ y: T) -> T { T(factor) }
}

/// Elementwise functions of two inputs of one shape (or one side a broadcast scalar), value
/// and partial derivatives side by side: each op gives `value(a, b)` and `partial(k, a, b)`,
/// ∂value/∂(input k); this extension runs them over the buffers, a broadcast scalar's diff
/// collecting the sum over the elements.
public protocol BinaryElementwiseFunction: Operation {
    func value<T: TensorScalar>(_ a: T, _ b: T) -> T
    func partial<T: TensorScalar>(_ k: Int, _ a: T, _ b: T) -> T
}

extension BinaryElementwiseFunction {
    public var arity: ClosedRange<Int> { 2...2 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try elementwiseShape(name, inputs[0], inputs[1], allowsScalar: true)
    }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let a = inputs[0].pointer, b = inputs[1].pointer, o = output.pointer
        let aStep = inputs[0].count == output.count ? 1 : 0, bStep = inputs[1].count == output.count ? 1 : 0
        for i in 0..<output.count { o[i] = value(a[i * aStep], b[i * bStep]) }
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let g = outputDiff.pointer, n = outputDiff.count
        let a = inputs[0].pointer, b = inputs[1].pointer
        let aStep = inputs[0].count == n ? 1 : 0, bStep = inputs[1].count == n ? 1 : 0
        for k in 0..<2 {
            guard let d = diffs[k] else { continue }
            let term = { (i: Int) in g[i] * partial(k, a[i * aStep], b[i * bStep]) }
            if d.tensor.count == n {
                d.store(term)
            } else {  // a broadcast scalar collects the sum
                var sum: T = 0
                for i in 0..<n { sum += term(i) }
                d.store { _ in sum }
            }
        }
    }
}

/// `subtract(a, b) = a − b`, elementwise; a scalar side is broadcast. Partials 1 and −1.
public struct Subtract: BinaryElementwiseFunction {
    public init() {}
    public var name: String { "subtract" }
    public func value<T: TensorScalar>(_ a: T, _ b: T) -> T { a - b }
    public func partial<T: TensorScalar>(_ k: Int, _ a: T, _ b: T) -> T { k == 0 ? 1 : -1 }
}

/// `divide(a, b) = a / b`, elementwise; a scalar side is broadcast. Partials `1/b` and
/// `−a/b²`. Division by zero gives ±∞ or NaN, which training reports as a non-finite loss.
public struct Divide: BinaryElementwiseFunction {
    public init() {}
    public var name: String { "divide" }
    public func value<T: TensorScalar>(_ a: T, _ b: T) -> T { a / b }
    public func partial<T: TensorScalar>(_ k: Int, _ a: T, _ b: T) -> T { k == 0 ? 1 / b : -a / (b * b) }
}

/// `sum(x)` and `mean(x)`: over every element to a scalar (`over: all`, the default), or
/// over the batch to one sample's shape (`over: batch`: Σ or mean of the samples).
public struct Reduce: Operation {
    public enum Axis: String, Sendable { case all, batch }
    public let mean: Bool
    public let over: Axis

    public init(mean: Bool, over: Axis = .all) {
        self.mean = mean
        self.over = over
    }

    public var name: String { mean ? "mean" : "sum" }
    public var arity: ClosedRange<Int> { 1...1 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        let x = inputs[0]
        guard !x.isLabel else { throw ShapeError("\(name) does not take labels") }
        switch over {
        case .all: return .scalar
        case .batch:
            guard x.batched else { throw ShapeError("\(name) over the batch needs a batched input, got \(x)") }
            return NodeShape(batched: false, dims: x.dims.isEmpty ? [1] : x.dims)
        }
    }

    /// How many values each output element gathers.
    private func gathered<T>(_ input: Tensor<T>, _ output: Tensor<T>) -> Int { output.count > 0 ? input.count / output.count : 0 }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer, m = output.count
        let k = gathered(inputs[0], output)
        // Element j of the output gathers x[j], x[j + m], x[j + 2m], … (all: m = 1).
        for j in 0..<m {
            var total: T = 0
            for r in 0..<k { total += x[r * m + j] }
            o[j] = mean ? (k > 0 ? total / T(k) : 0) : total
        }
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let g = outputDiff.pointer, m = output.count
        let k = gathered(inputs[0], output)
        let factor: T = mean && k > 0 ? 1 / T(k) : 1
        diffs[0]?.store { factor * g[$0 % m] }
    }
}
