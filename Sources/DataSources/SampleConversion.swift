/// How stored values become batch values.
public enum Scaling: Sendable, Equatable {
    /// Multiply by a factor (`--scale`).
    case multiply(Float)
    /// Divide by a number: uint8 images by 255, exactly as numpy's and PyTorch's `x / 255`.
    case divide(Float)

    /// The default for a stored type: ÷255 for uint8, ×1 otherwise.
    public static func `default`(for type: StoredType) -> Scaling { type == .uint8 ? .divide(255) : .multiply(1) }

    /// `--scale X` when given, else the type's default.
    public static func from(_ scale: Float?, for type: StoredType) -> Scaling {
        scale.map { .multiply($0) } ?? .default(for: type)
    }

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
func convertToFloat(_ source: UnsafeRawPointer, type: StoredType, count: Int, scaling: Scaling, into destination: UnsafeMutablePointer<Float>) {
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

/// Batch values (in [0, 1] for image data) back to stored uint8: `value × 255`, rounded and
/// clamped to 0…255. Every writer that stores uint8 goes through here.
public enum Quantizer {
    /// One value.
    @inline(__always)
    public static func uint8(_ value: Float) -> UInt8 {
        UInt8(Swift.max(0, Swift.min(255, (value * 255).rounded())))
    }

    /// `count` values into `destination`; throws when a value is NaN (it has no uint8).
    public static func uint8(_ values: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<UInt8>) throws {
        for i in 0..<count {
            let v = values[i]
            guard !v.isNaN else { throw QuantizerError(index: i) }
            destination[i] = uint8(v)
        }
    }
}

/// A value that cannot be stored as uint8.
public struct QuantizerError: Error, CustomStringConvertible {
    /// The value's position in the block being written.
    public let index: Int
    public var description: String { "value \(index) of a sample block is NaN and cannot be stored as uint8 (check --scale)" }
}

