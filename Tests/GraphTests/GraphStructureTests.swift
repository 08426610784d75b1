import Graph
import NetworkSpecs
import Testing

@Suite struct GraphStructureTests {
    /// Two dense nodes share W: its gradient must be the sum of what each use alone gives.
    @Test func sharedWeightGradientIsTheSumOfBothUses() throws {
        func spec(shared: Bool) -> NetworkSpec {
            NetworkSpec(
                inputs: [.init(name: "x", shape: [4]), .init(name: "t", shape: [4])],
                parameters: [
                    .init(name: "W", shape: [4, 4], initializer: .xavier(.in)),
                    .init(name: "W2", shape: [4, 4], initializer: .xavier(.in)),
                ],
                nodes: [
                    .init(name: "h", operation: Dense(), inputs: ["x", "W"]),
                    .init(name: "a", operation: Tanh(), inputs: ["h"]),
                    .init(name: "h2", operation: Dense(), inputs: ["a", shared ? "W" : "W2"]),
                    .init(name: "loss", operation: LeastSquares(), inputs: ["h2", "t"]),
                ], loss: "loss")
        }
        let shared = try Graph<Double>(spec: spec(shared: true), seed: 3)
        let split = try Graph<Double>(spec: spec(shared: false), seed: 3)
        split.parameter(named: "W2")!.value.copy(from: split.parameter(named: "W")!.value)
        for graph in [shared, split] {
            try graph.feedRandom(batch: 3, seed: 5)
            try graph.forward()
            graph.backward()
        }
        let sum = zip(split.parameter(named: "W")!.gradient.scalars, split.parameter(named: "W2")!.gradient.scalars).map { $0 + $1 }
        let got = shared.parameter(named: "W")!.gradient.scalars
        for (a, b) in zip(got, sum) { #expect(abs(a - b) <= 1e-12 * max(1, abs(b))) }
        #expect(sum.contains { $0 != 0 })
        expectGradientsMatch(try gradientErrors(spec(shared: true), batch: 3), "shared weight")
    }

    /// A loss whose output feeds another node gets that node's diff, not 1.
    @Test func lossInTheMiddleHonoursOutputDiff() throws {
        let spec = try NetworkSpec(yaml: """
            inputs: {x: [3], t: [2]}
            params:
              W: {shape: [3, 2], init: xavier}
              k: {shape: [1], init: "constant:2.5"}
            nodes:
              - {name: p, op: dense, inputs: [x, W]}
              - {name: mse, op: least_squares, inputs: [p, t]}
              - {name: loss, op: multiply, inputs: [mse, k]}
            loss: loss
            """)
        let graph = try Graph<Double>(spec: spec, seed: 1)
        try graph.feedRandom(batch: 4, seed: 2)
        try graph.forward()
        graph.backward()
        let p = graph.value(of: "p")!, t = graph.value(of: "t")!
        let dp = graph.diff(of: "p")!
        for i in 0..<p.count { #expect(abs(dp[i] - 2.5 * (p[i] - t[i]) / 4) < 1e-12) }
        #expect(abs(graph.parameter(named: "k")!.gradient[0] - graph.value(of: "mse")![0]) < 1e-12)
        expectGradientsMatch(try gradientErrors(spec, batch: 4), "loss in the middle")
    }

    @Test func biasGradientSumsOverTheBatch() throws {
        let spec = try probeSpec(Dense(), data: [("x", [2])], params: [("W", [2, 3]), ("b", [3])])
        let graph = try Graph<Double>(spec: spec, seed: 4)
        try graph.feedRandom(batch: 5, seed: 4)
        try graph.forward()
        graph.backward()
        let out = graph.value(of: "probe")!, target = graph.value(of: "target")!
        let db = graph.parameter(named: "b")!.gradient
        for j in 0..<3 {
            let expected = (0..<5).reduce(0.0) { $0 + (out[$1 * 3 + j] - target[$1 * 3 + j]) / 5 }
            #expect(abs(db[j] - expected) < 1e-12)
        }
    }

    @Test func exampleNetworksPassTheGradientCheck() throws {
        let yaml = """
            inputs: {x: [6], y: label}
            params:
              W1: {shape: [6, 5], init: msra, fan: average}
              b1: {shape: [5], init: zero}
              W2: {shape: [5, 3], init: xavier, fan: out}
            nodes:
              - {name: out, op: dense, inputs: [a1, W2]}
              - {name: h1, op: dense, inputs: [x, W1, b1]}
              - {name: a1, op: sigmoid, inputs: [h1]}
              - {name: ce, op: softmax_cross_entropy, inputs: [out, y]}
              - {name: reg, op: l2, inputs: [W1], scale: 0.01}
              - {name: loss, op: add, inputs: [ce, reg]}
            loss: loss
            """
        expectGradientsMatch(try gradientErrors(try NetworkSpec(yaml: yaml), batch: 3), "nodes out of order")
        let mlp = NetworkSpec.mlp(inputShape: [2, 2, 2], hidden: [5, 4], classes: 3)
        expectGradientsMatch(try gradientErrors(mlp, batch: 2), "mlp")
    }

    @Test func mlpShorthandNamesParametersAsDesignSays() throws {
        let spec = try NetworkSpec(yaml: "mlp: {input: 784, hidden: [256, 128], classes: 10}")
        let graph = try Graph<Float>(spec: spec, seed: 0)
        #expect(graph.parameters.map(\.name) == ["fc1.W", "fc1.b", "fc2.W", "fc2.b", "fc3.W", "fc3.b"])
        #expect(graph.parameters.map(\.value.shape) == [[784, 256], [256], [256, 128], [128], [128, 10], [10]])
        #expect(graph.scoresNode == "out")
        #expect(graph.classes(ofLabel: "y") == 10)
    }

    /// Rows are samples: dense matches a plain loop, in Float and in Double.
    @Test func denseMatchesAPlainLoop() throws {
        try checkDense(Float.self, tolerance: 1e-5)
        try checkDense(Double.self, tolerance: 1e-12)
    }

    private func checkDense<T: TensorScalar>(_: T.Type, tolerance: T) throws {
        for (n, i, o) in [(1, 1, 1), (3, 5, 2), (17, 3, 5)] {
            var g = SeededGenerator(seed: UInt64(n * 100 + i * 10 + o))
            let x = Tensor<T>(shape: [n, i], scalars: (0..<n * i).map { _ in T(g.nextUnit() - 0.5) })
            let w = Tensor<T>(shape: [i, o], scalars: (0..<i * o).map { _ in T(g.nextUnit() - 0.5) })
            let b = Tensor<T>(shape: [o], scalars: (0..<o).map { _ in T(g.nextUnit() - 0.5) })
            let y = try Dense().forward([x, w, b], shapes: [
                NodeShape(batched: true, dims: [i]), NodeShape(batched: false, dims: [i, o]), NodeShape(batched: false, dims: [o]),
            ])
            #expect(y.shape == [n, o])
            for r in 0..<n {
                for c in 0..<o {
                    var s = b[c]
                    for k in 0..<i { s += x[r * i + k] * w[k * o + c] }
                    #expect(abs(y[r * o + c] - s) <= tolerance)
                }
            }
        }
    }
}
