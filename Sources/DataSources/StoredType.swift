import Foundation
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

/// Labels as class indices: the classes a set's labels imply, within a limit, so that a label
/// of 1e19 or 2³¹−1 in a file cannot size a network's output layer.
public enum ClassLabels {
    /// The most classes a data set's labels may imply (`--classes` may ask for more).
    public static let limit = 65_536

    /// max label + 1 when every label is a non-negative integer below `limit`, else nil.
    public static func count(maxLabel: Double, allIntegral: Bool) -> Int? {
        guard allIntegral, maxLabel >= 0, maxLabel < Double(limit) else { return nil }
        return Int(maxLabel) + 1
    }
}

/// Inputs are read from regular files only: a FIFO would block `open` forever, a device or
/// folder is not data.
public enum InputFile {
    /// Throws naming `path` unless it is a regular file (links followed).
    public static func requireRegular(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw DataSourceError(path, "no such file") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw DataSourceError(path, "is a folder, not a file")
        case S_IFIFO: throw DataSourceError(path, "is a FIFO, not a file")
        case S_IFCHR, S_IFBLK: throw DataSourceError(path, "is a device, not a file")
        default: throw DataSourceError(path, "is not a regular file")
        }
    }
}
