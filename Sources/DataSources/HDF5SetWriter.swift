import Foundation
import HDF5

/// Writes any source as an HDF5 split set in Caffe's HDF5Data form: `files` files of
/// `data` [n] + sample shape and `label` float32 [n], plus a list file naming them (or one
/// `.h5` alone). Each file is written under a temporary name and renamed when complete; the
/// list file comes last, so an interrupted run never leaves a list naming a half-written file.
public struct HDF5SetWriter: DataSetWriter {
    public let destination: SourceLocation
    public let options: WriterOptions

    /// The threads chunks are compressed on.
    public var pool = DecodePool()

    public init(destination: SourceLocation, options: WriterOptions) throws {
        if destination.kind == .hdf5File && options.files != 1 {
            throw DataSourceError(destination.path, "--files \(options.files) needs a list file (.txt) as the destination")
        }
        var o = options
        if o.filtered && o.chunkRows == nil { o.chunkRows = 64 }
        self.destination = destination
        self.options = o
    }

    /// The filter pipeline of the data, with the standard ids and complete parameters (they
    /// are stored as given: HDF5 runs no plugin to fill them in).
    func filters(elementSize: Int, chunkBytes: Int) -> [Filter] {
        var filters: [Filter] = []
        let isBlosc = if case .blosc = options.compression { true } else { false }
        if options.shuffle && !isBlosc { filters.append(Filter(id: 2, flags: 1, values: [UInt32(elementSize)])) }
        switch options.compression {
        case .none: break
        case .gzip(let level): filters.append(Filter(id: 1, flags: 1, values: [UInt32(level)]))
        case .lz4: filters.append(Filter(id: 32004, flags: 1, values: [0]))
        case .zstd(let level): filters.append(Filter(id: 32015, flags: 1, values: [UInt32(level)]))
        case .blosc(let codec, let level):
            let code = UInt32(Blosc.compressors.firstIndex(of: codec) ?? 1)
            filters.append(Filter(id: 32001, flags: 1, values: [2, 2, UInt32(elementSize), UInt32(chunkBytes), UInt32(level),
                                                                options.shuffle ? 1 : 0, code]))
        }
        if options.fletcher32 { filters.append(Filter(id: 3, flags: 0, values: [])) }
        return filters
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
        // Before any work: never over a device, FIFO or socket, nor a folder.
        for path in paths { try AtomicFile.checkReplaceable(path, as: .file, overwrite: options.overwrite, own: .hdf5) }
        if destination.kind == .hdf5List { try AtomicFile.checkReplaceable(destination.path, as: .file, overwrite: options.overwrite, own: .listFile) }
        try createParentFolder(of: destination.path)
        if let encoding = options.encoding { return try writeEncoded(source, as: encoding, paths: paths, progress: progress) }
        let type = options.storedType(for: source)
        let total = source.sampleCount
        let sizes = (0..<paths.count).map { k in total * (k + 1) / paths.count - total * k / paths.count }
        let stream = try SampleStream(source)
        let d = source.sampleElements
        var temporaries: [String] = []
        var firstRow = 0  // the source row the current file starts at
        do {
            for (path, size) in zip(paths, sizes) {
                let temporary = AtomicFile.temporaryPath(for: path)
                temporaries.append(temporary)
                let file = try File.create(temporary)
                try file.root.setAttribute(OwnOutput.hdf5Attribute, string: "data set")
                let chunkRows = options.chunkRows.map { min($0, max(size, 1)) }
                let chunkBytes = (chunkRows ?? 1) * d * type.size
                let filters = options.filtered ? filters(elementSize: type.size, chunkBytes: chunkBytes) : []
                let data = try file.root.createDataset("data", type: ElementType(type), shape: [size] + source.sampleShape,
                                                       chunkRows: chunkRows, filters: filters)
                var labels = [Float](repeating: 0, count: size)
                let lender = (source as? any StoredRows).flatMap { $0.rowType == type ? $0 : nil }
                // Chunked data goes in whole chunks (H5Dwrite_chunk): HDF5 laying chunks out
                // from row writes itself was 40× slower than h5py writing the same file.
                if let chunkRows {
                    let pipeline = try FilterPipeline.make(filters, elementSize: type.size)
                    try writeChunks(stream, lender: lender, first: firstRow, into: data, rows: size, chunkRows: chunkRows, type: type,
                                    pipeline: pipeline, labels: &labels, progress: progress)
                } else if let lender {
                    try writeStoredRows(lender, first: firstRow, into: data, rows: size, labels: &labels, progress: progress)
                } else {
                    try writeRows(stream, into: data, rows: size, type: type, labels: &labels, progress: progress)
                }
                let label = try file.root.createDataset("label", type: .float32, shape: [size])
                try labels.withUnsafeBytes { try label.write(rows: 0..<size, from: $0.baseAddress!, as: .float32) }
                try data.close()
                try label.close()
                try file.close()
                firstRow += size
            }
            try publish(temporaries, as: paths)
        } catch {
            for temporary in temporaries { AtomicFile.discard(temporary) }
            if let e = error as? HDF5Error { throw DataSourceError(e.file, e.description) }
            throw error
        }
        return paths
    }

    /// Stores rows through HDF5 (no filters: contiguous, or chunks HDF5 lays out itself).
    private func writeRows(_ stream: SampleStream, into data: Dataset, rows size: Int, type: StoredType, labels: inout [Float],
                           progress: (Int) -> Void) throws {
        let d = data.rowElements
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
    }

    /// Stores rows lent as they are stored, through HDF5 (no filters).
    private func writeStoredRows(_ lender: any StoredRows, first: Int, into data: Dataset, rows size: Int, labels: inout [Float],
                                 progress: (Int) -> Void) throws {
        let rowBytes = data.rowElements * lender.rowType.size
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1024 * rowBytes, alignment: 64)
        defer { buffer.deallocate() }
        var row = 0
        while row < size {
            let n = min(1024, size - row)
            try labels.withUnsafeMutableBufferPointer { try lender.copyStoredRows(first + row..<first + row + n, into: buffer, labels: $0.baseAddress! + row) }
            try data.write(rows: row..<row + n, from: buffer, as: ElementType(lender.rowType))
            row += n
            progress(first + row)
        }
    }

    /// Fills whole chunks (the last one padded with zeros, as HDF5 stores it), compresses a
    /// group of them in parallel on the pool, and writes each with `H5Dwrite_chunk`. When the
    /// source lends its stored rows, each task copies its chunk's rows itself.
    private func writeChunks(_ stream: SampleStream, lender: (any StoredRows)?, first: Int, into data: Dataset, rows size: Int,
                             chunkRows: Int, type: StoredType, pipeline: FilterPipeline, labels: inout [Float],
                             progress: (Int) -> Void) throws {
        let d = data.rowElements, rowBytes = d * type.size, chunkBytes = chunkRows * rowBytes
        let group = max(2, 8 * pool.threads)
        let chunks = UnsafeMutableRawPointer.allocate(byteCount: group * chunkBytes, alignment: 64)
        defer { chunks.deallocate() }
        let encoded = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: group)
        encoded.initialize(repeating: [])
        defer { encoded.deinitialize().deallocate() }
        let contexts = ContextPool { EncodeContext() }
        let trailing = Array(repeating: 0, count: data.shape.count - 1)
        var row = 0
        if let lender {
            let box = UncheckedBox(lender)
            try labels.withUnsafeMutableBufferPointer { labelBuffer in
                let labelOut = UncheckedBox(labelBuffer.baseAddress!)
                while row < size {
                    let firstChunk = row / chunkRows
                    let count = min(group, (size - row + chunkRows - 1) / chunkRows)
                    try pool.run(count) { i in
                        let start = (firstChunk + i) * chunkRows, rowsHere = min(chunkRows, size - start)
                        let chunk = chunks + i * chunkBytes
                        try box.value.copyStoredRows(first + start..<first + start + rowsHere, into: chunk, labels: labelOut.value + start)
                        if rowsHere < chunkRows { (chunk + rowsHere * rowBytes).initializeMemory(as: UInt8.self, repeating: 0, count: (chunkRows - rowsHere) * rowBytes) }
                        encoded[i] = try contexts.with { try pipeline.encode(UnsafeRawBufferPointer(start: chunk, count: chunkBytes), context: $0) }
                    }
                    for i in 0..<count {
                        try encoded[i].withUnsafeBytes { try data.writeChunk(at: [(firstChunk + i) * chunkRows] + trailing, bytes: $0) }
                    }
                    row = min(size, (firstChunk + count) * chunkRows)
                    progress(first + row)
                }
            }
            return
        }
        while row < size {
            // Fill up to `group` chunks.
            let first = row / chunkRows
            var filled = 0
            while filled < group && row < size {
                let chunk = chunks + filled * chunkBytes
                let rowsHere = min(chunkRows, size - row)
                var done = 0
                while done < rowsHere {
                    let block = try stream.next(exactly: rowsHere - done)
                    for i in 0..<block.count { labels[row + done + i] = block.labels[i] }
                    let target = chunk + done * rowBytes
                    if type == .uint8 {
                        try Quantizer.uint8(block.values, count: block.count * d, into: target.assumingMemoryBound(to: UInt8.self))
                    } else {
                        target.copyMemory(from: block.values, byteCount: block.count * rowBytes)
                    }
                    done += block.count
                }
                if rowsHere < chunkRows { (chunk + rowsHere * rowBytes).initializeMemory(as: UInt8.self, repeating: 0, count: (chunkRows - rowsHere) * rowBytes) }
                row += rowsHere
                filled += 1
            }
            try pool.run(filled) { i in
                encoded[i] = try contexts.with { try pipeline.encode(UnsafeRawBufferPointer(start: chunks + i * chunkBytes, count: chunkBytes), context: $0) }
            }
            for i in 0..<filled {
                try encoded[i].withUnsafeBytes { try data.writeChunk(at: [(first + i) * chunkRows] + trailing, bytes: $0) }
            }
            progress(stream.delivered)
        }
    }
}

extension HDF5SetWriter {
    /// Writes every sample as an encoded image: per file, `data` as [n] variable-length uint8
    /// (or, with `encodedLayout = .offsets`, one flat uint8 dataset of all images and an
    /// `offsets` [n + 1] int64 index) and `label` float32 [n]. A file's images are encoded
    /// (in parallel) and held in memory until it is written.
    func writeEncoded(_ source: any DataSource, as encoding: ImageEncoding, paths: [String], progress: (Int) -> Void) throws -> [String] {
        guard !options.filtered else {
            throw DataSourceError(destination.path, "--encode stores images already compressed; --compression, --shuffle and --fletcher32 do not apply")
        }
        let encoder = try ImageBlockEncoder(encoding: encoding, shape: source.sampleShape, destination: destination.path)
        let total = source.sampleCount
        let sizes = (0..<paths.count).map { k in total * (k + 1) / paths.count - total * k / paths.count }
        let stream = try SampleStream(source, batchSize: 256)
        var temporaries: [String] = []
        var written = 0
        do {
            for (path, size) in zip(paths, sizes) {
                let temporary = AtomicFile.temporaryPath(for: path)
                temporaries.append(temporary)
                var images: [[UInt8]] = []
                var labels: [Float] = []
                images.reserveCapacity(size)
                labels.reserveCapacity(size)
                while images.count < size, let block = try stream.next(upTo: min(256, size - images.count)) {
                    images += try encoder.encode(block.values, count: block.count)
                    labels += UnsafeBufferPointer(start: block.labels, count: block.count)
                    written += block.count
                    progress(written)
                }
                let file = try File.create(temporary)
                try file.root.setAttribute(OwnOutput.hdf5Attribute, string: "data set")
                try file.root.setAttribute("encoding", string: encoding.format.rawValue)
                switch options.encodedLayout {
                case .vlen:
                    let data = try file.root.createVariableLengthBytesDataset("data", rows: images.count)
                    var start = 0
                    while start < images.count {  // in blocks, so the copy HDF5 reads from stays small
                        let end = min(images.count, start + 1024)
                        try data.writeVariableLength(rows: start..<end, Array(images[start..<end]))
                        start = end
                    }
                    try data.close()
                case .offsets:
                    var offsets: [Int64] = [0]
                    for image in images { offsets.append(offsets.last! + Int64(image.count)) }
                    let bytes = Int(offsets.last!)
                    let data = try file.root.createDataset("data", type: .uint8, shape: [bytes])
                    var start = 0, row = 0
                    var buffer: [UInt8] = []
                    while row < images.count {  // in blocks of about 64 MB
                        buffer.removeAll(keepingCapacity: true)
                        while row < images.count && buffer.count < 64 << 20 { buffer += images[row]; row += 1 }
                        try buffer.withUnsafeBytes { try data.write(rows: start..<(start + buffer.count), from: $0.baseAddress!, as: .uint8) }
                        start += buffer.count
                    }
                    try data.close()
                    let index = try file.root.createDataset("offsets", type: .int64, shape: [offsets.count])
                    try offsets.withUnsafeBytes { try index.write(rows: 0..<offsets.count, from: $0.baseAddress!, as: .int64) }
                    try index.close()
                }
                let label = try file.root.createDataset("label", type: .float32, shape: [labels.count])
                try labels.withUnsafeBytes { if !labels.isEmpty { try label.write(rows: 0..<labels.count, from: $0.baseAddress!, as: .float32) } }
                try label.close()
                try file.close()
            }
            try publish(temporaries, as: paths)
        } catch {
            for temporary in temporaries { AtomicFile.discard(temporary) }
            if let e = error as? HDF5Error { throw DataSourceError(e.file, e.description) }
            throw error
        }
        return paths
    }

    /// Renames the finished files into place, then writes the list file naming them (last, so
    /// a list never names a half-written file).
    private func publish(_ temporaries: [String], as paths: [String]) throws {
        for (temporary, path) in zip(temporaries, paths) { try AtomicFile.commit(temporary, to: path) }
        if destination.kind == .hdf5List {
            let base = URL(fileURLWithPath: destination.path).deletingLastPathComponent().path
            try ListFile.write(paths.map { String($0.dropFirst(base.count + 1)) }, to: destination.path, overwrite: options.overwrite)
        }
    }
}
