import HDF5

/// How stored values become batch values.
public enum Scaling: Sendable, Equatable {
    /// Multiply by a factor (`--scale`).
    case multiply(Float)
    /// Divide by a number: uint8 images by 255, exactly as numpy's and PyTorch's `x / 255`.
    case divide(Float)

    /// The default for a stored type: ÷255 for uint8, ×1 otherwise.
    public static func `default`(for type: ElementType) -> Scaling { type == .uint8 ? .divide(255) : .multiply(1) }

    /// The factor this amounts to.
    public var factor: Float {
        switch self {
        case .multiply(let f): return f
        case .divide(let d): return 1 / d
        }
    }
}

/// Converts stored elements to float32, scaled: the one pass every backend makes from
/// stored bytes to a batch.
@inline(__always)
func convertToFloat(_ source: UnsafeRawPointer, type: ElementType, count: Int, scaling: Scaling, into destination: UnsafeMutablePointer<Float>) {
    if case .divide(let divisor) = scaling, type == .uint8 {
        let s = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { destination[i] = Float(s[i]) / divisor }
        return
    }
    let scale = scaling.factor
    switch type {
    case .uint8:
        let s = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { destination[i] = Float(s[i]) * scale }
    case .int8:
        let s = source.assumingMemoryBound(to: Int8.self)
        for i in 0..<count { destination[i] = Float(s[i]) * scale }
    case .int16:
        let s = source.assumingMemoryBound(to: Int16.self)
        for i in 0..<count { destination[i] = Float(s[i]) * scale }
    case .int32:
        let s = source.assumingMemoryBound(to: Int32.self)
        for i in 0..<count { destination[i] = Float(s[i]) * scale }
    case .int64:
        let s = source.assumingMemoryBound(to: Int64.self)
        for i in 0..<count { destination[i] = Float(s[i]) * scale }
    case .float32:
        let s = source.assumingMemoryBound(to: Float.self)
        if scale == 1 {
            destination.update(from: s, count: count)
        } else {
            for i in 0..<count { destination[i] = s[i] * scale }
        }
    case .float64:
        let s = source.assumingMemoryBound(to: Double.self)
        for i in 0..<count { destination[i] = Float(s[i] * Double(scale)) }
    }
}
