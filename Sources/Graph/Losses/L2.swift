/// `l2(w) = scale · ½ Σ w²`, a weight penalty; its diff is `scale · w`.
public struct L2: Operation {
    /// The penalty's coefficient (the weight decay it stands for).
    public let scale: Double

    public init(scale: Double = 1) { self.scale = scale }
    public var name: String { "l2" }
    public var arity: ClosedRange<Int> { 1...1 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        guard !inputs[0].isLabel else { throw ShapeError("l2 does not take labels") }
        return .scalar
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let w = inputs[0].pointer
        var total: T = 0
        for i in 0..<inputs[0].count { total += w[i] * w[i] }
        output.pointer[0] = T(scale) * total / 2
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let w = inputs[0].pointer
        let factor = T(scale) * outputDiff.pointer[0]
        diffs[0]?.store { factor * w[$0] }
    }
}
