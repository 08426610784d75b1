import Foundation
import Graph
import NetworkSpecs
import Testing
import TestSupport

@Suite struct TrainingTests {
    /// XOR with a 2-8-2 MLP, full batch: SGD with momentum reaches 100 % accuracy.
    @Test func xorIsLearned() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [2], hidden: [8], classes: 2, activation: Tanh()), seed: 42)
        let x = Tensor<Float>(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = Tensor<Float>(shape: [4], scalars: [0, 1, 1, 0])
        try graph.feed(x, to: "x")
        try graph.feed(y, to: "y")
        let sgd = SGD<Float>(learningRate: 0.5, momentum: 0.9)
        let first = try graph.forward()
        for _ in 0..<300 {
            try graph.forward()
            graph.backward()
            sgd.step(graph)
        }
        let last = try graph.forward()
        #expect(last < first / 10)
        let scores = graph.value(of: "out")!
        let predictions = (0..<4).map { scores[$0 * 2 + 1] > scores[$0 * 2] ? Float(1) : 0 }
        #expect(predictions == y.scalars)
    }

    /// Same seed, same weights, bit for bit, through initialisation and training.
    @Test func sameSeedSameWeights() throws {
        func train(seed: UInt64) throws -> [[Float]] {
            let graph = try Graph<Float>(spec: .mlp(inputShape: [5], hidden: [7], classes: 3), seed: seed)
            try graph.feedRandom(batch: 6, seed: 9)
            let sgd = SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
            for _ in 0..<5 {
                try graph.forward()
                graph.backward()
                sgd.step(graph)
            }
            return graph.parameters.map(\.value.scalars)
        }
        #expect(try train(seed: 11) == train(seed: 11))
        #expect(try train(seed: 11) != train(seed: 12))
    }

    /// v = m·v + g + decay·w; w -= lr·v, checked by hand over two steps.
    @Test func sgdMomentumAndWeightDecayFollowTheFormula() throws {
        let spec = NetworkSpec(
            inputs: [],
            parameters: [.init(name: "w", shape: [2], initializer: .constant(1))],
            nodes: [.init(name: "loss", operation: L2(), inputs: ["w"])], loss: "loss")
        let graph = try Graph<Double>(spec: spec)
        let sgd = SGD<Double>(learningRate: 0.1, momentum: 0.5, weightDecay: 0.2)
        var w = 1.0, v = 0.0
        for _ in 0..<2 {
            try graph.forward()
            graph.backward()
            #expect(graph.parameters[0].gradient.scalars == [w, w])  // d(½w²)/dw = w
            sgd.step(graph)
            v = 0.5 * v + w + 0.2 * w
            w -= 0.1 * v
            #expect(graph.parameters[0].value.scalars.allSatisfy { abs($0 - w) < 1e-15 })
            #expect(sgd.velocity(of: "w")!.scalars.allSatisfy { abs($0 - v) < 1e-15 })
        }
    }

    /// After the first step, steps allocate no tensor buffers, and a smaller last batch
    /// reuses the buffers too.
    @Test func stepsAfterTheFirstAllocateNothing() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [12], hidden: [9], classes: 4), seed: 1)
        try graph.feedRandom(batch: 8, seed: 1)
        let sgd = SGD<Float>(learningRate: 0.01, momentum: 0.9)
        let timing = try StepTimer.measure(graph: graph, optimizer: sgd, iterations: 5)
        #expect(timing.allocations == 0)
        #expect(timing.stepsMs.count == 5)
        let x = Tensor<Float>(zeros: [3, 12]), y = Tensor<Float>(zeros: [3])
        let (_, allocations) = try TensorAllocations.counting {
            try graph.feed(x, to: "x")
            try graph.feed(y, to: "y")
            try graph.forward()
            graph.backward()
            sgd.step(graph)
        }
        #expect(allocations == 0)
        #expect(graph.value(of: "out")!.shape == [3, 4])
        let (_, growing) = TensorAllocations.counting { graph.value(of: "out")!.reshape(to: [20, 4]) }
        #expect(growing == 1)  // the counter does see a buffer that has to grow
    }
}

@Suite struct InitializerTests {
    func sample(_ initializer: Initializer, shape: [Int], seed: UInt64 = 1) -> [Double] {
        let t = Tensor<Double>(zeros: shape)
        var g = SeededGenerator(seed: seed)
        initializer.fill(t, using: &g)
        return t.scalars
    }

    @Test(arguments: [Fan.in, .out, .average])
    func xavierIsUniformOnTheCaffeBound(fan: Fan) {
        let shape = [300, 100]
        let n: Double = fan == .in ? 300 : fan == .out ? 100 : 200
        let values = sample(.xavier(fan), shape: shape)
        let bound = (3 / n).squareRoot()
        #expect(values.allSatisfy { abs($0) <= bound })
        #expect(values.max()! > 0.99 * bound && values.min()! < -0.99 * bound)
        let variance = values.map { $0 * $0 }.reduce(0, +) / Double(values.count)
        #expect(abs(variance - 1 / n) < 0.03 / n)  // uniform on ±a has variance a²/3 = 1/n
    }

    @Test(arguments: [Fan.in, .out, .average])
    func msraIsNormalWithCaffeSigma(fan: Fan) {
        let n: Double = fan == .in ? 300 : fan == .out ? 100 : 200
        let values = sample(.msra(fan), shape: [300, 100])
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        #expect(abs(mean) < 0.01 * (2 / n).squareRoot())
        #expect(abs(variance - 2 / n) < 0.03 * 2 / n)
    }

    @Test func zeroAndConstant() {
        #expect(sample(.zero, shape: [3]) == [0, 0, 0])
        #expect(sample(.constant(-0.25), shape: [2, 2]) == [-0.25, -0.25, -0.25, -0.25])
    }

    @Test func parameterStreamsAreIndependentOfOtherParameters() throws {
        let a = try Graph<Float>(spec: .mlp(inputShape: [4], hidden: [3], classes: 2), seed: 5)
        let b = try Graph<Float>(spec: .mlp(inputShape: [4], hidden: [3, 6], classes: 2), seed: 5)
        #expect(a.parameter(named: "fc1.W")!.value.scalars == b.parameter(named: "fc1.W")!.value.scalars)
    }
}

/// What data-parallel ranks rely on: a seeded backward, gradients reported as soon as
/// they are final, and an update that scales the summed gradients.
@Suite struct RankStepTests {
    func tiedAutoencoder() throws -> Graph<Float> {
        let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: repositoryPath("benchmarks/nets/tied-autoencoder.yaml")))
        let graph = try Graph<Float>(spec: spec, seed: 5)
        try graph.feedRandom(batch: 6, seed: 2)
        try graph.forward()
        return graph
    }

    /// W is written by three nodes (two dense uses and the l2 penalty): it is reported once,
    /// after the last of them, with the gradient it ends with; the seed scales every gradient.
    @Test func gradientsAreReportedOnceWhenFinalAndScaleWithTheSeed() throws {
        let graph = try tiedAutoencoder()
        graph.backward()
        let plain = graph.parameters.map(\.gradient.scalars)
        var reported: [Int] = []
        var atReport: [Int: [Float]] = [:]
        graph.backward(seed: 3) { p in
            reported.append(p)
            atReport[p] = graph.parameters[p].gradient.scalars
        }
        #expect(reported.sorted() == Array(graph.parameters.indices))
        #expect(reported == graph.gradientReadyOrder)
        // W and b feed the first dense node, the last one backward runs.
        #expect(Set(reported.suffix(2).map { graph.parameters[$0].name }) == ["W", "b"])
        for (p, parameter) in graph.parameters.enumerated() {
            #expect(atReport[p] == parameter.gradient.scalars, "\(parameter.name) was written after it was reported")
            for (scaled, one) in zip(parameter.gradient.scalars, plain[p]) {
                #expect(abs(scaled - 3 * one) <= 1e-5 * max(1, abs(3 * one)), "\(parameter.name)")
            }
        }
    }

    /// `step(gradientScale: s)` is the step on gradients multiplied by s, decay and momentum included.
    @Test func scaledStepEqualsStepOnScaledGradients() throws {
        let a = try tiedAutoencoder(), b = try tiedAutoencoder()
        let sgdA = SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        let sgdB = SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        for _ in 0..<3 {
            a.backward(seed: 4)
            b.backward()
            sgdA.step(a, gradientScale: 0.25)
            sgdB.step(b)
            try a.forward()
            try b.forward()
        }
        for (p, q) in zip(a.parameters, b.parameters) {
            for (x, y) in zip(p.value.scalars, q.value.scalars) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y)), "\(p.name)") }
        }
    }
}
