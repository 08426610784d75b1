import CLMDB

/// An LMDB failure: the environment's path, what was being done, and LMDB's own message
/// (`mdb_strerror`) or FeedBench's when it refused a file before LMDB saw it.
public struct LMDBError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let message: String
    /// LMDB's return code, or 0 when FeedBench found the problem.
    public let code: Int32

    public var description: String { "\(path): cannot \(operation) (\(message))" }

    init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
        self.message = String(cString: mdb_strerror(code))
    }

    init(path: String, operation: String, message: String) {
        self.path = path
        self.operation = operation
        self.code = 0
        self.message = message
    }

    /// Whether the map is full (the write can be replayed after growing it).
    public var isMapFull: Bool { code == MDB_MAP_FULL }
}

/// The linked liblmdb's version string.
public var lmdbVersion: String { String(cString: mdb_version(nil, nil, nil)) }

@inline(__always)
func check(_ code: Int32, _ path: String, _ operation: @autoclosure () -> String) throws {
    if code != 0 { throw LMDBError(path: path, operation: operation(), code: code) }
}
