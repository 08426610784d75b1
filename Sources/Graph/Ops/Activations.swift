/// Shape rule of the unary ops: the output is shaped like the input.
func unaryShape(_ op: String, _ x: NodeShape) throws -> NodeShape {
    guard !x.isLabel else { throw ShapeError("\(op) does not take labels") }
    return x
}

/// `relu(x) = max(x, 0)`.
public struct ReLU: Operation {
    public init() {}
    public var name: String { "relu" }
    public var arity: ClosedRange<Int> { 1...1 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try unaryShape(name, inputs[0]) }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer
        // `x < 0 ? 0 : x` lets NaN through (as `x > 0 ? x : 0` would not), so a diverging
        // run shows a NaN loss instead of training on silently.
        for i in 0..<output.count { o[i] = x[i] < 0 ? 0 : x[i] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let y = output.pointer, g = outputDiff.pointer
        // Multiplying by a 0/1 mask keeps the loop branch-free, so it vectorises; choosing
        // between g and 0 compiled to a branch that mispredicts on half the elements.
        diffs[0]?.store { g[$0] * (y[$0] > 0 ? 1 : 0) }
    }
}

/// `sigmoid(x) = 1 / (1 + e^-x)`; its derivative is `y (1 - y)`.
public struct Sigmoid: Operation {
    public init() {}
    public var name: String { "sigmoid" }
    public var arity: ClosedRange<Int> { 1...1 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try unaryShape(name, inputs[0]) }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer
        for i in 0..<output.count { o[i] = 1 / (1 + T.exp(-x[i])) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let y = output.pointer, g = outputDiff.pointer
        diffs[0]?.store { g[$0] * y[$0] * (1 - y[$0]) }
    }
}

/// `tanh(x)`; its derivative is `1 - y²`.
public struct Tanh: Operation {
    public init() {}
    public var name: String { "tanh" }
    public var arity: ClosedRange<Int> { 1...1 }
    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape { try unaryShape(name, inputs[0]) }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer
        for i in 0..<output.count { o[i] = T.tanh(x[i]) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let y = output.pointer, g = outputDiff.pointer
        diffs[0]?.store { g[$0] * (1 - y[$0] * y[$0]) }
    }
}
