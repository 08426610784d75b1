/// Why a graph cannot be built or run. Every case names the node it concerns.
public enum GraphError: Error, CustomStringConvertible, Equatable {
    case duplicateName(String)
    case unknownInput(node: String, input: String)
    case wrongInputCount(node: String, op: String, expected: ClosedRange<Int>, got: Int)
    case shapeMismatch(node: String, op: String, message: String)
    case cycle([String])
    case unknownLoss(String)
    case lossNotScalar(node: String, shape: String)
    case invalidParameterShape(name: String, shape: [Int])
    case missingFeed(input: String)
    case unknownFeed(name: String)
    case feedShape(input: String, expected: String, got: [Int])
    case batchMismatch(input: String, expected: Int, got: Int)
    case label(node: String, message: String)
    /// Sizes the machine cannot hold (or that overflow when counted).
    case tooLarge(String)

    public var description: String {
        switch self {
        case .duplicateName(let n): return "name '\(n)' is used twice"
        case .unknownInput(let node, let input): return "node '\(node)': unknown input '\(input)'"
        case .wrongInputCount(let node, let op, let expected, let got):
            let want = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound) or \(expected.upperBound)"
            return "node '\(node)': \(op) takes \(want) inputs, got \(got)"
        case .shapeMismatch(let node, let op, let message): return "node '\(node)' (\(op)): \(message)"
        case .cycle(let path): return "cycle through nodes " + path.joined(separator: " → ")
        case .unknownLoss(let n): return "loss '\(n)' is not a node of the network"
        case .lossNotScalar(let node, let shape): return "loss '\(node)' must be a scalar, but has shape \(shape)"
        case .invalidParameterShape(let name, let shape): return "parameter '\(name)': invalid shape \(describe(shape: shape))"
        case .missingFeed(let input): return "input '\(input)' was not fed"
        case .unknownFeed(let name): return "'\(name)' is not an input of the network"
        case .feedShape(let input, let expected, let got):
            return "input '\(input)' expects shape \(expected), got \(describe(shape: got))"
        case .batchMismatch(let input, let expected, let got):
            return "input '\(input)' has \(got) samples, other inputs have \(expected)"
        case .label(let node, let message): return "node '\(node)': \(message)"
        case .tooLarge(let message): return message
        }
    }
}
