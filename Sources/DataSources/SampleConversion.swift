import HDF5

/// Converts stored elements to float32, scaled: the one pass every backend makes from
/// stored bytes to a batch.
@inline(__always)
func convertToFloat(_ source: UnsafeRawPointer, type: ElementType, count: Int, scale: Float, into destination: UnsafeMutablePointer<Float>) {
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

/// The default scale for a stored type: 1/255 for uint8 (images), 1 otherwise.
public func defaultScale(for type: ElementType) -> Float { type == .uint8 ? 1 / 255 : 1 }
