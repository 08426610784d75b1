import Graph
import Testing

/// Every op and loss, gradient-checked in Double (against central differences, below 1e-6)
/// and in Float (against Double, below 1e-4), over batch sizes from empty to 17 and odd,
/// wide and tall shapes.
@Suite struct OpGradientTests {
    /// Batch sizes swept; 0 is the empty batch every op must accept.
    static let batches = [0, 1, 2, 3, 5, 17]
    static let denseShapes: [(Int, Int)] = [(1, 1), (3, 5), (17, 2), (2, 17)]

    func check<T: TensorScalar>(_ spec: NetworkSpec, _ type: T.Type, batches: [Int] = OpGradientTests.batches, _ context: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        for batch in batches {
            let errors = try gradientErrors(spec, batch: batch, as: T.self)
            expectGradientsMatch(errors, bound: gradientBound(T.self), "\(context), batch \(batch), \(T.typeName)", sourceLocation: sourceLocation)
        }
    }

    func bothPrecisions(_ spec: NetworkSpec, batches: [Int] = OpGradientTests.batches, _ context: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        try check(spec, Double.self, batches: batches, context, sourceLocation: sourceLocation)
        try check(spec, Float.self, batches: batches, context, sourceLocation: sourceLocation)
    }

    @Test(arguments: denseShapes.indices)
    func dense(shapeIndex: Int) throws {
        let (inCount, outCount) = Self.denseShapes[shapeIndex]
        let spec = try probeSpec(Dense(), data: [("x", [inCount])], params: [("W", [inCount, outCount]), ("b", [outCount])])
        #expect(Set(try gradientErrors(spec, batch: 2).keys) == ["x", "W", "b", "target"])
        try bothPrecisions(spec, "dense \(inCount)→\(outCount)")
    }

    @Test func denseWithoutBiasAndImageShapedInput() throws {
        let spec = try probeSpec(Dense(), data: [("x", [2, 3, 3])], params: [("W", [18, 4])])
        try bothPrecisions(spec, "dense [2,3,3]→4")
    }

    @Test(arguments: ["add", "multiply", "max"], [[1], [3], [2, 5]])
    func binary(op: String, dims: [Int]) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("a", dims), ("b", dims)])
        try bothPrecisions(spec, "\(op) \(dims)")
    }

    @Test(arguments: ["add", "multiply"])
    func binaryWithBroadcastScalar(op: String) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("a", [3])], params: [("s", [1])])
        try bothPrecisions(spec, batches: [1, 3, 17], "\(op) with a scalar parameter")
    }

    @Test(arguments: ["relu", "sigmoid", "tanh"], [[1], [7], [4, 3]])
    func unary(op: String, dims: [Int]) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("x", dims)])
        try bothPrecisions(spec, "\(op) \(dims)")
    }

    @Test(arguments: [[1], [3, 4], [17]])
    func l2(shape: [Int]) throws {
        let spec = try probeSpec(L2(scale: 0.3), data: [], params: [("w", shape)])
        try bothPrecisions(spec, batches: [1], "l2 \(shape)")
    }

    @Test(arguments: [1, 2, 3, 10])
    func classificationLosses(classes: Int) throws {
        for op in [SoftmaxCrossEntropy(), Hinge()] as [any Operation] {
            let spec = try probeSpec(op, data: [("z", [classes])], labels: ["y"])
            try bothPrecisions(spec, "\(op.name) \(classes) classes")
        }
    }

    @Test func leastSquares() throws {
        let spec = try probeSpec(LeastSquares(), data: [("p", [3]), ("t", [3])])
        try bothPrecisions(spec, "least_squares")
    }
}
