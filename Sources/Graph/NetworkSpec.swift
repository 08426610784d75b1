/// A network as data: its inputs, parameters, function nodes and loss. The YAML form is
/// parsed into this (`NetworkSpec(yaml:)`), and code can build one directly.
public struct NetworkSpec: Sendable {
    /// A static-data node: one sample's shape, or one integer label per sample.
    public struct Input: Sendable {
        public var name: String
        public var shape: NodeShape
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = NodeShape(batched: true, dims: shape)
        }
        public init(label name: String) {
            self.name = name
            self.shape = .labels
        }
    }

    /// A parameter node (dynamic data): its full shape and how it starts.
    public struct Parameter: Sendable {
        public var name: String
        public var shape: [Int]
        public var initializer: Initializer
        public init(name: String, shape: [Int], initializer: Initializer) {
            self.name = name
            self.shape = shape
            self.initializer = initializer
        }
    }

    /// A function node: an op applied to named nodes.
    public struct Node: Sendable {
        public var name: String
        public var operation: any Operation
        public var inputs: [String]
        public init(name: String, operation: any Operation, inputs: [String]) {
            self.name = name
            self.operation = operation
            self.inputs = inputs
        }
    }

    public var inputs: [Input]
    public var parameters: [Parameter]
    public var nodes: [Node]
    /// The node whose value is minimised.
    public var loss: String
    /// The spec as text, kept for snapshots (`network` attribute) and messages.
    public var text: String

    public init(inputs: [Input], parameters: [Parameter], nodes: [Node], loss: String, text: String = "") {
        self.inputs = inputs
        self.parameters = parameters
        self.nodes = nodes
        self.loss = loss
        self.text = text
    }

    /// A multilayer perceptron with ReLU between dense layers and a softmax cross-entropy
    /// loss. Parameters are named `fc1.W` [in, h1], `fc1.b` [h1], `fc2.W`, … as in DESIGN.md;
    /// the input is `x`, the labels `y`, the logits node `out`, the loss `loss`.
    public static func mlp(
        inputShape: [Int], hidden: [Int], classes: Int,
        weightInit: Initializer = .xavier(.in), activation: any Operation = ReLU()
    ) -> NetworkSpec {
        let inputCount = inputShape.reduce(1, *)
        let inputs = [Input(name: "x", shape: inputShape), Input(label: "y")]
        var parameters: [Parameter] = []
        var nodes: [Node] = []
        let sizes = [inputCount] + hidden + [classes]
        var previous = "x"
        for layer in 1..<sizes.count {
            let w = "fc\(layer).W", b = "fc\(layer).b"
            parameters.append(Parameter(name: w, shape: [sizes[layer - 1], sizes[layer]], initializer: weightInit))
            parameters.append(Parameter(name: b, shape: [sizes[layer]], initializer: .zero))
            let isLast = layer == sizes.count - 1
            let dense = isLast ? "out" : "fc\(layer)"
            nodes.append(Node(name: dense, operation: Dense(), inputs: [previous, w, b]))
            previous = dense
            if !isLast {
                let act = "\(activation.name)\(layer)"
                nodes.append(Node(name: act, operation: activation, inputs: [dense]))
                previous = act
            }
        }
        nodes.append(Node(name: "loss", operation: SoftmaxCrossEntropy(), inputs: [previous, "y"]))
        let text = """
            mlp: {input: \(describe(shape: inputShape)), hidden: \(describe(shape: hidden)), classes: \(classes), init: \(weightInit), activation: \(activation.name)}

            """
        return NetworkSpec(inputs: inputs, parameters: parameters, nodes: nodes, loss: "loss", text: text)
    }

    /// Every op a YAML spec may name, by name.
    public static let operations: [String: any Operation] = {
        let all: [any Operation] = [
            Dense(), Add(), Multiply(), Maximum(), ReLU(), Sigmoid(), Tanh(), L2(),
            LeastSquares(), Hinge(), SoftmaxCrossEntropy(),
            Log(), Exp(), Sin(), Cos(), Square(), Negate(), Scale(), Subtract(), Divide(),
            Reduce(mean: false), Reduce(mean: true), Logistic(), SigmoidCrossEntropy(),
            Conv2D(), Pool(average: false), Pool(average: true), Flatten(),
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    }()
}

extension NetworkSpec {
    /// Values in all parameters, or nil when the count overflows.
    public var parameterCount: Int? { SizeLimits.sum(parameters.map { SizeLimits.product($0.shape) }) }

    /// Refuses a network whose parameters (values, gradients and momentum: 12 bytes each)
    /// would not fit in the machine's memory, before anything is allocated.
    public func checkFitsInMemory(_ context: String) throws {
        guard let count = parameterCount, let bytes = SizeLimits.product([count, 12]), bytes <= SizeLimits.memory else {
            let size = parameterCount.map { "\($0) parameters" } ?? "more parameters than can be counted"
            throw GraphError.tooLarge("\(context): \(size) need more than the machine's \(SizeLimits.gib(SizeLimits.memory)) (values, gradients and momentum)")
        }
    }
}
