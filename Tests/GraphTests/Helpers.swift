import Graph
import Testing

/// The largest error of each parameter's and input's gradient, computed in `T`.
///
/// In Double, backward's gradients are compared with central differences over every element
/// (`GradientCheck`; an element below 1 % of its tensor's largest gradient is held to that
/// scale, which is all central differences resolve). In Float, where finite differences are too coarse, backward's Float
/// gradients are compared with Double's (themselves checked that way) on the same seeded
/// values: |f − d| / max(|f|, |d|, 1e-3). An empty batch must give a zero loss and zero
/// parameter gradients.
func gradientErrors<T: TensorScalar>(_ spec: NetworkSpec, batch: Int, seed: UInt64 = 7, as _: T.Type = Double.self) throws -> [String: Double] {
    let reference = try Graph<Double>(spec: spec, seed: seed, inputGradients: true)
    try reference.feedRandom(batch: batch, seed: seed)
    let results = try GradientCheck(step: 1e-5, maxElements: 10_000, seed: seed, relativeFloor: 1e-2).run(reference)
    if batch == 0 {
        #expect(try reference.forward() == 0, "an empty batch must give a zero loss")
        for p in reference.parameters where p.gradient.scalars.contains(where: { $0 != 0 }) {
            Issue.record("\(p.name): non-zero gradient from an empty batch")
        }
    }
    if T.self == Double.self { return Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.maxRelativeError) }) }
    let graph = try Graph<T>(spec: spec, seed: seed, inputGradients: true)
    try graph.feedRandom(batch: batch, seed: seed)
    try graph.forward()
    graph.backward()
    var errors: [String: Double] = [:]
    for node in graph.nodes where node.needsDiff && node.kind != .function {
        let f = graph.diff(of: node.name)!, d = reference.diff(of: node.name)!
        var worst = 0.0
        for i in 0..<f.count {
            let a = Double(f[i]), b = d[i]
            worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-3))
        }
        errors[node.name] = worst
    }
    return errors
}

/// The bound each precision is held to.
func gradientBound<T: TensorScalar>(_: T.Type) -> Double { T.self == Double.self ? 1e-6 : 1e-4 }

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
