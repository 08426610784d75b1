import CHDF5

/// The element types FeedBench reads and writes.
public enum ElementType: String, Sendable, CaseIterable {
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

    /// HDF5's native in-memory type for this element type.
    var nativeType: hid_t {
        switch self {
        case .uint8: return feedbench_H5T_NATIVE_UINT8()
        case .int8: return feedbench_H5T_NATIVE_INT8()
        case .int16: return feedbench_H5T_NATIVE_INT16()
        case .int32: return feedbench_H5T_NATIVE_INT32()
        case .int64: return feedbench_H5T_NATIVE_INT64()
        case .float32: return feedbench_H5T_NATIVE_FLOAT()
        case .float64: return feedbench_H5T_NATIVE_DOUBLE()
        }
    }

    /// Maps a stored datatype to an element type, or nil when FeedBench does not read it
    /// (strings, compounds, unsigned integers wider than a byte, half floats, …).
    init?(datatype: hid_t) {
        let size = H5Tget_size(datatype)
        switch H5Tget_class(datatype) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(datatype) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): self = .uint8
            case (1, true): self = .int8
            case (2, true): self = .int16
            case (4, true): self = .int32
            case (8, true): self = .int64
            default: return nil
            }
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: return nil
            }
        default:
            return nil
        }
    }

    /// A description of a stored datatype for messages (`uint16`, `string`, …).
    static func describe(datatype: hid_t) -> String {
        let size = H5Tget_size(datatype)
        switch H5Tget_class(datatype) {
        case H5T_INTEGER: return (H5Tget_sign(datatype) == H5T_SGN_2 ? "int" : "uint") + "\(size * 8)"
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_ARRAY: return "array"
        case H5T_ENUM: return "enum"
        default: return "unsupported type"
        }
    }
}
