/// Which fan an initialiser scales by, as in Caffe's `variance_norm`.
public enum Fan: String, Sendable, CaseIterable {
    case `in`, out, average
}

/// How a parameter's initial values are drawn. Follows Caffe's fillers.
public enum Initializer: Sendable, Equatable {
    /// Uniform on ±√(3/n).
    case xavier(Fan)
    /// Normal with σ = √(2/n).
    case msra(Fan)
    /// All zeros.
    case zero
    /// Every element the same value.
    case constant(Double)

    /// The fan size `n` for a parameter shape. For `W` of shape [in, out], fan-in is `in` and
    /// fan-out is `out`; for a vector of length k both are k.
    public static func fanSize(_ fan: Fan, shape: [Int]) -> Double {
        let count = shape.reduce(1, *)
        let fanIn = Double(shape.first ?? 1)
        let fanOut = shape.count > 1 ? Double(count / max(shape[0], 1)) : fanIn
        switch fan {
        case .in: return fanIn
        case .out: return fanOut
        case .average: return (fanIn + fanOut) / 2
        }
    }

    /// Fills `tensor` with values drawn from `generator`.
    public func fill<T: TensorScalar>(_ tensor: Tensor<T>, using generator: inout SeededGenerator) {
        let p = tensor.pointer
        switch self {
        case .zero:
            tensor.fill(0)
        case .constant(let v):
            tensor.fill(T(v))
        case .xavier(let fan):
            let limit = (3 / Initializer.fanSize(fan, shape: tensor.shape)).squareRoot()
            for i in 0..<tensor.count { p[i] = T((generator.nextUnit() * 2 - 1) * limit) }
        case .msra(let fan):
            let sigma = (2 / Initializer.fanSize(fan, shape: tensor.shape)).squareRoot()
            for i in 0..<tensor.count { p[i] = T(generator.nextNormal() * sigma) }
        }
    }
}

extension Initializer: CustomStringConvertible {
    public var description: String {
        switch self {
        case .xavier(let f): return f == .in ? "xavier" : "xavier(fan: \(f.rawValue))"
        case .msra(let f): return f == .in ? "msra" : "msra(fan: \(f.rawValue))"
        case .zero: return "zero"
        case .constant(let v): return "constant:\(v)"
        }
    }
}
