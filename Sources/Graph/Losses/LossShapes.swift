/// A label that is not a class index of the loss it feeds.
public struct LabelError: Error, CustomStringConvertible {
    public let sample: Int
    public let label: Double
    public let classes: Int
    public var description: String {
        "label \(label.formatted()) of sample \(sample) is not a class index in 0..<\(classes)"
    }
}

extension Double {
    func formatted() -> String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

/// Shape rule of the classification losses: scores [N, K] and labels [N].
func classificationLossShape(_ op: String, _ inputs: [NodeShape]) throws -> NodeShape {
    let scores = inputs[0], labels = inputs[1]
    guard scores.batched, scores.dims.count == 1, !scores.isLabel else {
        throw ShapeError("scores must have shape [N, classes], got \(scores)")
    }
    guard labels.isLabel else { throw ShapeError("second input must be labels (declare it as `label`), got \(labels)") }
    return .scalar
}

/// Reads label `i` as a class index, or throws when it is not one.
@inline(__always)
func classIndex<T: TensorScalar>(_ labels: UnsafeMutablePointer<T>, _ i: Int, classes: Int) throws -> Int {
    let v = labels[i]
    guard v >= 0, v < T(classes), v == v.rounded(.towardZero) else {
        throw LabelError(sample: i, label: Double(v), classes: classes)
    }
    return Int(v)
}
