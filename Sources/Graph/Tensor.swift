import Synchronization

/// Counts buffer allocations of every `Tensor`, so tests and benchmarks can show that a
/// training step after the first allocates nothing.
public enum TensorAllocations {
    static let counter = Atomic<Int>(0)

    final class Scope: Sendable {
        let count = Atomic<Int>(0)
    }
    @TaskLocal static var scope: Scope?

    /// Allocations made so far in this process, by every thread.
    public static var count: Int { counter.load(ordering: .relaxed) }

    /// Runs `body` and counts the allocations made inside it by this task only, so that
    /// work running concurrently elsewhere does not show.
    public static func counting<R>(_ body: () throws -> R) rethrows -> (result: R, allocations: Int) {
        let scope = Scope()
        let result = try $scope.withValue(scope) { try body() }
        return (result, scope.count.load(ordering: .relaxed))
    }

    static func record() {
        counter.add(1, ordering: .relaxed)
        scope?.count.add(1, ordering: .relaxed)
    }
}

/// A dense, row-major array of scalars with a shape; the first axis is the sample axis.
///
/// `Tensor` is a class: the graph hands out its buffers by reference, and functions write
/// their outputs and diffs into buffers allocated once per batch shape. `reshape(to:)`
/// reuses the buffer while the new shape fits in its capacity, so a smaller last batch
/// costs no allocation.
public final class Tensor<Scalar: TensorScalar> {
    /// The extent of each axis; `[]` is a scalar holding one element.
    public private(set) var shape: [Int]
    /// The number of elements, the product of `shape`.
    public private(set) var count: Int
    /// How many elements the buffer holds.
    public private(set) var capacity: Int
    /// The buffer. Valid for as long as the tensor lives and is not grown by `reshape`.
    public private(set) var pointer: UnsafeMutablePointer<Scalar>

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "shape must not have negative extents, got \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = Swift.max(count, 1)
        self.pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        TensorAllocations.record()
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(shape: [Int], scalars: [Scalar]) {
        self.init(zeros: shape)
        precondition(scalars.count == count, "\(scalars.count) scalars do not fill shape \(shape)")
        scalars.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor of the given shape with every element `value`.
    public convenience init(shape: [Int], repeating value: Scalar) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    deinit { pointer.deallocate() }

    /// Gives the tensor a new shape, growing the buffer only when it is too small.
    /// The contents are unspecified afterwards, except that a shape of the same count keeps them.
    public func reshape(to newShape: [Int]) {
        let newCount = newShape.reduce(1, *)
        if newCount > capacity {
            pointer.deallocate()
            capacity = newCount
            pointer = .allocate(capacity: capacity)
            pointer.initialize(repeating: 0, count: capacity)
            TensorAllocations.record()
        }
        shape = newShape
        count = newCount
    }

    /// The element at a flat, row-major index.
    public subscript(index: Int) -> Scalar {
        get {
            precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
            pointer[index] = newValue
        }
    }

    /// The elements in row-major order, copied into an array.
    public var scalars: [Scalar] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The number of samples (the first axis), or 1 for a scalar.
    public var rows: Int { shape.first ?? 1 }

    /// Elements per sample: the product of every axis after the first.
    public var columns: Int { shape.isEmpty ? 1 : (shape[0] == 0 ? 0 : count / shape[0]) }

    /// Sets every element to `value`.
    public func fill(_ value: Scalar) { pointer.update(repeating: value, count: count) }

    /// Copies the elements of `other`, which must have the same count.
    public func copy(from other: Tensor<Scalar>) {
        precondition(other.count == count, "cannot copy \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    /// A new tensor with the same shape and elements.
    public func copy() -> Tensor<Scalar> {
        let t = Tensor(zeros: shape)
        t.copy(from: self)
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(count > 8 ? ", …" : "")]"
    }
}

/// Formats a shape as `[784, 256]`.
public func describe(shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
