import Graph
import Testing

/// Every op and loss, gradient-checked in Double at batch 1, odd sizes, and wide and tall
/// shapes, to a relative error below 1e-6.
@Suite struct OpGradientTests {
    static let batches = [1, 2, 5]
    static let denseShapes: [(Int, Int)] = [(1, 1), (3, 5), (17, 2), (2, 17)]

    @Test(arguments: batches, denseShapes.indices)
    func dense(batch: Int, shapeIndex: Int) throws {
        let (inCount, outCount) = Self.denseShapes[shapeIndex]
        let spec = try probeSpec(Dense(), data: [("x", [inCount])], params: [("W", [inCount, outCount]), ("b", [outCount])])
        let errors = try gradientErrors(spec, batch: batch)
        #expect(Set(errors.keys) == ["x", "W", "b", "target"])
        expectGradientsMatch(errors, "dense \(inCount)→\(outCount), batch \(batch)")
    }

    @Test(arguments: batches)
    func denseWithoutBiasAndImageShapedInput(batch: Int) throws {
        let spec = try probeSpec(Dense(), data: [("x", [2, 3, 3])], params: [("W", [18, 4])])
        expectGradientsMatch(try gradientErrors(spec, batch: batch), "dense [2,3,3]→4, batch \(batch)")
    }

    @Test(arguments: ["add", "multiply", "max"], [[1], [3], [2, 5]])
    func binary(op: String, dims: [Int]) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("a", dims), ("b", dims)])
        for batch in Self.batches {
            expectGradientsMatch(try gradientErrors(spec, batch: batch), "\(op) \(dims), batch \(batch)")
        }
    }

    @Test(arguments: ["add", "multiply"])
    func binaryWithBroadcastScalar(op: String) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("a", [3])], params: [("s", [1])])
        expectGradientsMatch(try gradientErrors(spec, batch: 3), "\(op) with a scalar parameter")
    }

    @Test(arguments: ["relu", "sigmoid", "tanh"], [[1], [7], [4, 3]])
    func unary(op: String, dims: [Int]) throws {
        let spec = try probeSpec(NetworkSpec.operations[op]!, data: [("x", dims)])
        for batch in Self.batches {
            expectGradientsMatch(try gradientErrors(spec, batch: batch), "\(op) \(dims), batch \(batch)")
        }
    }

    @Test(arguments: [[1], [3, 4], [17]])
    func l2(shape: [Int]) throws {
        let spec = try probeSpec(L2(scale: 0.3), data: [], params: [("w", shape)])
        expectGradientsMatch(try gradientErrors(spec, batch: 1), "l2 \(shape)")
    }

    @Test(arguments: [1, 2, 3, 10], batches)
    func classificationLosses(classes: Int, batch: Int) throws {
        for op in [SoftmaxCrossEntropy(), Hinge()] as [any Operation] {
            let spec = try probeSpec(op, data: [("z", [classes])], labels: ["y"])
            expectGradientsMatch(try gradientErrors(spec, batch: batch), "\(op.name) \(classes) classes, batch \(batch)")
        }
    }

    @Test(arguments: batches)
    func leastSquares(batch: Int) throws {
        let spec = try probeSpec(LeastSquares(), data: [("p", [3]), ("t", [3])])
        expectGradientsMatch(try gradientErrors(spec, batch: batch), "least_squares, batch \(batch)")
    }
}
