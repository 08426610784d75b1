/// A network ready to run: nodes in topological order, one value buffer per node, and a
/// diff buffer for each node the loss depends on through a parameter.
///
/// `forward()` runs every function in topological order; `backward()` starts from a diff of
/// one at the loss and runs them in reverse, summing the diffs that reach a node from
/// several consumers (a weight shared by two layers). Buffers are allocated once per batch
/// shape and reused.
///
/// ```swift
/// let graph = try Graph<Float>(spec: .mlp(inputShape: [784], hidden: [256], classes: 10), seed: 1)
/// try graph.feed(images, to: "x")
/// try graph.feed(labels, to: "y")
/// let loss = try graph.forward()
/// graph.backward()
/// optimizer.step(graph)
/// ```
public final class Graph<Scalar: TensorScalar> {
    /// What a node is.
    public enum Kind: Equatable { case input, parameter, function }

    /// One node as the graph keeps it.
    public struct Node {
        public let name: String
        public let kind: Kind
        public let shape: NodeShape
        public let operation: (any Operation)?
        /// Indices of the input nodes, in the graph's (topological) order.
        public let inputs: [Int]
        /// Whether backward computes a diff for this node.
        public let needsDiff: Bool
    }

    /// A trainable parameter with its gradient buffer.
    public struct Parameter {
        public let name: String
        public let value: Tensor<Scalar>
        public let gradient: Tensor<Scalar>
        public let initializer: Initializer
    }

    /// The spec the graph was built from.
    public let spec: NetworkSpec
    /// The nodes in topological order.
    public let nodes: [Node]
    /// The parameters in the order the spec declares them.
    public let parameters: [Parameter]
    /// The index of the loss node.
    public let lossIndex: Int

    private var values: [Tensor<Scalar>]
    private var diffs: [Tensor<Scalar>?]
    private var inputArguments: [[Tensor<Scalar>]]
    private var diffArguments: [[DiffTarget<Scalar>?]]
    private var consumers: [[(node: Int, slot: Int)]]
    private var fed: [Bool]
    private let indexByName: [String: Int]
    private let functionOrder: [Int]
    private let backwardOrder: [Int]
    /// For each step of `backwardOrder`, the parameters (indices into `parameters`) whose
    /// gradient no later step writes; `gradientsFinalAtStart` for those no step writes.
    private let gradientsFinalAfter: [[Int]]
    private let gradientsFinalAtStart: [Int]
    /// The order in which `backward(gradientReady:)` reports the parameters.
    public var gradientReadyOrder: [Int] { gradientsFinalAtStart + gradientsFinalAfter.flatMap { $0 } }
    private(set) public var batchSize: Int = -1

    /// When true, `forward` and `backward` add each function's wall time to
    /// `forwardSeconds` and `backwardSeconds` (indexed like `nodes`).
    public var profiling = false
    public private(set) var forwardSeconds: [Double]
    public private(set) var backwardSeconds: [Double]

    /// Builds the graph, checking names, arities, shapes and cycles, and initialises the
    /// parameters from `seed` (each parameter from its own stream, by name).
    /// - Parameter inputGradients: also compute diffs for data inputs (for gradient checks).
    public init(spec: NetworkSpec, seed: UInt64 = 0, inputGradients: Bool = false) throws {
        self.spec = spec
        try spec.checkFitsInMemory("the network")
        for input in spec.inputs where SizeLimits.product(input.shape.dims, limit: SizeLimits.sampleElements) == nil {
            throw GraphError.tooLarge("input '\(input.name)': shape \(input.shape) holds more than \(SizeLimits.sampleElements) values per sample")
        }
        // Names and kinds.
        var declared: [(name: String, kind: Kind, shape: NodeShape, spec: Int)] = []
        for (i, input) in spec.inputs.enumerated() { declared.append((input.name, .input, input.shape, i)) }
        for (i, p) in spec.parameters.enumerated() {
            guard !p.shape.isEmpty, p.shape.allSatisfy({ $0 > 0 }) else {
                throw GraphError.invalidParameterShape(name: p.name, shape: p.shape)
            }
            declared.append((p.name, .parameter, NodeShape(batched: false, dims: p.shape), i))
        }
        var seen = Set<String>()
        for d in declared where !seen.insert(d.name).inserted { throw GraphError.duplicateName(d.name) }
        for n in spec.nodes where !seen.insert(n.name).inserted { throw GraphError.duplicateName(n.name) }
        for n in spec.nodes {
            for input in n.inputs where !seen.contains(input) { throw GraphError.unknownInput(node: n.name, input: input) }
            guard n.operation.arity.contains(n.inputs.count) else {
                throw GraphError.wrongInputCount(node: n.name, op: n.operation.name, expected: n.operation.arity, got: n.inputs.count)
            }
        }
        guard seen.contains(spec.loss) else { throw GraphError.unknownLoss(spec.loss) }

        // Topological order of the function nodes (Kahn; ties keep the spec's order).
        let functionIndex = Dictionary(uniqueKeysWithValues: spec.nodes.enumerated().map { ($1.name, $0) })
        var pending = spec.nodes.map { n in Set(n.inputs.filter { functionIndex[$0] != nil }).count }
        var dependents = [[Int]](repeating: [], count: spec.nodes.count)
        for (i, n) in spec.nodes.enumerated() {
            for input in Set(n.inputs) { if let j = functionIndex[input] { dependents[j].append(i) } }
        }
        var ready = pending.indices.filter { pending[$0] == 0 }
        var sorted: [Int] = []
        while !ready.isEmpty {
            let i = ready.removeFirst()
            sorted.append(i)
            for d in dependents[i] {
                pending[d] -= 1
                if pending[d] == 0 { ready.append(d) }
            }
            ready.sort()
        }
        if sorted.count < spec.nodes.count {
            throw GraphError.cycle(Graph.findCycle(spec: spec, functionIndex: functionIndex, blocked: pending))
        }

        // Node table: inputs, parameters, then functions in order; shapes inferred.
        var nodes: [Node] = []
        var index: [String: Int] = [:]
        for d in declared {
            index[d.name] = nodes.count
            nodes.append(Node(name: d.name, kind: d.kind, shape: d.shape, operation: nil, inputs: [], needsDiff: false))
        }
        for i in sorted {
            let n = spec.nodes[i]
            let inputIndices = n.inputs.map { index[$0]! }
            let shape: NodeShape
            do {
                shape = try n.operation.outputShape(for: inputIndices.map { nodes[$0].shape })
            } catch let error as ShapeError {
                throw GraphError.shapeMismatch(node: n.name, op: n.operation.name, message: error.description)
            }
            index[n.name] = nodes.count
            nodes.append(Node(name: n.name, kind: .function, shape: shape, operation: n.operation, inputs: inputIndices, needsDiff: false))
        }
        let lossIndex = index[spec.loss]!
        guard nodes[lossIndex].shape.isScalar else {
            throw GraphError.lossNotScalar(node: spec.loss, shape: nodes[lossIndex].shape.description)
        }

        // Which nodes need a diff: those on a path from a parameter (or a data input, when
        // asked) to the loss.
        var reachesLoss = [Bool](repeating: false, count: nodes.count)
        reachesLoss[lossIndex] = true
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where reachesLoss[i] {
            for j in nodes[i].inputs { reachesLoss[j] = true }
        }
        var needs = [Bool](repeating: false, count: nodes.count)
        for (i, node) in nodes.enumerated() where reachesLoss[i] {
            switch node.kind {
            case .parameter: needs[i] = true
            case .input: needs[i] = inputGradients && !node.shape.isLabel
            case .function: needs[i] = node.inputs.contains { needs[$0] }
            }
        }
        let built = nodes.enumerated().map { i, n in
            Node(name: n.name, kind: n.kind, shape: n.shape, operation: n.operation, inputs: n.inputs, needsDiff: needs[i])
        }
        let functionOrder = built.indices.filter { built[$0].kind == .function }
        let backwardOrder = Array(functionOrder.reversed().filter { needs[$0] })
        self.nodes = built
        self.lossIndex = lossIndex
        self.indexByName = index
        self.functionOrder = functionOrder
        self.backwardOrder = backwardOrder

        // Buffers. Parameters are allocated and initialised now; the rest on the first batch.
        var values: [Tensor<Scalar>] = []
        var diffs: [Tensor<Scalar>?] = []
        var parameters: [Parameter] = []
        for node in built {
            let value = Tensor<Scalar>(zeros: node.shape.concrete(batch: 0))
            values.append(value)
            if node.kind == .parameter {
                let p = spec.parameters[declared[index[node.name]!].spec]
                var generator = SeededGenerator(seed: seed, stream: p.name)
                p.initializer.fill(value, using: &generator)
                let gradient = Tensor<Scalar>(zeros: p.shape)
                diffs.append(gradient)
                parameters.append(Parameter(name: p.name, value: value, gradient: gradient, initializer: p.initializer))
            } else {
                diffs.append(needs[values.count - 1] ? Tensor<Scalar>(zeros: node.shape.concrete(batch: 0)) : nil)
            }
        }
        self.values = values
        self.diffs = diffs
        self.parameters = parameters
        self.fed = built.map { $0.kind != .input }
        self.inputArguments = built.map { n in n.inputs.map { values[$0] } }
        var consumers = [[(node: Int, slot: Int)]](repeating: [], count: built.count)
        for (i, n) in built.enumerated() {
            for (slot, j) in n.inputs.enumerated() { consumers[j].append((i, slot)) }
        }
        self.consumers = consumers

        // Diff targets: in backward order, the first consumer to reach a node overwrites its
        // diff and every later one adds to it.
        var written = [Bool](repeating: false, count: built.count)
        var diffArguments = [[DiffTarget<Scalar>?]](repeating: [], count: built.count)
        for i in backwardOrder {
            diffArguments[i] = built[i].inputs.map { j in
                guard needs[j], let d = diffs[j] else { return nil }
                defer { written[j] = true }
                return DiffTarget(d, accumulate: written[j])
            }
        }
        self.diffArguments = diffArguments
        self.forwardSeconds = [Double](repeating: 0, count: built.count)
        self.backwardSeconds = [Double](repeating: 0, count: built.count)

        // When each gradient is final: after the last step (in backward order) that writes it.
        var finalAfter = [[Int]](repeating: [], count: backwardOrder.count)
        var atStart: [Int] = []
        for (p, parameter) in parameters.enumerated() {
            let node = index[parameter.name]!
            if let last = backwardOrder.lastIndex(where: { built[$0].inputs.contains(node) }) {
                finalAfter[last].append(p)
            } else {
                atStart.append(p)
            }
        }
        self.gradientsFinalAfter = finalAfter
        self.gradientsFinalAtStart = atStart
    }

    /// Finds one cycle among the nodes Kahn's walk could not order, for the error message.
    private static func findCycle(spec: NetworkSpec, functionIndex: [String: Int], blocked: [Int]) -> [String] {
        var start = blocked.firstIndex { $0 > 0 }!
        var visited: [Int] = []
        while !visited.contains(start) {
            visited.append(start)
            start = spec.nodes[start].inputs.compactMap { functionIndex[$0] }.first { blocked[$0] > 0 }!
        }
        let cycle = visited[visited.firstIndex(of: start)!...].map { spec.nodes[$0].name }
        return cycle.reversed() + [cycle.last!]
    }

    // MARK: - Access

    /// The index of a node by name.
    public func index(of name: String) -> Int? { indexByName[name] }

    /// A node's current value (after `forward`), a parameter's value, or a fed input.
    public func value(of name: String) -> Tensor<Scalar>? { indexByName[name].map { values[$0] } }

    /// A node's diff after `backward` (a parameter's gradient), if it has one.
    public func diff(of name: String) -> Tensor<Scalar>? { indexByName[name].flatMap { diffs[$0] } }

    /// A parameter by name.
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The input nodes, in the spec's order.
    public var inputNodes: [Node] { nodes.filter { $0.kind == .input } }

    /// For a label input, the number of classes of the classification loss it feeds.
    public func classes(ofLabel name: String) -> Int? {
        guard let i = indexByName[name] else { return nil }
        for (consumer, slot) in consumers[i] where slot == 1 {
            let c = nodes[consumer]
            if c.operation is SoftmaxCrossEntropy || c.operation is Hinge { return nodes[c.inputs[0]].shape.elementCount }
        }
        return nil
    }

    /// For a label input, the values a binary loss it feeds accepts ([−1, 1] for `logistic`,
    /// [0, 1] for `sigmoid_cross_entropy`); nil when it feeds no binary loss.
    public func binaryLabels(ofLabel name: String) -> [Scalar]? {
        guard let i = indexByName[name] else { return nil }
        for (consumer, slot) in consumers[i] where slot == 1 {
            if nodes[consumer].operation is Logistic { return [-1, 1] }
            if nodes[consumer].operation is SigmoidCrossEntropy { return [0, 1] }
        }
        return nil
    }

    /// The node whose values are the class scores: the first input of the classification loss.
    public var scoresNode: String? {
        let loss = nodes[lossIndex]
        guard loss.operation is SoftmaxCrossEntropy || loss.operation is Hinge else { return nil }
        return nodes[loss.inputs[0]].name
    }

    // MARK: - Running

    /// Feeds a batch to an input node by reference (no copy). Data must be shaped [N, …] with
    /// as many values per sample as the input declares (a [N, 1, 8, 8] batch feeds an input
    /// declared [64]); labels [N] or [N, 1].
    public func feed(_ tensor: Tensor<Scalar>, to name: String) throws {
        guard let i = indexByName[name], nodes[i].kind == .input else { throw GraphError.unknownFeed(name: name) }
        let shape = nodes[i].shape
        let t = tensor.shape
        let fits: Bool
        if shape.isLabel {
            fits = t.count == 1 || (t.count == 2 && t[1] == 1)
        } else {
            fits = !t.isEmpty && t.dropFirst().reduce(1, *) == shape.elementCount
        }
        guard fits else { throw GraphError.feedShape(input: name, expected: shape.description, got: t) }
        fed[i] = true
        if values[i] !== tensor {
            values[i] = tensor
            for (node, slot) in consumers[i] { inputArguments[node][slot] = tensor }
        }
    }

    /// Runs every function in topological order and returns the loss.
    @discardableResult
    public func forward() throws -> Scalar {
        var batch = -1
        for (i, node) in nodes.enumerated() where node.kind == .input {
            guard fed[i] else { throw GraphError.missingFeed(input: node.name) }
            let n = values[i].rows
            if batch < 0 { batch = n } else if n != batch { throw GraphError.batchMismatch(input: node.name, expected: batch, got: n) }
        }
        if batch != batchSize {
            // Values and diffs of every node for this batch: refused, not allocated, when they
            // cannot fit.
            let perSample = SizeLimits.sum(nodes.filter { $0.shape.batched }.map { SizeLimits.product($0.shape.dims) })
            guard let perSample, let bytes = SizeLimits.product([perSample, max(batch, 0), 2 * MemoryLayout<Scalar>.size]),
                  bytes <= SizeLimits.memory else {
                throw GraphError.tooLarge("a batch of \(batch) needs more than the machine's \(SizeLimits.gib(SizeLimits.memory)) for the network's values and diffs")
            }
            resize(batch: max(batch, 0))
        }
        for i in functionOrder {
            let operation = nodes[i].operation!
            let start = profiling ? ContinuousClock.now : nil
            do {
                try operation.forward(inputArguments[i], into: values[i])
            } catch let error as LabelError {
                throw GraphError.label(node: nodes[i].name, message: error.description)
            } catch let error as BinaryLabelError {
                throw GraphError.label(node: nodes[i].name, message: error.description)
            }
            if let start { forwardSeconds[i] += seconds(since: start) }
        }
        return values[lossIndex].pointer[0]
    }

    /// Runs backward from a diff of one at the loss; afterwards every parameter's
    /// `gradient` holds d(loss)/d(parameter) for the batch of the last `forward`.
    ///
    /// - Parameters:
    ///   - seed: the loss's diff (`seed · d(loss)/d(parameter)` results). Data-parallel
    ///     ranks seed with their batch's sample count, so summing the gradients over ranks
    ///     and dividing by the samples of all ranks gives the mean of one large batch.
    ///   - gradientReady: called with a parameter's index (into `parameters`) as soon as no
    ///     later step writes its gradient, so its reduction over ranks can start while
    ///     backward goes on; every parameter is reported exactly once.
    public func backward(seed: Scalar = 1, gradientReady: ((Int) -> Void)? = nil) {
        diffs[lossIndex]?.fill(seed)
        if let gradientReady {
            for p in gradientsFinalAtStart {
                parameters[p].gradient.fill(0)
                gradientReady(p)
            }
        }
        for (k, i) in backwardOrder.enumerated() {
            let start = profiling ? ContinuousClock.now : nil
            nodes[i].operation!.backward(
                inputArguments[i], output: values[i], outputDiff: diffs[i]!, into: diffArguments[i])
            if let start { backwardSeconds[i] += seconds(since: start) }
            if let gradientReady { for p in gradientsFinalAfter[k] { gradientReady(p) } }
        }
    }

    /// Resets the profiling totals.
    public func resetProfile() {
        for i in forwardSeconds.indices { forwardSeconds[i] = 0; backwardSeconds[i] = 0 }
    }

    private func resize(batch: Int) {
        batchSize = batch
        for (i, node) in nodes.enumerated() where node.kind == .function {
            let shape = node.shape.concrete(batch: batch)
            values[i].reshape(to: shape)
            diffs[i]?.reshape(to: shape)
        }
        for (i, node) in nodes.enumerated() where node.kind == .input {
            diffs[i]?.reshape(to: values[i].shape)
        }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
