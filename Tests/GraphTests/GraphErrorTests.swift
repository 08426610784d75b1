import Graph
import NetworkSpecs
import Testing

@Suite struct GraphErrorTests {
    func buildError(_ yaml: String) -> String? {
        do {
            _ = try Graph<Float>(spec: try NetworkSpec(yaml: yaml))
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func cycleIsRejectedNamingItsNodes() {
        let message = buildError("""
            inputs: {x: [2]}
            nodes:
              - {name: a, op: add, inputs: [x, b]}
              - {name: b, op: relu, inputs: [a]}
              - {name: loss, op: l2, inputs: [b]}
            loss: loss
            """)
        #expect(message?.contains("cycle") == true)
        #expect(message?.contains("a → b → a") == true || message?.contains("b → a → b") == true, "\(message ?? "nil")")
    }

    @Test func unknownInputIsRejected() {
        #expect(buildError("""
            inputs: {x: [2]}
            nodes: [{name: loss, op: l2, inputs: [z]}]
            loss: loss
            """) == "node 'loss': unknown input 'z'")
    }

    @Test func missingOrUnknownLossIsRejected() {
        #expect(buildError("inputs: {x: [2]}\nnodes: [{name: n, op: l2, inputs: [x]}]")?.contains("missing key 'loss'") == true)
        #expect(buildError("inputs: {x: [2]}\nnodes: [{name: n, op: l2, inputs: [x]}]\nloss: nope") == "loss 'nope' is not a node of the network")
    }

    @Test func lossMustBeScalar() {
        #expect(buildError("inputs: {x: [2]}\nnodes: [{name: n, op: relu, inputs: [x]}]\nloss: n")
            == "loss 'n' must be a scalar, but has shape [N, 2]")
    }

    @Test func shapeMismatchNamesTheNode() {
        let message = buildError("""
            inputs: {x: [784], y: label}
            params:
              W1: {shape: [780, 10], init: xavier}
            nodes:
              - {name: h1, op: dense, inputs: [x, W1]}
              - {name: loss, op: softmax_cross_entropy, inputs: [h1, y]}
            loss: loss
            """)
        #expect(message?.hasPrefix("node 'h1' (dense): weight [780, 10] needs 780 inputs per sample, x gives 784") == true, "\(message ?? "nil")")
    }

    @Test func wrongInputCountIsRejected() {
        #expect(buildError("inputs: {x: [2]}\nnodes: [{name: r, op: relu, inputs: [x, x]}, {name: loss, op: l2, inputs: [r]}]\nloss: loss")
            == "node 'r': relu takes 1 inputs, got 2")
    }

    @Test func duplicateNameIsRejected() {
        #expect(buildError("inputs: {x: [2]}\nnodes: [{name: x, op: relu, inputs: [x]}]\nloss: x") == "name 'x' is used twice")
    }

    @Test func labelsOnlyWhereLabelsBelong() {
        #expect(buildError("inputs: {y: label, z: [3]}\nnodes: [{name: loss, op: softmax_cross_entropy, inputs: [z, z]}]\nloss: loss")?
            .contains("second input must be labels") == true)
        #expect(buildError("inputs: {y: label}\nnodes: [{name: r, op: relu, inputs: [y]}, {name: loss, op: l2, inputs: [r]}]\nloss: loss")?
            .contains("relu does not take labels") == true)
    }

    @Test func yamlErrorsNameTheKeyAndLine() {
        #expect(buildError("inputs: [x")?.hasPrefix("not valid YAML") == true)
        #expect(buildError("- just\n- a list") == "line 1: a network spec must be a YAML mapping")
        #expect(buildError("inputs: {x: [2]}\nnodes:\n  - {name: n, op: dence, inputs: [x]}\nloss: n")?
            .contains("line 3: node 'n': unknown op 'dence' (known: add, avg_pool, conv2d, cos, dense, divide, exp,") == true)
        #expect(buildError("inputs: {x: [2]}\nnodez: []\nloss: n") == "line 2: unknown key 'nodez' (expected inputs, params, nodes, loss, or mlp)")
        #expect(buildError("inputs: {x: [2]}\nparams: {W: {shape: [2, 0]}}\nnodes: []\nloss: W")?
            .contains("parameter 'W': sizes must be positive integers") == true)
        #expect(buildError("inputs: {x: [2]}\nparams: {W: {shape: [2], init: gauss}}\nnodes: []\nloss: W")?
            .contains("unknown init 'gauss'") == true)
        #expect(buildError("mlp: {input: 4, classes: 0}")?.contains("'classes' must be a positive integer") == true)
    }

    @Test func labelOutOfRangeIsAnErrorNotATrap() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [2], hidden: [], classes: 3))
        try graph.feed(Tensor(shape: [2, 2], scalars: [0, 1, 2, 3]), to: "x")
        try graph.feed(Tensor(shape: [2], scalars: [1, 3]), to: "y")
        #expect(throws: GraphError.label(node: "loss", message: "label 3 of sample 1 is not a class index in 0..<3")) {
            try graph.forward()
        }
        try graph.feed(Tensor(shape: [2], scalars: [-1, 0]), to: "y")
        #expect(throws: GraphError.self) { try graph.forward() }
    }

    @Test func feedErrors() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [4], hidden: [], classes: 2))
        #expect(throws: GraphError.feedShape(input: "x", expected: "[N, 4]", got: [3, 5])) {
            try graph.feed(Tensor(zeros: [3, 5]), to: "x")
        }
        #expect(throws: GraphError.unknownFeed(name: "z")) { try graph.feed(Tensor(zeros: [3, 4]), to: "z") }
        try graph.feed(Tensor(zeros: [3, 4]), to: "x")
        #expect(throws: GraphError.missingFeed(input: "y")) { try graph.forward() }
        try graph.feed(Tensor(zeros: [2]), to: "y")
        #expect(throws: GraphError.batchMismatch(input: "y", expected: 3, got: 2)) { try graph.forward() }
    }
}

@Suite struct NaNPropagationTests {
    @Test func reluAndTheLossPassNaNThrough() throws {
        let y = try ReLU().forward([Tensor<Float>(shape: [1, 3], scalars: [-1, .nan, 2])], shapes: [NodeShape(batched: true, dims: [3])])
        #expect(y[0] == 0 && y[1].isNaN && y[2] == 2)
    }
}
