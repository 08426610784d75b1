import Foundation
import Graph
import NetworkSpecs
import Testing
import TestSupport

/// The notes' ops and losses, each gradient-checked like the others (Double against central
/// differences below 1e-6, Float against Double below 1e-4), and the example specs.
@Suite struct MathOpTests {
    func bothPrecisions(_ spec: NetworkSpec, batches: [Int] = OpGradientTests.batches, _ context: String) throws {
        for batch in batches {
            expectGradientsMatch(try gradientErrors(spec, batch: batch, as: Double.self), bound: 1e-6, "\(context), batch \(batch), Double")
            expectGradientsMatch(try gradientErrors(spec, batch: batch, as: Float.self), bound: 1e-4, "\(context), batch \(batch), Float")
        }
    }

    @Test(arguments: ["exp", "sin", "cos", "square", "negate"], [[1], [7], [4, 3]])
    func unary(op: String, dims: [Int]) throws {
        try bothPrecisions(try probeSpec(NetworkSpec.operations[op]!, data: [("x", dims)]), "\(op) \(dims)")
    }

    @Test func scaleByAConstant() throws {
        try bothPrecisions(try probeSpec(Scale(factor: -1.7), data: [("x", [5])]), "scale −1.7")
    }

    /// `log` of a positive value: log(exp(x) + 1) checks log's diff where it is defined.
    @Test func logOfAPositiveValue() throws {
        let spec = try NetworkSpec(yaml: """
            inputs: {x: [4], t: [4]}
            params: {one: {shape: [1], init: "constant:1"}}
            nodes:
              - {name: e, op: exp, inputs: [x]}
              - {name: p, op: add, inputs: [e, one]}
              - {name: l, op: log, inputs: [p]}
              - {name: loss, op: least_squares, inputs: [l, t]}
            loss: loss
            """)
        try bothPrecisions(spec, "log(exp(x) + 1)")
    }

    @Test(arguments: [[1], [3], [2, 5]])
    func subtract(dims: [Int]) throws {
        try bothPrecisions(try probeSpec(Subtract(), data: [("a", dims), ("b", dims)]), "subtract \(dims)")
    }

    @Test(arguments: ["subtract", "divide"])
    func withABroadcastScalar(op: String) throws {
        // The scalar is 0.7 (divide's denominator stays away from zero).
        var spec = try probeSpec(NetworkSpec.operations[op]!, data: [("a", [3])], params: [("s", [1])])
        spec.parameters[0] = .init(name: "s", shape: [1], initializer: .constant(0.7))
        try bothPrecisions(spec, batches: [1, 3, 17], "\(op) with a scalar parameter")
    }

    /// a / (1 + b²): the denominator's diff −g·a/b² through a value kept ≥ 1.
    @Test func divide() throws {
        let spec = try NetworkSpec(yaml: """
            inputs: {a: [2, 3], b: [2, 3], t: [2, 3]}
            params: {one: {shape: [1], init: "constant:1"}}
            nodes:
              - {name: b2, op: square, inputs: [b]}
              - {name: d, op: add, inputs: [b2, one]}
              - {name: q, op: divide, inputs: [a, d]}
              - {name: loss, op: least_squares, inputs: [q, t]}
            loss: loss
            """)
        try bothPrecisions(spec, "a / (1 + b²)")
    }

    @Test(arguments: [false, true])
    func sumAndMean(mean: Bool) throws {
        let op = Reduce(mean: mean)
        try bothPrecisions(try probeSpec(op, data: [("x", [2, 3])]), "\(op.name) over all")
        // Over the batch: one sample's shape, weighted by a parameter, then summed.
        let name = mean ? "mean" : "sum"
        let spec = try NetworkSpec(yaml: """
            inputs: {x: [2, 3]}
            params: {w: {shape: [2, 3], init: xavier}}
            nodes:
              - {name: r, op: \(name), inputs: [x], over: batch}
              - {name: q, op: multiply, inputs: [r, w]}
              - {name: loss, op: sum, inputs: [q]}
            loss: loss
            """)
        try bothPrecisions(spec, "\(name) over the batch")
    }

    @Test func reductionValues() throws {
        let spec = try NetworkSpec(yaml: """
            inputs: {x: [3]}
            nodes:
              - {name: s, op: sum, inputs: [x]}
              - {name: m, op: mean, inputs: [x], over: batch}
              - {name: ms, op: sum, inputs: [m]}
              - {name: loss, op: add, inputs: [s, ms]}
            loss: loss
            """)
        let graph = try Graph<Double>(spec: spec)
        try graph.feed(Tensor(shape: [2, 3], scalars: [1, 2, 3, 10, 20, 30]), to: "x")
        #expect(try graph.forward() == 66 + 33)
        #expect(graph.value(of: "m")!.scalars == [5.5, 11, 16.5])
    }

    @Test func binaryLosses() throws {
        for dims in [[1], [] as [Int]] {
            try bothPrecisions(try probeSpec(Logistic(), data: [("z", dims)], labels: ["y"]), "logistic, scores \(dims)")
            try bothPrecisions(try probeSpec(SigmoidCrossEntropy(), data: [("z", dims)], labels: ["y"]), "sigmoid_cross_entropy, scores \(dims)")
        }
    }

    /// Stable for large |z|: the loss is |z| where the label disagrees, 0 where it agrees,
    /// and the diff never NaN.
    @Test func binaryLossesAreStableForLargeScores() throws {
        for (op, agree, disagree) in [("logistic", 1.0, -1.0), ("sigmoid_cross_entropy", 1.0, 0.0)] {
            let spec = try NetworkSpec(yaml: "inputs: {z: [1], y: label}\nnodes:\n  - {name: loss, op: \(op), inputs: [z, y]}\nloss: loss\n")
            let graph = try Graph<Float>(spec: spec, inputGradients: true)
            try graph.feed(Tensor(shape: [2, 1], scalars: [1000, 1000]), to: "z")
            try graph.feed(Tensor(shape: [2], scalars: [Float(agree), Float(disagree)]), to: "y")
            #expect(try graph.forward() == 500, "\(op)")
            graph.backward()
            let diff = graph.diff(of: "z")!.scalars
            #expect(diff.allSatisfy { $0.isFinite }, "\(op)")
        }
    }

    @Test func binaryLossesNameALabelOutsideTheirValues() throws {
        for (op, bad, expected) in [("logistic", 0.0, "is not −1 or +1"), ("sigmoid_cross_entropy", 2.0, "is not 0 or 1")] {
            let spec = try NetworkSpec(yaml: "inputs: {z: [1], y: label}\nnodes:\n  - {name: loss, op: \(op), inputs: [z, y]}\nloss: loss\n")
            let graph = try Graph<Float>(spec: spec)
            try graph.feed(Tensor(shape: [2, 1], scalars: [0, 0]), to: "z")
            try graph.feed(Tensor(shape: [2], scalars: [1, Float(bad)]), to: "y")
            let text = errorText { try graph.forward() }
            #expect(text.contains("label \(Int(bad)) of sample 1 \(expected)"), "\(text)")
        }
    }

    /// The notes' examples as specs under benchmarks/nets/, each gradient-checked.
    @Test(arguments: ["notes-function", "logistic-regression", "two-layer-least-squares", "elementwise-zoo", "tied-autoencoder"])
    func exampleSpecsPassTheGradientCheck(name: String) throws {
        let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: repositoryPath("benchmarks/nets/\(name).yaml")))
        for batch in [1, 5] {
            expectGradientsMatch(try gradientErrors(spec, batch: batch, seed: 3), bound: 1e-6, "\(name), batch \(batch)")
        }
    }

    /// f(x1, x2) = ln(x1) + x1·x2 − sin(x2) at (2, 5): the value and the gradient the notes give.
    @Test func notesFunctionValueAndGradient() throws {
        let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: repositoryPath("benchmarks/nets/notes-function.yaml")))
        let graph = try Graph<Double>(spec: spec)
        let f = try graph.forward()
        #expect(abs(f - (log(2) + 10 - sin(5))) < 1e-12)
        graph.backward()
        #expect(abs(graph.parameter(named: "x1")!.gradient[0] - 5.5) < 1e-12)
        #expect(abs(graph.parameter(named: "x2")!.gradient[0] - (2 - cos(5))) < 1e-12)
    }
}
