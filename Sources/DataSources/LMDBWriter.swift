import Foundation
import SwiftProtobuf
import LMDB

/// Writes any source as a Caffe LMDB: keys `%08d`, Datum values (`data` bytes for uint8,
/// `float_data` for float32), a commit every `recordsPerCommit` records. The environment is
/// written in a temporary folder and renamed into place when complete, so a failure leaves
/// no partial environment; the map grows (and the transaction is replayed) when full.
public struct LMDBWriter: DataSetWriter {
    public let destination: SourceLocation
    public let options: WriterOptions
    /// Records per write transaction.
    public var recordsPerCommit = 4096

    public init(destination: SourceLocation, options: WriterOptions) throws {
        try options.checkHDF5Only(for: "LMDB", destination: destination.path)
        self.destination = destination
        self.options = options
    }

    @discardableResult
    public func write(_ source: any DataSource, progress: (Int) -> Void) throws -> [String] {
        let path = destination.path
        let asBytes = options.storedType(for: source) == .uint8
        try createParentFolder(of: path)
        try AtomicFile.checkReplaceable(path, as: .folder, overwrite: options.overwrite, own: .lmdb)
        let encoder = try options.encoding.map { try ImageBlockEncoder(encoding: $0, shape: source.sampleShape, destination: path) }
        let temporary = AtomicFile.temporaryPath(for: path)
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let environment = try Environment.create(temporary, mapSize: 1 << 26)
            let stream = try SampleStream(source, batchSize: 256)
            let d = source.sampleElements
            var pending: [(key: [UInt8], value: [UInt8])] = []
            var written = 0
            while let block = try stream.next(upTo: 256) {
                let encoded = try encoder?.encode(block.values, count: block.count)
                for i in 0..<block.count {
                    let label = block.labels[i]
                    guard label >= 0, label == label.rounded(), label < Float(Int32.max) else {
                        throw DataSourceError(source.name, "label \(label) of sample \(written) is not a class index; Datum labels are integers ≥ 0")
                    }
                    let value: [UInt8]
                    if let encoded {
                        // Caffe's `ReadImageToDatum` with an encoding: the file's bytes, the
                        // label, `encoded = true`; channels, height and width left unset.
                        var datum = Caffe_Datum()
                        datum.data = Data(encoded[i])
                        datum.label = Int32(label)
                        datum.encoded = true
                        value = try datum.serializedBytes()
                    } else {
                        value = try DatumCodec.encode(block.values + i * d, count: d, shape: source.sampleShape,
                                                      label: Int32(label), asBytes: asBytes)
                    }
                    pending.append((Array(String(format: "%08d", written).utf8), value))
                    written += 1
                    if pending.count == recordsPerCommit {
                        try environment.put(pending)
                        pending.removeAll(keepingCapacity: true)
                        progress(written)
                    }
                }
            }
            if !pending.isEmpty { try environment.put(pending) }
            progress(written)
            try? FileManager.default.removeItem(atPath: (temporary as NSString).appendingPathComponent("lock.mdb"))
            try "An LMDB of Caffe Datum records written by FeedBench.\n".write(toFile: (temporary as NSString).appendingPathComponent(OwnOutput.lmdbMarker), atomically: false, encoding: .utf8)
            try AtomicFile.checkReplaceable(path, as: .folder, overwrite: options.overwrite, own: .lmdb)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try AtomicFile.commit(temporary, to: path)
        } catch {
            AtomicFile.discard(temporary)
            if let e = error as? LMDBError { throw DataSourceError(path, e.description) }
            throw error
        }
        return [path]
    }
}
