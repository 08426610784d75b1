import Foundation
import HDF5

/// Writes any source as an HDF5 split set in Caffe's HDF5Data form: `files` files of
/// `data` [n] + sample shape and `label` float32 [n], plus a list file naming them (or one
/// `.h5` alone). Each file is written under a temporary name and renamed when complete; the
/// list file comes last, so an interrupted run never leaves a list naming a half-written file.
public struct HDF5SetWriter: DataSetWriter {
    public let destination: SourceLocation
    public let options: WriterOptions

    public init(destination: SourceLocation, options: WriterOptions) throws {
        if destination.kind == .hdf5File && options.files != 1 {
            throw DataSourceError(destination.path, "--files \(options.files) needs a list file (.txt) as the destination")
        }
        var o = options
        if o.compression != .none && o.chunkRows == nil { o.chunkRows = 64 }
        self.destination = destination
        self.options = o
    }

    /// The file names a set written to `destination` uses: for `dir/train.txt`,
    /// `dir/train-000.h5` …; for `dir/x.h5`, that file alone.
    public var memberPaths: [String] {
        let path = destination.path
        if destination.kind == .hdf5File { return [path] }
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let dir = url.deletingLastPathComponent()
        return (0..<options.files).map { dir.appendingPathComponent(String(format: "%@-%03d.h5", stem, $0)).path }
    }

    @discardableResult
    public func write(_ source: any DataSource, progress: (Int) -> Void) throws -> [String] {
        let paths = memberPaths
        try createParentFolder(of: destination.path)
        let type = options.storedType(for: source)
        let total = source.sampleCount
        let sizes = (0..<paths.count).map { k in total * (k + 1) / paths.count - total * k / paths.count }
        let stream = try SampleStream(source)
        let d = source.sampleElements
        var temporaries: [String] = []
        let gzip: Int? = if case .gzip(let level) = options.compression { level } else { nil }
        do {
            for (path, size) in zip(paths, sizes) {
                let temporary = AtomicFile.temporaryPath(for: path)
                temporaries.append(temporary)
                let file = try File.create(temporary)
                let data = try file.root.createDataset(
                    "data", type: ElementType(type), shape: [size] + source.sampleShape,
                    chunkRows: options.chunkRows.map { min($0, max(size, 1)) }, gzipLevel: gzip)
                var labels = [Float](repeating: 0, count: size)
                var bytes = [UInt8](repeating: 0, count: type == .uint8 ? 1024 * d : 0)
                var row = 0
                while row < size {
                    let block = try stream.next(exactly: min(1024, size - row))
                    for i in 0..<block.count { labels[row + i] = block.labels[i] }
                    if type == .uint8 {
                        try bytes.withUnsafeMutableBufferPointer { out in
                            try Quantizer.uint8(block.values, count: block.count * d, into: out.baseAddress!)
                            try data.write(rows: row..<row + block.count, from: out.baseAddress!, as: .uint8)
                        }
                    } else {
                        try data.write(rows: row..<row + block.count, from: block.values, as: .float32)
                    }
                    row += block.count
                    progress(stream.delivered)
                }
                let label = try file.root.createDataset("label", type: .float32, shape: [size])
                try labels.withUnsafeBytes { try label.write(rows: 0..<size, from: $0.baseAddress!, as: .float32) }
                try data.close()
                try label.close()
                try file.close()
            }
            for (temporary, path) in zip(temporaries, paths) { try AtomicFile.commit(temporary, to: path) }
            if destination.kind == .hdf5List {
                let base = URL(fileURLWithPath: destination.path).deletingLastPathComponent().path
                try ListFile.write(paths.map { String($0.dropFirst(base.count + 1)) }, to: destination.path)
            }
        } catch {
            for temporary in temporaries { try? FileManager.default.removeItem(atPath: temporary) }
            if let e = error as? HDF5Error { throw DataSourceError(e.file, e.description) }
            throw error
        }
        return paths
    }
}
