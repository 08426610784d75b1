/// The result of checking one parameter's or input's gradient.
public struct GradientCheckResult: Sendable {
    /// The parameter or input name.
    public let name: String
    public let shape: [Int]
    /// How many elements were compared, of `shape`'s count.
    public let checked: Int
    /// The largest `|analytic - numeric| / max(|analytic|, |numeric|, 1e-12)`.
    public let maxRelativeError: Double
    /// The flat index where the largest error occurred.
    public let worstIndex: Int
    /// The analytic and numeric gradient at `worstIndex`.
    public let worstAnalytic: Double
    public let worstNumeric: Double

    public init(name: String, shape: [Int], checked: Int, maxRelativeError: Double,
                worstIndex: Int, worstAnalytic: Double, worstNumeric: Double) {
        self.name = name
        self.shape = shape
        self.checked = checked
        self.maxRelativeError = maxRelativeError
        self.worstIndex = worstIndex
        self.worstAnalytic = worstAnalytic
        self.worstNumeric = worstNumeric
    }
}

/// Compares backward's gradients with central differences, in Double.
///
/// For every parameter (and every data input, when the graph was built with
/// `inputGradients: true`) it perturbs elements by ±`step`, reruns forward, and compares
/// `(L(w+h) - L(w-h)) / 2h` with the analytic gradient. Tensors with more than
/// `maxElements` elements are checked on a seeded sample of that many elements.
///
/// The relative error of an element is `|a - n| / max(|a|, |n|, 1e-12, floor)`, where `floor`
/// is `relativeFloor` times the largest |a| of the tensor: an element whose gradient is tiny
/// next to the tensor's others is held to that scale rather than to its own, because central
/// differences cannot resolve it any better (rounding in L(w ± h) is about 1e-16 / h).
public struct GradientCheck {
    public var step: Double = 1e-5
    public var maxElements: Int = 256
    public var seed: UInt64 = 0
    /// See the type's description; 0 compares every element with its own magnitude.
    public var relativeFloor: Double = 0

    public init(step: Double = 1e-5, maxElements: Int = 256, seed: UInt64 = 0, relativeFloor: Double = 0) {
        self.step = step
        self.maxElements = maxElements
        self.seed = seed
        self.relativeFloor = relativeFloor
    }

    /// Runs the check on a fed graph. Returns one result per parameter and per
    /// differentiable input, in graph order.
    public func run(_ graph: Graph<Double>) throws -> [GradientCheckResult] {
        let loss = try graph.forward()
        graph.backward()
        let lossIsFinite = loss.isFinite
        var results: [GradientCheckResult] = []
        var generator = SeededGenerator(seed: seed, stream: "gradient-check")
        for node in graph.nodes where node.needsDiff && node.kind != .function {
            let value = graph.value(of: node.name)!
            let analytic = graph.diff(of: node.name)!.copy()
            var indices = Array(0..<value.count)
            if value.count > maxElements {
                indices.shuffle(using: &generator)
                indices = Array(indices.prefix(maxElements)).sorted()
            }
            var largest = 0.0
            for i in indices { largest = max(largest, abs(analytic[i])) }
            let floor = max(1e-12, relativeFloor * largest)
            var worst = -1.0, worstIndex = 0
            var worstPair = (analytic: 0.0, numeric: 0.0)
            for i in indices {
                let original = value[i]
                value[i] = original + step
                let plus = try graph.forward()
                value[i] = original - step
                let minus = try graph.forward()
                value[i] = original
                let numeric = (plus - minus) / (2 * step)
                let a = analytic[i]
                // A NaN or infinity anywhere (loss, analytic or numeric gradient) is an
                // infinite error: it must fail, not vanish in a comparison.
                let error = a.isFinite && numeric.isFinite ? abs(a - numeric) / max(abs(a), abs(numeric), floor) : .infinity
                if error > worst || (error == .infinity && worst != .infinity) {
                    worst = error
                    worstIndex = i
                    worstPair = (a, numeric)
                }
            }
            results.append(GradientCheckResult(
                name: node.name, shape: value.shape, checked: indices.count,
                maxRelativeError: lossIsFinite ? max(worst, 0) : .infinity, worstIndex: worstIndex,
                worstAnalytic: worstPair.analytic, worstNumeric: worstPair.numeric))
        }
        try graph.forward()  // leave the values as they were
        return results
    }
}
