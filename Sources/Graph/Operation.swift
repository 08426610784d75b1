import Foundation
/// The shape of a node's value as the graph knows it before a batch arrives.
///
/// A batched shape has a leading sample axis whose length is the batch size; `dims` is then
/// the shape of one sample. An unbatched shape (a parameter, a loss) is `dims` as it is.
public struct NodeShape: Equatable, Sendable, CustomStringConvertible {
    /// Whether the first axis is the sample axis.
    public var batched: Bool
    /// The shape of one sample when batched, else the whole shape.
    public var dims: [Int]
    /// Whether the values are integer class labels (one per sample).
    public var isLabel: Bool

    public init(batched: Bool, dims: [Int], isLabel: Bool = false) {
        self.batched = batched
        self.dims = dims
        self.isLabel = isLabel
    }

    /// A scalar, such as a loss.
    public static let scalar = NodeShape(batched: false, dims: [])
    /// One integer label per sample.
    public static let labels = NodeShape(batched: true, dims: [], isLabel: true)

    /// Elements in one sample (or in the whole value when unbatched).
    public var elementCount: Int { dims.reduce(1, *) }
    /// Whether the value holds exactly one element and no sample axis.
    public var isScalar: Bool { !batched && elementCount == 1 }

    /// The concrete shape for a batch size.
    public func concrete(batch: Int) -> [Int] { batched ? [batch] + dims : dims }

    public var description: String {
        if isLabel { return "[N] labels" }
        return batched ? "[N" + dims.map { ", \($0)" }.joined() + "]" : describe(shape: dims)
    }
}

/// Where a function writes the diff of one input: overwrite the buffer, or add to it when an
/// earlier consumer (in backward order) has already written there.
public struct DiffTarget<Scalar: TensorScalar> {
    public let tensor: Tensor<Scalar>
    public let accumulate: Bool

    public init(_ tensor: Tensor<Scalar>, accumulate: Bool) {
        self.tensor = tensor
        self.accumulate = accumulate
    }

    /// Stores `value(i)` at every index, adding when accumulating.
    @inline(__always)
    public func store(_ value: (Int) -> Scalar) {
        let p = tensor.pointer
        let n = tensor.count
        if accumulate {
            for i in 0..<n { p[i] += value(i) }
        } else {
            for i in 0..<n { p[i] = value(i) }
        }
    }
}

/// A function node's computation. It holds no parameters: a dense layer is `dense(x, W, b)`.
///
/// `forward` writes the output into a buffer the graph allocated from `outputShape`;
/// `backward` receives the diff of the loss with respect to the output and writes the diff
/// for each input that needs one (`nil` marks an input nobody differentiates, such as the
/// data, which the function then need not compute). No function builds a Jacobian.
public protocol Operation: Sendable {
    /// The op's name in a network spec (`dense`, `relu`, …).
    var name: String { get }
    /// How many inputs it takes.
    var arity: ClosedRange<Int> { get }
    /// The output shape for these input shapes; throws `ShapeError` when they do not fit.
    func outputShape(for inputs: [NodeShape]) throws -> NodeShape
    /// Computes the output from the inputs.
    func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws
    /// Computes the diff of each input from the output's diff.
    func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?])
}

extension Operation {
    /// Allocates an output and runs `forward`: the plain `forward(inputs) -> output` form,
    /// for tests and one-off use (the graph reuses its buffers instead). `shapes` says which
    /// inputs carry a sample axis.
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], shapes: [NodeShape]) throws -> Tensor<T> {
        let shape = try outputShape(for: shapes)
        let batch = zip(inputs, shapes).first(where: { $0.1.batched })?.0.rows ?? 0
        let output = Tensor<T>(zeros: shape.concrete(batch: batch))
        try forward(inputs, into: output)
        return output
    }

    /// Allocates diffs and runs `backward`: returns one diff per input, each shaped like it.
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>
    ) -> [Tensor<T>] {
        let diffs = inputs.map { Tensor<T>(zeros: $0.shape) }
        backward(inputs, output: output, outputDiff: outputDiff,
                 into: diffs.map { DiffTarget($0, accumulate: false) })
        return diffs
    }
}

/// A shape that does not fit an op; the graph adds the node's name.
public struct ShapeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Sizes computed from shapes and counts that come from files and options, in checked
/// arithmetic: an absurd size is a refusal naming it, never an overflow trap or an
/// allocation the machine cannot make.
public enum SizeLimits {
    /// The most values one sample may hold (2³¹, about an 8 GiB float32 sample).
    public static let sampleElements = 1 << 31

    /// The product of `sizes`, or nil when it overflows or exceeds `limit`.
    public static func product(_ sizes: [Int], limit: Int = .max) -> Int? {
        var total = 1
        for size in sizes {
            guard size >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow, p <= limit else { return nil }
            total = p
        }
        return total
    }

    /// The sum of `counts`, or nil when it overflows (or any count is nil).
    public static func sum(_ counts: [Int?]) -> Int? {
        var total = 0
        for count in counts {
            guard let count else { return nil }
            let (s, overflow) = total.addingReportingOverflow(count)
            guard !overflow else { return nil }
            total = s
        }
        return total
    }

    /// The machine's memory in bytes.
    public static var memory: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// "12.3 GiB".
    public static func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
}
