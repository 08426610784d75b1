import Foundation

/// Where a data set lives, as users write it: a list file (`.txt`), an HDF5 file (`.h5`),
/// an LMDB folder, or a raw folder; `hdf5:`, `lmdb:` and `raw:` prefixes force the kind.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case hdf5List, hdf5File, lmdb, raw }
    public let kind: Kind
    public let path: String

    public init(kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    /// Parses `SRC` / `DST`.
    public init(parsing text: String) throws {
        func hdf5(_ p: String) -> Kind { p.hasSuffix(".h5") || p.hasSuffix(".hdf5") ? .hdf5File : .hdf5List }
        if text.hasPrefix("hdf5:") {
            let p = String(text.dropFirst(5))
            self.init(kind: hdf5(p), path: p)
        } else if text.hasPrefix("lmdb:") {
            self.init(kind: .lmdb, path: String(text.dropFirst(5)))
        } else if text.hasPrefix("raw:") {
            self.init(kind: .raw, path: String(text.dropFirst(4)))
        } else if text.hasSuffix(".txt") || text.hasSuffix(".h5") || text.hasSuffix(".hdf5") {
            self.init(kind: hdf5(text), path: text)
        } else if FileManager.default.fileExists(atPath: (text as NSString).appendingPathComponent("data.mdb")) {
            self.init(kind: .lmdb, path: text)
        } else if FileManager.default.fileExists(atPath: (text as NSString).appendingPathComponent("meta.json")) {
            self.init(kind: .raw, path: text)
        } else {
            throw DataSourceError(text, "cannot tell the kind of data set: name a list (.txt), an HDF5 file (.h5), or use an hdf5:, lmdb: or raw: prefix")
        }
        guard !path.isEmpty else { throw DataSourceError(text, "empty path") }
    }

    public var description: String { path }

    /// Whether the path names HDF5 (a list or a file).
    public var isHDF5: Bool { kind == .hdf5List || kind == .hdf5File }

    /// Opens the data set for reading. `keys` names the datasets of HDF5 files; `decodeThreads`
    /// and `decodedCacheBytes` set how compressed HDF5 chunks are decoded (the defaults: one
    /// thread per core, a quarter of memory).
    /// `images` says how encoded image records (JPEG, PNG in LMDB; variable-length or
    /// offset-indexed bytes in HDF5) are brought to one shape.
    public func open(keys: DatasetKeys = .caffe, scale: Float? = nil, batchSizeHint: Int = 256,
                     decodeThreads: Int? = nil, decodedCacheBytes: Int? = nil, images: ImageOptions = .standard) throws -> any DataSource {
        var images = images
        if images.transform.scale == nil, let scale { images.transform.scale = scale }
        if images.decodeThreads == nil { images.decodeThreads = decodeThreads }
        switch kind {
        case .hdf5List, .hdf5File:
            if EncodedHDF5Source.holdsEncodedImages(path, keys: keys) {
                return try EncodedHDF5Source(path: path, keys: keys, images: images)
            }
            return try HDF5ListSource(path: path, keys: keys, scale: scale, batchSizeHint: batchSizeHint,
                                      decodePool: decodeThreads.map { DecodePool(threads: $0) } ?? DecodePool(),
                                      decodedCacheBytes: decodedCacheBytes ?? HDF5ListSource.defaultDecodedCacheBytes)
        case .raw:
            return try RawSource(path: path, scale: scale)
        case .lmdb:
            return try LMDBSource(path: path, scale: scale, images: images)
        }
    }
}
