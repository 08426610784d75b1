import Foundation

/// Writes a data set in one backend's format. Reached like a reader, through a
/// `SourceLocation` (`hdf5:`, `lmdb:`, `raw:` or a path's kind):
///
/// ```swift
/// let writer = try SourceLocation(parsing: "lmdb:data/train").writer(WriterOptions(type: .uint8))
/// try writer.write(source) { done in print(done) }
/// ```
///
/// Every writer reads `source` once in sequential order, stores uint8 through `Quantizer`,
/// writes under temporary names and renames them into place when complete.
public protocol DataSetWriter {
    /// Where the set goes.
    var destination: SourceLocation { get }
    /// Writes every sample of `source`; returns the files or folders written. `progress`
    /// gets the number of samples written so far.
    @discardableResult
    func write(_ source: any DataSource, progress: (Int) -> Void) throws -> [String]
}

extension DataSetWriter {
    @discardableResult
    public func write(_ source: any DataSource) throws -> [String] { try write(source, progress: { _ in }) }
}

/// How a data set is stored when written. Options a backend cannot honour are refused when
/// its writer is made, naming the option.
public struct WriterOptions: Sendable, Equatable {
    /// HDF5 list: the number of files the samples are split into.
    public var files: Int
    /// The stored element type; nil keeps the source's when a writer can store it, else float32.
    public var type: StoredType?
    /// HDF5: samples per chunk; nil for contiguous storage (64 when compressed).
    public var chunkRows: Int?
    /// HDF5: how chunks are compressed.
    public var compression: Compression
    /// HDF5: shuffle the bytes of each chunk's elements before compressing (filter 2; for
    /// Blosc, its own byte shuffle).
    public var shuffle: Bool
    /// HDF5: append a Fletcher-32 checksum to every chunk (filter 3), checked on reading.
    public var fletcher32: Bool
    /// Replace an existing output of another kind (a file where an LMDB or raw folder goes).
    public var overwrite = false
    /// LMDB and HDF5: store each sample as an encoded image (JPEG or PNG) instead of pixels.
    public var encoding: ImageEncoding?
    /// HDF5 with `encoding`: one variable-length uint8 row per image (`vlen`, as h5py's
    /// `vlen_dtype(uint8)`), or all images in one flat uint8 dataset with an `offsets` index.
    public var encodedLayout: EncodedLayout = .vlen

    /// How encoded images are laid out in an HDF5 file.
    public enum EncodedLayout: String, Sendable, CaseIterable { case vlen, offsets }

    public init(files: Int = 1, type: StoredType? = nil, chunkRows: Int? = nil, compression: Compression = .none,
                shuffle: Bool = false, fletcher32: Bool = false) {
        self.files = files
        self.type = type
        self.chunkRows = chunkRows
        self.compression = compression
        self.shuffle = shuffle
        self.fletcher32 = fletcher32
    }

    /// Whether chunks pass through a filter (and so need chunking).
    public var filtered: Bool { compression != .none || shuffle || fletcher32 }

    /// The type stored for `source`: `type`, else the source's when writable, else float32.
    public func storedType(for source: any DataSource) -> StoredType {
        if let type { return type }
        if let stored = source.storedType, stored.isWritable { return stored }
        return .float32
    }

    /// Refuses options that only HDF5 honours, for a backend named `kind`.
    func checkHDF5Only(for kind: String, destination: String) throws {
        var given: [String] = []
        if files != 1 { given.append("--files") }
        if chunkRows != nil { given.append("--chunk") }
        if compression != .none { given.append("--compression") }
        if shuffle { given.append("--shuffle") }
        if fletcher32 { given.append("--fletcher32") }
        if let first = given.first {
            throw DataSourceError(destination, "\(first) applies to HDF5 sets only, not to \(kind)")
        }
    }

    func checkType() throws {
        if let type, !type.isWritable {
            throw DataSourceError("--dtype", "writers store \(StoredType.writable.map(\.rawValue).joined(separator: " or ")), not \(type.rawValue)")
        }
        guard files >= 1 else { throw DataSourceError("--files", "must be at least 1") }
        if let chunkRows, chunkRows < 1 { throw DataSourceError("--chunk", "must be at least 1") }
    }
}

/// How HDF5 chunks are compressed, as users write it: `none`, `gzip[:L]`, `lz4`,
/// `zstd[:L]` or `blosc[:CODEC[:L]]`. Files carry the standard filter ids and parameters
/// (deflate 1, LZ4 32004, Zstandard 32015, Blosc 32001), so h5py with hdf5plugin reads them.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    case none
    /// Deflate (HDF5 filter 1), level 0–9.
    case gzip(level: Int)
    /// LZ4 blocks (filter 32004), one block per chunk.
    case lz4
    /// Zstandard (filter 32015), level 1–22.
    case zstd(level: Int)
    /// Blosc (filter 32001) with one of its codecs (`blosclz`, `lz4`, `lz4hc`, `snappy`,
    /// `zlib`, `zstd`), level 0–9.
    case blosc(codec: String, level: Int)

    /// Parses the forms above; the defaults are gzip level 4, zstd level 3, blosc lz4 level 5.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func level(_ part: Int, _ range: ClosedRange<Int>, default value: Int) throws -> Int {
            guard parts.count > part else { return value }
            guard let l = Int(parts[part]), range.contains(l) else {
                throw DataSourceError("--compression", "'\(text)': the level of \(parts[0]) must be \(range.lowerBound)–\(range.upperBound)")
            }
            return l
        }
        let usage = "none, gzip[:LEVEL], lz4, zstd[:LEVEL], blosc[:CODEC[:LEVEL]]"
        switch parts[0] {
        case "none" where parts.count == 1: self = .none
        case "gzip" where parts.count <= 2: self = .gzip(level: try level(1, 0...9, default: 4))
        case "lz4" where parts.count == 1: self = .lz4
        case "zstd" where parts.count <= 2: self = .zstd(level: try level(1, 1...22, default: 3))
        case "blosc" where parts.count <= 3:
            let codec = parts.count > 1 ? parts[1] : "lz4"
            guard Blosc.compressors.contains(codec) else {
                throw DataSourceError("--compression", "'\(text)': Blosc's codec must be one of \(Blosc.compressors.joined(separator: ", "))")
            }
            self = .blosc(codec: codec, level: try level(2, 0...9, default: 5))
        default: throw DataSourceError("--compression", "'\(text)' is not one of: \(usage)")
        }
    }

    /// The form `init(parsing:)` reads.
    public var description: String {
        switch self {
        case .none: return "none"
        case .gzip(let level): return "gzip:\(level)"
        case .lz4: return "lz4"
        case .zstd(let level): return "zstd:\(level)"
        case .blosc(let codec, let level): return "blosc:\(codec):\(level)"
        }
    }
}

extension SourceLocation {
    /// A writer for this destination.
    public func writer(_ options: WriterOptions = WriterOptions()) throws -> any DataSetWriter {
        try options.checkType()
        switch kind {
        case .hdf5List, .hdf5File: return try HDF5SetWriter(destination: self, options: options)
        case .lmdb: return try LMDBWriter(destination: self, options: options)
        case .raw: return try RawWriter(destination: self, options: options)
        }
    }
}

/// Reads a source in sequential order and hands out blocks of consecutive samples, across
/// batch boundaries: what every writer consumes.
final class SampleStream {
    private let iterator: any BatchIterator
    private var batch: Batch?
    private var offset = 0
    private let elements: Int
    private let source: any DataSource
    /// Samples handed out so far.
    private(set) var delivered = 0

    init(_ source: any DataSource, batchSize: Int = 1024) throws {
        self.source = source
        iterator = try source.makeIterator(EpochOptions(batchSize: batchSize, order: .sequential))
        elements = source.sampleElements
    }

    /// The next block of at most `limit` samples (values and labels, valid until the next
    /// call), or nil at the end.
    func next(upTo limit: Int) throws -> (values: UnsafePointer<Float>, labels: UnsafePointer<Float>, count: Int)? {
        if batch == nil || offset == batch!.count {
            guard let next = try iterator.next() else { return nil }
            batch = next
            offset = 0
        }
        let b = batch!
        let n = min(limit, b.count - offset)
        defer {
            offset += n
            delivered += n
        }
        return (UnsafePointer(b.data.pointer + offset * elements), UnsafePointer(b.labels.pointer + offset), n)
    }

    /// Exactly `count` more samples, or an error naming the source when it ends early.
    func next(exactly count: Int) throws -> (values: UnsafePointer<Float>, labels: UnsafePointer<Float>, count: Int) {
        guard let block = try next(upTo: count) else {
            throw DataSourceError(source.name, "ended after \(delivered) of \(source.sampleCount) samples")
        }
        return block
    }
}

/// Makes sure the folder that will hold `path` exists.
func createParentFolder(of path: String) throws {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw DataSourceError(directory, "is a file, not a folder") }
        return
    }
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw DataSourceError(directory, "cannot create the folder (\((error as NSError).localizedDescription))")
    }
}
