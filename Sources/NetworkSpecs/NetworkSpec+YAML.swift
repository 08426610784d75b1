import Graph
import protocol Graph.Operation
import Foundation
import Yams

/// A network spec that cannot be read: names the key or node, and the line.
public struct SpecError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String, at node: Yams.Node? = nil) {
        if let line = node?.mark?.line { description = "line \(line): \(message)" } else { description = message }
    }
}

extension NetworkSpec {
    /// Reads a spec file. Errors name the file.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SpecError("\(url.path): no such file")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw SpecError("\(url.path): cannot read the network spec (\((error as NSError).localizedDescription))")
        }
        do {
            try self.init(yaml: text)
        } catch let error as SpecError {
            throw SpecError("\(url.path): \(error.description)")
        }
    }

    /// Parses the YAML form described in DESIGN.md (full form or the `mlp:` shorthand).
    public init(yaml text: String) throws {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SpecError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root, let top = root.mapping else { throw SpecError("a network spec must be a YAML mapping", at: root) }
        let known: Set = ["inputs", "params", "nodes", "loss", "mlp"]
        for (key, _) in top {
            guard let name = key.string, known.contains(name) else {
                throw SpecError("unknown key '\(key.string ?? "?")' (expected inputs, params, nodes, loss, or mlp)", at: key)
            }
        }
        if let mlp = top["mlp"] {
            guard top.count == 1 else { throw SpecError("`mlp` is a whole network; give it alone", at: mlp) }
            self = try NetworkSpec.parseMLP(mlp)
            self.text = text
            return
        }
        guard let inputsNode = top["inputs"] else { throw SpecError("missing key 'inputs'", at: root) }
        guard let nodesNode = top["nodes"] else { throw SpecError("missing key 'nodes'", at: root) }
        guard let lossNode = top["loss"] else { throw SpecError("missing key 'loss' (the node to minimise)", at: root) }
        guard let loss = lossNode.string else { throw SpecError("'loss' must name a node", at: lossNode) }
        self.init(
            inputs: try NetworkSpec.parseInputs(inputsNode),
            parameters: try top["params"].map(NetworkSpec.parseParameters) ?? [],
            nodes: try NetworkSpec.parseNodes(nodesNode),
            loss: loss, text: text)
    }

    private static func parseInputs(_ node: Yams.Node) throws -> [Input] {
        guard let map = node.mapping else { throw SpecError("'inputs' must map names to shapes or `label`", at: node) }
        return try map.map { key, value in
            guard let name = key.string else { throw SpecError("an input name must be a string", at: key) }
            if value.string == "label" { return Input(label: name) }
            return Input(name: name, shape: try parseShape(value, what: "input '\(name)'"))
        }
    }

    private static func parseParameters(_ node: Yams.Node) throws -> [Parameter] {
        guard let map = node.mapping else { throw SpecError("'params' must map names to {shape, init}", at: node) }
        return try map.map { key, value in
            guard let name = key.string else { throw SpecError("a parameter name must be a string", at: key) }
            guard let fields = value.mapping else { throw SpecError("parameter '\(name)' must be {shape: [...], init: ...}", at: value) }
            for (k, _) in fields where !["shape", "init", "fan"].contains(k.string ?? "") {
                throw SpecError("parameter '\(name)': unknown key '\(k.string ?? "?")' (expected shape, init, fan)", at: k)
            }
            guard let shapeNode = fields["shape"] else { throw SpecError("parameter '\(name)' has no shape", at: value) }
            let shape = try parseShape(shapeNode, what: "parameter '\(name)'")
            let initializer = try parseInitializer(fields["init"], fan: fields["fan"], what: "parameter '\(name)'")
            return Parameter(name: name, shape: shape, initializer: initializer)
        }
    }

    private static func parseNodes(_ node: Yams.Node) throws -> [Node] {
        guard let list = node.sequence else { throw SpecError("'nodes' must be a list of {name, op, inputs}", at: node) }
        return try list.enumerated().map { index, item in
            guard let fields = item.mapping else { throw SpecError("nodes[\(index)] must be {name, op, inputs}", at: item) }
            guard let name = fields["name"]?.string else { throw SpecError("nodes[\(index)] has no name", at: item) }
            for (k, _) in fields where !["name", "op", "inputs", "scale", "factor", "over", "kernel", "stride", "padding"].contains(k.string ?? "") {
                throw SpecError("node '\(name)': unknown key '\(k.string ?? "?")' (expected name, op, inputs, and scale for l2, factor for scale, over for sum and mean, stride and padding for conv2d, kernel and stride for the pools)", at: k)
            }
            guard let opName = fields["op"]?.string else { throw SpecError("node '\(name)' has no op", at: item) }
            guard var operation = operations[opName] else {
                let known = operations.keys.sorted().joined(separator: ", ")
                throw SpecError("node '\(name)': unknown op '\(opName)' (known: \(known))", at: fields["op"])
            }
            if let scaleNode = fields["scale"] {
                guard opName == "l2" else { throw SpecError("node '\(name)': only l2 takes a scale", at: scaleNode) }
                guard let scale = scaleNode.float else { throw SpecError("node '\(name)': scale must be a number", at: scaleNode) }
                operation = L2(scale: scale)
            }
            if let factorNode = fields["factor"] {
                guard opName == "scale" else { throw SpecError("node '\(name)': only scale takes a factor", at: factorNode) }
                guard let factor = factorNode.float, factor.isFinite else { throw SpecError("node '\(name)': factor must be a finite number", at: factorNode) }
                operation = Scale(factor: factor)
            } else if opName == "scale" {
                throw SpecError("node '\(name)': scale needs a factor (such as factor: 0.5)", at: item)
            }
            // Window settings: conv2d takes stride and padding (its kernel is its weight's), the
            // pools kernel and stride (stride defaults to the kernel).
            let window = ["conv2d": ["stride", "padding"], "max_pool": ["kernel", "stride"], "avg_pool": ["kernel", "stride"]]
            var settings: [String: Int] = [:]
            for key in ["kernel", "stride", "padding"] {
                guard let n = fields[key] else { continue }
                guard window[opName]?.contains(key) == true else {
                    throw SpecError("node '\(name)': \(opName) takes no \(key)", at: n)
                }
                guard let v = n.int, v >= (key == "padding" ? 0 : 1), v <= 1 << 20 else {
                    throw SpecError("node '\(name)': \(key) must be an integer \(key == "padding" ? "≥ 0" : "≥ 1")", at: n)
                }
                settings[key] = v
            }
            if opName == "conv2d" {
                operation = Conv2D(stride: settings["stride"] ?? 1, padding: settings["padding"] ?? 0)
            } else if opName == "max_pool" || opName == "avg_pool" {
                let kernel = settings["kernel"] ?? 2
                operation = Pool(kernel: kernel, stride: settings["stride"] ?? kernel, average: opName == "avg_pool")
            }
            if let overNode = fields["over"] {
                guard opName == "sum" || opName == "mean" else { throw SpecError("node '\(name)': only sum and mean take over", at: overNode) }
                guard let over = overNode.string.flatMap(Reduce.Axis.init(rawValue:)) else {
                    throw SpecError("node '\(name)': over must be all or batch", at: overNode)
                }
                operation = Reduce(mean: opName == "mean", over: over)
            }
            guard let inputsNode = fields["inputs"], let seq = inputsNode.sequence else {
                throw SpecError("node '\(name)' needs a list of inputs", at: item)
            }
            let inputs = try seq.map { n in
                guard let s = n.string else { throw SpecError("node '\(name)': inputs must be names", at: n) }
                return s
            }
            return Node(name: name, operation: operation, inputs: inputs)
        }
    }

    private static func parseMLP(_ node: Yams.Node) throws -> NetworkSpec {
        guard let fields = node.mapping else { throw SpecError("`mlp` must be {input, hidden, classes}", at: node) }
        for (k, _) in fields where !["input", "hidden", "classes", "init", "fan", "activation"].contains(k.string ?? "") {
            throw SpecError("mlp: unknown key '\(k.string ?? "?")' (expected input, hidden, classes, init, fan, activation)", at: k)
        }
        guard let inputNode = fields["input"] else { throw SpecError("mlp: missing 'input'", at: node) }
        let inputShape = try parseShape(inputNode, what: "mlp input")
        let hidden = try fields["hidden"].map { try parseShape($0, what: "mlp hidden", allowEmpty: true) } ?? []
        guard let classes = fields["classes"]?.int, classes >= 1 else {
            throw SpecError("mlp: 'classes' must be a positive integer", at: fields["classes"] ?? node)
        }
        let initializer = try parseInitializer(fields["init"], fan: fields["fan"], what: "mlp", defaultValue: .xavier(.in))
        var activation: any Operation = ReLU()
        if let a = fields["activation"] {
            guard let name = a.string, let op = operations[name], ["relu", "sigmoid", "tanh"].contains(name) else {
                throw SpecError("mlp: activation must be relu, sigmoid or tanh", at: a)
            }
            activation = op
        }
        return .mlp(inputShape: inputShape, hidden: hidden, classes: classes, weightInit: initializer, activation: activation)
    }

    private static func parseShape(_ node: Yams.Node, what: String, allowEmpty: Bool = false) throws -> [Int] {
        if let n = node.int, node.sequence == nil {
            guard n > 0 else { throw SpecError("\(what): sizes must be positive, got \(n)", at: node) }
            return [n]
        }
        guard let seq = node.sequence else { throw SpecError("\(what): shape must be a list of sizes like [784]", at: node) }
        let dims = try seq.map { n in
            guard let v = n.int, v > 0 else { throw SpecError("\(what): sizes must be positive integers, got '\(n.string ?? "?")'", at: n) }
            return v
        }
        guard allowEmpty || !dims.isEmpty else { throw SpecError("\(what): shape must not be empty", at: node) }
        return dims
    }

    private static func parseInitializer(
        _ node: Yams.Node?, fan fanNode: Yams.Node?, what: String, defaultValue: Initializer = .zero
    ) throws -> Initializer {
        var fan = Fan.in
        if let fanNode {
            guard let f = fanNode.string.flatMap(Fan.init(rawValue:)) else {
                throw SpecError("\(what): fan must be in, out or average", at: fanNode)
            }
            fan = f
        }
        guard let node else { return defaultValue }
        guard let text = node.string else { throw SpecError("\(what): init must be a name", at: node) }
        switch text {
        case "xavier": return .xavier(fan)
        case "msra": return .msra(fan)
        case "zero": return .zero
        default:
            if text.hasPrefix("constant:"), let v = Double(text.dropFirst("constant:".count)) { return .constant(v) }
            throw SpecError("\(what): unknown init '\(text)' (expected xavier, msra, zero, or constant:<value>)", at: node)
        }
    }
}
