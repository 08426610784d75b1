import Foundation
import Graph
import HDF5

/// Writes any source as an HDF5 split set in Caffe's HDF5Data form: `files` files of
/// `data` [n] + sample shape and `label` float32 [n], plus a list file naming them.
/// Each file is written under a temporary name and renamed when complete; the list file
/// comes last, so an interrupted run never leaves a list naming a half-written file.
public struct HDF5SetWriter {
    /// How the set is stored.
    public struct Options: Sendable {
        public var files: Int
        /// The stored element type: uint8 (values × 255, rounded and clamped) or float32.
        public var dtype: ElementType
        /// Samples per chunk; nil for contiguous storage.
        public var chunkRows: Int?
        /// gzip level 0–9; needs chunks (64 samples a chunk when not given).
        public var gzipLevel: Int?

        public init(files: Int = 1, dtype: ElementType = .uint8, chunkRows: Int? = nil, gzipLevel: Int? = nil) {
            self.files = files
            self.dtype = dtype
            self.chunkRows = chunkRows
            self.gzipLevel = gzipLevel
        }
    }

    public let options: Options

    public init(options: Options) throws {
        guard options.files >= 1 else { throw DataSourceError("convert", "--files must be at least 1") }
        guard options.dtype == .uint8 || options.dtype == .float32 else {
            throw DataSourceError("convert", "--dtype must be uint8 or float32")
        }
        if let c = options.chunkRows, c < 1 { throw DataSourceError("convert", "--chunk must be at least 1") }
        if let l = options.gzipLevel, !(0...9).contains(l) { throw DataSourceError("convert", "gzip level must be 0–9") }
        var o = options
        if o.gzipLevel != nil && o.chunkRows == nil { o.chunkRows = 64 }
        self.options = o
    }

    /// The file names a set written to `destination` uses: for `dir/train.txt`,
    /// `dir/train-000.h5` …; for `dir/x.h5`, that file alone.
    public func memberPaths(for destination: String) -> [String] {
        if destination.hasSuffix(".h5") { return [destination] }
        let url = URL(fileURLWithPath: destination)
        let stem = url.deletingPathExtension().lastPathComponent
        let dir = url.deletingLastPathComponent()
        return (0..<options.files).map { dir.appendingPathComponent(String(format: "%@-%03d.h5", stem, $0)).path }
    }

    /// Writes `source` to `destination` (a list `.txt` or a single `.h5`). Returns the
    /// member files. `progress` gets the samples written so far.
    @discardableResult
    public func write(_ source: any DataSource, to destination: String, progress: (Int) -> Void = { _ in }) throws -> [String] {
        let paths = memberPaths(for: destination)
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw DataSourceError(directory, "is a file, not a folder") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw DataSourceError(directory, "cannot create the folder (\((error as NSError).localizedDescription))")
            }
        }
        let total = source.sampleCount
        let sizes = (0..<paths.count).map { k in total * (k + 1) / paths.count - total * k / paths.count }
        let iterator = try source.makeIterator(EpochOptions(batchSize: 1024, order: .sequential))
        let d = source.sampleElements
        var pending: Batch? = nil
        var pendingOffset = 0
        var written = 0
        var temporaries: [String] = []
        do {
            for (path, size) in zip(paths, sizes) {
                let temporary = AtomicFile.temporaryPath(for: path)
                temporaries.append(temporary)
                let file = try File.create(temporary)
                let data = try file.root.createDataset(
                    "data", type: options.dtype, shape: [size] + source.sampleShape,
                    chunkRows: options.chunkRows.map { min($0, max(size, 1)) }, gzipLevel: options.gzipLevel)
                var labels = [Float](repeating: 0, count: size)
                var row = 0
                var encoded = [UInt8](repeating: 0, count: options.dtype == .uint8 ? 1024 * d : 0)
                while row < size {
                    if pending == nil || pendingOffset == pending!.count {
                        guard let next = try iterator.next() else {
                            throw DataSourceError(source.name, "ended after \(written) of \(total) samples")
                        }
                        pending = next
                        pendingOffset = 0
                    }
                    let batch = pending!
                    let n = min(size - row, batch.count - pendingOffset)
                    let values = batch.data.pointer + pendingOffset * d
                    for i in 0..<n { labels[row + i] = batch.labels.pointer[pendingOffset + i] }
                    if options.dtype == .uint8 {
                        for i in 0..<n * d { encoded[i] = UInt8(max(0, min(255, (values[i] * 255).rounded()))) }
                        try encoded.withUnsafeBytes { try data.write(rows: row..<row + n, from: $0.baseAddress!, as: .uint8) }
                    } else {
                        try data.write(rows: row..<row + n, from: values, as: .float32)
                    }
                    row += n
                    pendingOffset += n
                    written += n
                    progress(written)
                }
                let label = try file.root.createDataset("label", type: .float32, shape: [size])
                try labels.withUnsafeBytes { try label.write(rows: 0..<size, from: $0.baseAddress!, as: .float32) }
                try data.close()
                try label.close()
                try file.close()
            }
            for (temporary, path) in zip(temporaries, paths) { try AtomicFile.commit(temporary, to: path) }
            if !destination.hasSuffix(".h5") {
                let base = URL(fileURLWithPath: destination).deletingLastPathComponent().path
                try ListFile.write(paths.map { String($0.dropFirst(base.count + 1)) }, to: destination)
            }
        } catch {
            for temporary in temporaries { try? FileManager.default.removeItem(atPath: temporary) }
            if let e = error as? HDF5Error { throw DataSourceError(e.file, e.description) }
            throw error
        }
        return paths
    }
}
