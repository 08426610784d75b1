import Graph
import Testing

/// Builds a Double graph with data inputs differentiable, feeds seeded random values, and
/// runs the gradient check over every element. Returns the largest error per name.
func gradientErrors(_ spec: NetworkSpec, batch: Int, seed: UInt64 = 7) throws -> [String: Double] {
    let graph = try Graph<Double>(spec: spec, seed: seed, inputGradients: true)
    try graph.feedRandom(batch: batch, seed: seed)
    let results = try GradientCheck(step: 1e-5, maxElements: 10_000, seed: seed).run(graph)
    return Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.maxRelativeError) })
}

/// A spec that applies `op` to batched data inputs, parameters and labels, in that order,
/// and ends in a probe so the op sees a non-trivial output diff: a least-squares loss
/// against a random target for a batched output, or a multiplication by a parameter
/// (0.7 at first) for a scalar one.
func probeSpec(
    _ op: any Operation, data: [(String, [Int])], params: [(String, [Int])] = [], labels: [String] = []
) throws -> NetworkSpec {
    var inputs = data.map { NetworkSpec.Input(name: $0.0, shape: $0.1) } + labels.map { NetworkSpec.Input(label: $0) }
    var parameters = params.map { NetworkSpec.Parameter(name: $0.0, shape: $0.1, initializer: .xavier(.in)) }
    let shapes = inputs.prefix(data.count).map(\.shape)
        + parameters.map { NodeShape(batched: false, dims: $0.shape) } + labels.map { _ in NodeShape.labels }
    let output = try op.outputShape(for: shapes)
    var nodes = [NetworkSpec.Node(name: "probe", operation: op, inputs: data.map(\.0) + params.map(\.0) + labels)]
    if output.batched {
        inputs.append(.init(name: "target", shape: output.dims))
        nodes.append(.init(name: "loss", operation: LeastSquares(), inputs: ["probe", "target"]))
    } else {
        parameters.append(.init(name: "k", shape: [1], initializer: .constant(0.7)))
        nodes.append(.init(name: "loss", operation: Multiply(), inputs: ["probe", "k"]))
    }
    return NetworkSpec(inputs: inputs, parameters: parameters, nodes: nodes, loss: "loss")
}

/// Asserts every checked gradient is within `bound`.
func expectGradientsMatch(_ errors: [String: Double], bound: Double = 1e-6, _ context: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!errors.isEmpty, "\(context): nothing was checked", sourceLocation: sourceLocation)
    for (name, error) in errors.sorted(by: { $0.key < $1.key }) {
        #expect(error < bound, "\(context): \(name) max relative error \(error)", sourceLocation: sourceLocation)
    }
}
