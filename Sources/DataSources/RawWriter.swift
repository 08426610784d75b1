import Foundation

/// Writes any source as a raw folder (`data.bin`, `labels.bin`, `meta.json`; see
/// `RawSource`), in a temporary folder renamed into place when complete.
public struct RawWriter: DataSetWriter {
    public let destination: SourceLocation
    public let options: WriterOptions

    public init(destination: SourceLocation, options: WriterOptions) throws {
        try options.checkHDF5Only(for: "raw folders", destination: destination.path)
        if options.encoding != nil { throw DataSourceError(destination.path, "--encode applies to LMDB and HDF5 sets; a raw folder stores pixels") }
        self.destination = destination
        self.options = options
    }

    @discardableResult
    public func write(_ source: any DataSource, progress: (Int) -> Void) throws -> [String] {
        let path = destination.path
        let type = options.storedType(for: source)
        try createParentFolder(of: path)
        try AtomicFile.checkReplaceable(path, as: .folder, overwrite: options.overwrite, own: .raw)
        let temporary = AtomicFile.temporaryPath(for: path)
        try? FileManager.default.removeItem(atPath: temporary)
        func file(_ name: String) -> URL { URL(fileURLWithPath: (temporary as NSString).appendingPathComponent(name)) }
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: file("data.bin").path, contents: nil)
            let handle = try FileHandle(forWritingTo: file("data.bin"))
            var labels: [Float] = []
            labels.reserveCapacity(source.sampleCount)
            let stream = try SampleStream(source)
            let d = source.sampleElements
            var bytes = [UInt8](repeating: 0, count: type == .uint8 ? 1024 * d : 0)
            while let block = try stream.next(upTo: 1024) {
                let n = block.count * d
                if type == .uint8 {
                    try bytes.withUnsafeMutableBufferPointer { try Quantizer.uint8(block.values, count: n, into: $0.baseAddress!) }
                    try handle.write(contentsOf: bytes[0..<n])
                } else {
                    try handle.write(contentsOf: Data(bytes: block.values, count: n * 4))
                }
                labels += UnsafeBufferPointer(start: block.labels, count: block.count)
                progress(labels.count)
            }
            try handle.close()
            try labels.withUnsafeBytes { try Data($0).write(to: file("labels.bin")) }
            let meta = RawSource.Meta(samples: labels.count, shape: source.sampleShape, dtype: type.rawValue)
            try JSONEncoder().encode(meta).write(to: file("meta.json"))
            try AtomicFile.checkReplaceable(path, as: .folder, overwrite: options.overwrite, own: .raw)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try AtomicFile.commit(temporary, to: path)
        } catch {
            AtomicFile.discard(temporary)
            throw AtomicFile.named(error, path)
        }
        return [path]
    }
}
