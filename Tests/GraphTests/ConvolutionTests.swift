import Foundation
import Graph
import NetworkSpecs
import Testing
import TestSupport

/// conv2d, the pools and flatten: gradient-checked like every op, their values against a
/// direct computation, and their shape errors.
@Suite struct ConvolutionTests {
    func bothPrecisions(_ spec: NetworkSpec, batches: [Int] = [0, 1, 3], _ context: String) throws {
        for batch in batches {
            expectGradientsMatch(try gradientErrors(spec, batch: batch, as: Double.self), bound: 1e-6, "\(context), batch \(batch), Double")
            expectGradientsMatch(try gradientErrors(spec, batch: batch, as: Float.self), bound: 1e-4, "\(context), batch \(batch), Float")
        }
    }

    /// (channels, height, width, out, kernel h, kernel w, stride, padding, bias)
    static let convolutions: [(Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
        (1, 5, 5, 2, 3, 3, 1, 0, true), (2, 6, 5, 3, 3, 2, 2, 1, true), (3, 4, 4, 1, 1, 1, 1, 0, false), (2, 3, 3, 2, 5, 5, 1, 1, true),
    ]

    @Test(arguments: convolutions.indices)
    func conv2d(index: Int) throws {
        let (c, h, w, o, kh, kw, stride, padding, bias) = Self.convolutions[index]
        let spec = try probeSpec(Conv2D(stride: stride, padding: padding), data: [("x", [c, h, w])],
                                 params: [("K", [o, c, kh, kw])] + (bias ? [("b", [o])] : []))
        try bothPrecisions(spec, "conv2d \(c)×\(h)×\(w) → \(o), kernel \(kh)×\(kw), stride \(stride), padding \(padding)")
    }

    @Test(arguments: [false, true], [(2, 2), (3, 1), (2, 3)])
    func pools(average: Bool, window: (Int, Int)) throws {
        let spec = try probeSpec(Pool(kernel: window.0, stride: window.1, average: average), data: [("x", [2, 7, 6])])
        try bothPrecisions(spec, "\(average ? "avg" : "max")_pool kernel \(window.0) stride \(window.1)")
    }

    @Test func flatten() throws {
        try bothPrecisions(try probeSpec(Flatten(), data: [("x", [2, 3, 4])]), "flatten")
    }

    /// One output against the sum written out: padding 1, stride 2, and a bias.
    @Test func conv2dValueByHand() throws {
        let spec = try NetworkSpec(yaml: """
            inputs: {x: [1, 3, 3]}
            params: {K: {shape: [1, 1, 2, 2], init: "constant:1"}, b: {shape: [1], init: "constant:0.5"}}
            nodes:
              - {name: y, op: conv2d, inputs: [x, K, b], stride: 2, padding: 1}
              - {name: loss, op: sum, inputs: [y]}
            loss: loss
            """)
        let graph = try Graph<Double>(spec: spec)
        try graph.feed(Tensor(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9]), to: "x")
        try graph.forward()
        // Windows at (−1,−1), (−1,1), (1,−1), (1,1) of the zero-padded image.
        #expect(graph.value(of: "y")!.shape == [1, 1, 2, 2])
        #expect(graph.value(of: "y")!.scalars == [1.5, 5.5, 11.5, 28.5])
    }

    @Test func poolValues() throws {
        for (op, expected) in [("max_pool", [6.0, 8, 14, 16]), ("avg_pool", [3.5, 5.5, 11.5, 13.5])] {
            let spec = try NetworkSpec(yaml: "inputs: {x: [1, 4, 4]}\nnodes:\n  - {name: p, op: \(op), inputs: [x], kernel: 2}\n  - {name: loss, op: sum, inputs: [p]}\nloss: loss\n")
            let graph = try Graph<Double>(spec: spec)
            try graph.feed(Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Double.init)), to: "x")
            try graph.forward()
            #expect(graph.value(of: "p")!.scalars == expected, "\(op)")
        }
    }

    @Test func badWindowsAreOneLine() {
        func buildError(_ text: String) -> String {
            errorText { _ = try Graph<Float>(spec: try NetworkSpec(yaml: text)) }
        }
        let conv = { (extra: String, kernel: String) in
            "inputs: {x: [3, 4, 4]}\nparams: {K: {shape: \(kernel)}}\nnodes:\n  - {name: c, op: conv2d, inputs: [x, K]\(extra)}\n  - {name: loss, op: sum, inputs: [c]}\nloss: loss\n"
        }
        #expect(buildError(conv("", "[2, 3, 7, 7]")).contains("node 'c' (conv2d): kernel 7×7 is larger than the padded input 4×4"))
        #expect(buildError(conv(", padding: 2", "[2, 3, 7, 7]")) == "no error")
        #expect(buildError(conv("", "[2, 4, 3, 3]")).contains("weight [2, 4, 3, 3] takes 4 channels, x has 3"))
        #expect(buildError(conv(", stride: 0", "[2, 3, 3, 3]")).contains("line 4: node 'c': stride must be an integer ≥ 1"))
        #expect(buildError(conv(", kernel: 2", "[2, 3, 3, 3]")).contains("node 'c': conv2d takes no kernel"))
        #expect(buildError("inputs: {x: [3, 4, 4]}\nnodes:\n  - {name: p, op: max_pool, inputs: [x], kernel: 5}\n  - {name: loss, op: sum, inputs: [p]}\nloss: loss\n")
            .contains("kernel 5×5 is larger than the padded input 4×4"))
        #expect(buildError("inputs: {x: [12]}\nnodes:\n  - {name: p, op: avg_pool, inputs: [x]}\n  - {name: loss, op: sum, inputs: [p]}\nloss: loss\n")
            .contains("input must be images [N, C, H, W], got [N, 12]"))
    }

    /// The example CNN specs pass the gradient check (as `feedbench gradcheck` runs it: a
    /// seeded sample of each tensor's elements, as a debug build has time for).
    @Test(arguments: ["digits-cnn", "cifar-cnn"])
    func exampleCNNs(name: String) throws {
        let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: repositoryPath("benchmarks/nets/\(name).yaml")))
        let graph = try Graph<Double>(spec: spec, seed: 3, inputGradients: true)
        try graph.feedRandom(batch: 2, seed: 3)
        let results = try GradientCheck(step: 1e-5, maxElements: name == "cifar-cnn" ? 6 : 24, seed: 3, relativeFloor: 1e-2).run(graph)
        expectGradientsMatch(Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.maxRelativeError) }), bound: 1e-6, name)
    }
}
