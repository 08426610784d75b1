/// The element types samples are stored as, in any backend. A source reports the type its
/// files hold; a writer stores uint8 or float32.
public enum StoredType: String, Sendable, CaseIterable {
    case uint8, int8, int16, int32, int64, float32, float64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    /// The types a writer can store.
    public static let writable: [StoredType] = [.uint8, .float32]
    /// Whether a writer can store this type.
    public var isWritable: Bool { Self.writable.contains(self) }
}
