import DataSources
import Foundation

/// A backend's data, written and opened: what the cases of that backend read.
public struct StoredLayout {
    /// The source FeedBench reads (for `memory`, the data in RAM).
    public let source: any DataSource
    /// Its files, for bytes on disk and cold epochs (nil for data in memory).
    public let files: (any FileBacked)?
    /// The format the rows record (an `existing` source's own kind).
    public let format: Format
    /// The layout in words, for the CSV.
    public let layout: String
    /// The stored element type, for the CSV.
    public let dtype: String
    /// What a peer opens to read the same data: a list file, an `.h5`, or an LMDB folder.
    public let location: SourceLocation?
    /// The HDF5 dataset names the peer must read.
    public let keys: DatasetKeys
    /// Which stored files these are: the layout's folder, or the source's path.
    public let id: String
    /// Opens another handle on the same files (nil where handles are shared: data in memory,
    /// and LMDB, whose opening walks every record).
    public var reopen: (() throws -> any DataSource)? = nil
}

/// Writes each backend's layout of a data set once, under `data_dir/<set>-<format>-<hash of
/// everything that changes its bytes>`, and reuses it while that is unchanged (a `complete`
/// stamp marks a finished layout). Existing sources are opened where they are.
public final class LayoutStore {
    let dataDirectory: String
    let batchSizeHint: Int
    /// Lines for the user.
    var log: (String) -> Void
    /// How encoded images are decoded (the config's `transform`).
    var transform = ImageTransform.none

    init(dataDirectory: String, batchSizeHint: Int, log: @escaping (String) -> Void) {
        self.dataDirectory = dataDirectory
        self.batchSizeHint = batchSizeHint
        self.log = log
    }

    /// The data set every layout is written from: generated, or the source as given.
    func baseSource(_ dataset: BenchmarkConfig.DataSet) throws -> any DataSource {
        if let source = dataset.source { return try SourceLocation(parsing: source).open(keys: dataset.keys, batchSizeHint: batchSizeHint) }
        return try SyntheticSource(samples: dataset.samples, shape: dataset.shape, classes: dataset.classes, seed: dataset.seed,
                                   content: dataset.content ?? .default(for: dataset.shape))
    }

    /// The folder a layout lives in: keyed by everything that changes its bytes.
    func folder(_ backend: BenchmarkConfig.Backend, dataset: BenchmarkConfig.DataSet) -> String {
        let w = backend.writer
        var description = "\(backend.kind.rawValue)|\(w.files)|\(w.type?.rawValue ?? "")|\(w.chunkRows ?? 0)|\(w.compression)|"
        if w.shuffle || w.fletcher32 { description += "shuffle \(w.shuffle) fletcher32 \(w.fletcher32)|" }
        if let encoding = w.encoding { description += "encode \(encoding) \(w.encodedLayout.rawValue)|" }
        if let source = dataset.source {
            let modified = (try? FileManager.default.attributesOfItem(atPath: source)[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            description += "source \(source) \(modified) \(dataset.keys)"
        } else {
            description += "generate \(dataset.samples) \(dataset.shape) \(dataset.classes) \(dataset.seed) \((dataset.content ?? .default(for: dataset.shape)).rawValue)"
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in description.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "\(dataDirectory)/\(dataset.name)-\(backend.kind.rawValue)-\(String(hash, radix: 16))"
    }

    /// Writes the backend's layout when it is not there yet, and opens it.
    func open(_ backend: BenchmarkConfig.Backend, dataset: BenchmarkConfig.DataSet, base: () throws -> any DataSource) throws -> StoredLayout {
        switch backend.kind {
        case .memory:
            return StoredLayout(source: try MemorySource(loading: base()), files: nil, format: .memory, layout: backend.layout,
                                dtype: "float32", location: nil, keys: .caffe, id: "memory")
        case .existing:
            return try openExisting(backend, dataset: dataset)
        case .hdf5, .lmdb, .raw:
            let folder = folder(backend, dataset: dataset)
            let location: SourceLocation
            switch backend.kind {
            case .hdf5: location = SourceLocation(kind: .hdf5List, path: "\(folder)/set/train.txt")
            case .lmdb: location = SourceLocation(kind: .lmdb, path: "\(folder)/lmdb")
            default: location = SourceLocation(kind: .raw, path: "\(folder)/raw")
            }
            let stamp = "\(folder)/complete"
            if !FileManager.default.fileExists(atPath: stamp) {
                log("writing \(dataset.name) as \(backend.name) (\(backend.layout)) under \(folder)")
                try? FileManager.default.removeItem(atPath: folder)
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                var options = backend.kind == .hdf5 ? backend.writer : WriterOptions(type: backend.writer.type)
                options.encoding = backend.writer.encoding
                try location.writer(options).write(base())
                FileManager.default.createFile(atPath: stamp, contents: Data())
            }
            let source: any DataSource & FileBacked
            switch backend.kind {
            case .hdf5 where backend.writer.encoding != nil: source = try EncodedHDF5Source(path: location.path, images: images(backend))
            case .hdf5: source = try openHDF5(location.path, keys: .caffe, backend)
            case .lmdb: source = try LMDBSource(path: location.path, readahead: backend.readahead, decoder: backend.decoder, images: images(backend))
            default: source = try RawSource(path: location.path)
            }
            return StoredLayout(source: source, files: source, format: Format(location.kind), layout: backend.layout,
                                dtype: source.storedType?.rawValue ?? "", location: location, keys: .caffe,
                                id: URL(fileURLWithPath: folder).lastPathComponent,
                                reopen: reopener(location, keys: .caffe, backend))
        }
    }

    /// An existing source read as it is stored; its layout described from what it holds.
    private func openExisting(_ backend: BenchmarkConfig.Backend, dataset: BenchmarkConfig.DataSet) throws -> StoredLayout {
        let path = backend.source ?? dataset.source!
        let keys = backend.keys ?? dataset.keys
        let location = try SourceLocation(parsing: path)
        let layout: String
        let files: any FileBacked
        let source: any DataSource
        switch location.kind {
        case .hdf5List where EncodedHDF5Source.holdsEncodedImages(location.path, keys: keys),
             .hdf5File where EncodedHDF5Source.holdsEncodedImages(location.path, keys: keys):
            let hdf5 = try EncodedHDF5Source(path: location.path, keys: keys, images: images(backend))
            (source, files) = (hdf5, hdf5)
            layout = "\(hdf5.files.count) file\(hdf5.files.count == 1 ? "" : "s"), \(hdf5.imageFormats.map(\.rawValue).joined(separator: "+")) images, \(hdf5.layout.rawValue) (as stored)"
        case .hdf5List, .hdf5File:
            let hdf5 = try openHDF5(location.path, keys: keys, backend)
            (source, files) = (hdf5, hdf5)
            layout = Self.describe(hdf5)
        case .lmdb:
            let lmdb = try LMDBSource(path: location.path, readahead: backend.readahead, decoder: backend.decoder, images: images(backend))
            (source, files) = (lmdb, lmdb)
            layout = lmdb.imageFormats.isEmpty ? "Datum records (as stored)" : "Datum records, \(lmdb.imageFormats.map(\.rawValue).joined(separator: "+")) images (as stored)"
        case .raw:
            let raw = try RawSource(path: location.path)
            (source, files) = (raw, raw)
            layout = "flat file (as stored)"
        }
        return StoredLayout(source: source, files: files, format: Format(location.kind), layout: layout,
                            dtype: source.storedType?.rawValue ?? "", location: location, keys: keys,
                            id: location.path + (keys == .caffe ? "" : " \(keys)"), reopen: reopener(location, keys: keys, backend))
    }

    private func reopener(_ location: SourceLocation, keys: DatasetKeys, _ backend: BenchmarkConfig.Backend) -> (() throws -> any DataSource)? {
        switch location.kind {
        case .hdf5List where backend.writer.encoding != nil || EncodedHDF5Source.holdsEncodedImages(location.path, keys: keys),
             .hdf5File where backend.writer.encoding != nil || EncodedHDF5Source.holdsEncodedImages(location.path, keys: keys):
            return { [self] in try EncodedHDF5Source(path: location.path, keys: keys, images: images(backend)) }
        case .hdf5List, .hdf5File: return { [self] in try openHDF5(location.path, keys: keys, backend) }
        case .raw: return { try RawSource(path: location.path) }
        case .lmdb: return nil
        }
    }

    /// How a backend's encoded images are decoded: the config's transform, its decode threads.
    func images(_ backend: BenchmarkConfig.Backend) -> ImageOptions {
        ImageOptions(transform: transform, decodeThreads: backend.decodeThreads)
    }

    private func openHDF5(_ path: String, keys: DatasetKeys, _ backend: BenchmarkConfig.Backend) throws -> HDF5ListSource {
        try HDF5ListSource(path: path, keys: keys, readPath: backend.readPath, batchSizeHint: batchSizeHint,
                           decodePool: backend.decodeThreads.map { DecodePool(threads: $0) } ?? DecodePool(),
                           decodedCacheBytes: backend.decodedCacheBytes ?? HDF5ListSource.defaultDecodedCacheBytes)
    }

    /// An HDF5 set's layout in words, from its first file: `2 files, chunk 64, deflate(4)`.
    static func describe(_ source: HDF5ListSource) -> String {
        let data = source.members[0].data
        var parts = ["\(source.members.count) file\(source.members.count == 1 ? "" : "s")"]
        parts.append(data.chunkShape.map { "chunk \($0[0])" } ?? data.layout.rawValue)
        parts += data.filters.map(\.description)
        if source.keys != .caffe { parts.append(source.keys.description) }
        if source.readPath == .library { parts.append("H5Dread") }
        return parts.joined(separator: ", ") + " (as stored)"
    }
}
