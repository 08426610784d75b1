/// Shape rule shared by the binary elementwise ops: equal shapes, or one side a scalar that
/// is broadcast over the other (when `allowsScalar`).
func elementwiseShape(_ op: String, _ a: NodeShape, _ b: NodeShape, allowsScalar: Bool) throws -> NodeShape {
    guard !a.isLabel, !b.isLabel else { throw ShapeError("\(op) does not take labels") }
    if a == b { return a }
    if allowsScalar && b.isScalar { return a }
    if allowsScalar && a.isScalar { return b }
    throw ShapeError("inputs must have the same shape\(allowsScalar ? " (or one be a scalar)" : ""), got \(a) and \(b)")
}

/// `add(a, b) = a + b`, elementwise; a scalar side is broadcast.
public struct Add: Operation {
    public init() {}
    public var name: String { "add" }
    public var arity: ClosedRange<Int> { 2...2 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try elementwiseShape(name, inputs[0], inputs[1], allowsScalar: true)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let a = inputs[0].pointer, b = inputs[1].pointer, o = output.pointer
        let aStep = inputs[0].count == output.count ? 1 : 0, bStep = inputs[1].count == output.count ? 1 : 0
        for i in 0..<output.count { o[i] = a[i * aStep] + b[i * bStep] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let g = outputDiff.pointer
        for k in 0..<2 {
            guard let d = diffs[k] else { continue }
            if d.tensor.count == outputDiff.count {
                d.store { g[$0] }
            } else {  // a broadcast scalar collects the sum
                var sum: T = 0
                for i in 0..<outputDiff.count { sum += g[i] }
                d.store { _ in sum }
            }
        }
    }
}

/// `multiply(a, b) = a ⊙ b`, elementwise; a scalar side is broadcast.
public struct Multiply: Operation {
    public init() {}
    public var name: String { "multiply" }
    public var arity: ClosedRange<Int> { 2...2 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try elementwiseShape(name, inputs[0], inputs[1], allowsScalar: true)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let a = inputs[0].pointer, b = inputs[1].pointer, o = output.pointer
        let aStep = inputs[0].count == output.count ? 1 : 0, bStep = inputs[1].count == output.count ? 1 : 0
        for i in 0..<output.count { o[i] = a[i * aStep] * b[i * bStep] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let g = outputDiff.pointer, n = outputDiff.count
        for k in 0..<2 {
            guard let d = diffs[k] else { continue }
            let other = inputs[1 - k]
            let o = other.pointer, oStep = other.count == n ? 1 : 0
            if d.tensor.count == n {
                d.store { g[$0] * o[$0 * oStep] }
            } else {
                var sum: T = 0
                for i in 0..<n { sum += g[i] * o[i * oStep] }
                d.store { _ in sum }
            }
        }
    }
}

/// `max(a, b)`, elementwise; the diff goes to the input that was selected (`a` on a tie).
public struct Maximum: Operation {
    public init() {}
    public var name: String { "max" }
    public var arity: ClosedRange<Int> { 2...2 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        try elementwiseShape(name, inputs[0], inputs[1], allowsScalar: false)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let a = inputs[0].pointer, b = inputs[1].pointer, o = output.pointer
        for i in 0..<output.count { o[i] = a[i] >= b[i] ? a[i] : b[i] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let a = inputs[0].pointer, b = inputs[1].pointer, g = outputDiff.pointer
        diffs[0]?.store { a[$0] >= b[$0] ? g[$0] : 0 }
        diffs[1]?.store { a[$0] >= b[$0] ? 0 : g[$0] }
    }
}
