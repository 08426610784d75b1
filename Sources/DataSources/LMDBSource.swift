import CLMDB
import Foundation
import Graph
import HDF5
import LMDB
import SwiftProtobuf

/// Reads a Caffe LMDB: one record per sample, values are `Datum` messages, keys in key order.
///
/// Opening walks every record once: each must parse as a Datum, hold `data` bytes or
/// `float_data`, not be `encoded`, have a label ≥ 0, and have the first record's shape;
/// an error names the record's key. Sequential epochs walk a cursor; other orders collect
/// the keys once and get records by key in a seeded permutation.
public final class LMDBSource: DataSource {
    /// Whether the kernel reads ahead around the records an epoch touches.
    ///
    /// Measured on this project's machine kind (CIFAR-shaped LMDB of 200 MB, cold cache):
    /// shuffled epochs read 140–158 k samples/s with read-ahead and 13 k without, sequential
    /// ones 206 k and 16 k; so read-ahead is on by default, for every order. `off` is for data
    /// far larger than memory read in random order, where read-ahead fetches pages that are
    /// evicted before use.
    public enum Readahead: String, Sendable, CaseIterable {
        /// `MADV_SEQUENTIAL` for sequential epochs, `MADV_NORMAL` (the kernel's read-around) otherwise.
        case on
        /// `MADV_RANDOM`, as LMDB's `MDB_NORDAHEAD` does.
        case off
    }

    /// How record values are decoded on the read path.
    public enum Decoder: String, Sendable, CaseIterable {
        /// In place, without copying (`DatumView`).
        case view
        /// swift-protobuf's generated `Caffe_Datum`, which copies the data (kept for comparison).
        case swiftProtobuf = "swift-protobuf"
    }

    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let decoder: Decoder
    /// uint8 when records hold `data` bytes, float32 when they hold `float_data`.
    public let elementType: ElementType
    public var storedElementType: ElementType? { elementType }
    public let environment: Environment
    public let readahead: Readahead
    let scaling: Scaling
    let keyBytes: [UInt8]
    let keyEnds: [Int]
    let mapBase: UnsafeMutableRawPointer?
    let mapLength: Int

    public init(path: String, scale: Float? = nil, readahead: Readahead = .on, decoder: Decoder = .view) throws {
        name = path
        self.readahead = readahead
        self.decoder = decoder
        do {
            environment = try Environment.openReadOnly(path)
        } catch let error as LMDBError {
            throw DataSourceError(path, error.message)
        }
        var keys: [UInt8] = [], ends: [Int] = []
        var shape: (Int32, Int32, Int32)? = nil
        var type: ElementType? = nil
        var maxLabel: Int32 = -1
        do {
            let txn = try environment.beginRead()
            let cursor = try txn.cursor()
            while try cursor.next({ key, value in
                func fail(_ problem: String) -> DataSourceError {
                    DataSourceError(path, "record \(LMDBSource.describe(key: key)): \(problem)")
                }
                let datum: DatumView
                do { datum = try DatumView(value) } catch { throw fail("\(error)") }
                if datum.encoded { throw fail("an encoded (compressed) image; FeedBench reads raw Datum data only") }
                let count = Int(datum.channels) * Int(datum.height) * Int(datum.width)
                let recordType: ElementType
                if let data = datum.data, data.count > 0 {
                    recordType = .uint8
                    guard data.count == count else { throw fail("\(data.count) data bytes for shape \(datum.channels)×\(datum.height)×\(datum.width)") }
                } else if datum.floatCount > 0 {
                    recordType = .float32
                    guard datum.floatCount == count else { throw fail("\(datum.floatCount) float_data values for shape \(datum.channels)×\(datum.height)×\(datum.width)") }
                } else {
                    throw fail("a Datum without data or float_data")
                }
                guard count > 0 else { throw fail("empty shape \(datum.channels)×\(datum.height)×\(datum.width)") }
                if let shape, shape != (datum.channels, datum.height, datum.width) || type != recordType {
                    throw fail("shape \(datum.channels)×\(datum.height)×\(datum.width) \(recordType.rawValue) differs from the first record's \(shape.0)×\(shape.1)×\(shape.2) \(type!.rawValue)")
                }
                guard datum.label >= 0 else { throw fail("label \(datum.label) is negative") }
                shape = (datum.channels, datum.height, datum.width)
                type = recordType
                maxLabel = max(maxLabel, datum.label)
                keys += key
                ends.append(keys.count)
                return true
            }) == true {}
        } catch let error as LMDBError {
            throw DataSourceError(path, error.message)
        }
        guard let shape, let type else { throw DataSourceError(path, "the LMDB holds no records") }
        sampleShape = [Int(shape.0), Int(shape.1), Int(shape.2)]
        sampleCount = ends.count
        classes = Int(maxLabel) + 1
        elementType = type
        scaling = scale.map { .multiply($0) } ?? .default(for: type)
        segments = .single(ends.count)
        keyBytes = keys
        keyEnds = ends
        (mapBase, mapLength) = LMDBSource.mapping(of: (path as NSString).appendingPathComponent("data.mdb"))
    }

    /// Where this process maps a file, from /proc/self/maps. LMDB does not say where its
    /// map is (`mdb_env_info`'s address is the one stored in the file, for MDB_FIXEDMAP).
    static func mapping(of file: String) -> (UnsafeMutableRawPointer?, Int) {
        var info = stat()
        guard stat(file, &info) == 0, let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return (nil, 0) }
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, UInt64(fields[4]) == UInt64(info.st_ino) else { continue }
            let range = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard range.count == 2, range[1] > range[0] else { continue }
            return (UnsafeMutableRawPointer(bitPattern: range[0]), Int(range[1] - range[0]))
        }
        return (nil, 0)
    }

    /// A key for messages: text when printable, else hex.
    static func describe(key: UnsafeRawBufferPointer) -> String {
        if let text = String(bytes: key, encoding: .utf8), text.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) {
            return "'\(text)'"
        }
        return "0x" + key.map { String(format: "%02x", $0) }.joined()
    }

    /// The files this source reads.
    public var files: [String] { [(name as NSString).appendingPathComponent("data.mdb")] }

    /// Drops the data file from memory for a cold epoch: unmaps this process's pages of
    /// LMDB's map (`MADV_DONTNEED`), then asks the kernel to evict the file
    /// (`POSIX_FADV_DONTNEED`). Measure residency afterwards; eviction is only a request.
    public func evictFromPageCache() {
        if let mapBase { madvise(mapBase, mapLength, MADV_DONTNEED) }
        PageCache.evict(files)
    }

    /// The advice given to the kernel for an epoch in `order`.
    public func advice(for order: SampleOrder) -> Int32 {
        switch readahead {
        case .off: return MADV_RANDOM
        case .on: return order == .sequential ? MADV_SEQUENTIAL : MADV_NORMAL
        }
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        // LMDB's own MDB_NORDAHEAD is fixed when the environment opens, and the same
        // environment must not be opened twice in one process; the same advice
        // (MADV_RANDOM) is given per epoch on LMDB's map instead.
        if let mapBase { madvise(mapBase, mapLength, advice(for: options.order)) }
        let transaction = try environment.beginRead()
        let cursor = options.order == .sequential ? try transaction.cursor() : nil
        return PlannedIterator(self, options) { [self] batch, indices in
            try read(indices, into: batch, transaction: transaction, cursor: cursor)
        }
    }

    /// Decodes one record into a batch slot; returns its label.
    @inline(__always)
    func decode(_ value: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Float>) throws -> Float {
        if decoder == .swiftProtobuf { return try decodeWithSwiftProtobuf(value, into: destination) }
        let datum = try DatumView(value)
        let count = sampleElements
        if let data = datum.data, data.count == count {
            convertToFloat(data.baseAddress!, type: .uint8, count: count, scaling: scaling, into: destination)
        } else if datum.floatCount == count {
            datum.copyFloats(into: destination, scale: scaling.factor)
        } else {
            throw DatumError.malformed("the record changed since the source was opened")
        }
        return Float(datum.label)
    }
}

extension LMDBSource {
    func decodeWithSwiftProtobuf(_ value: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Float>) throws -> Float {
        let datum: Caffe_Datum
        do { datum = try Caffe_Datum(serializedBytes: Array(value)) } catch { throw DatumError.malformed("\(error)") }
        let count = sampleElements
        if datum.data.count == count {
            datum.data.withUnsafeBytes { convertToFloat($0.baseAddress!, type: .uint8, count: count, scaling: scaling, into: destination) }
        } else if datum.floatData.count == count {
            for i in 0..<count { destination[i] = datum.floatData[i] * scaling.factor }
        } else {
            throw DatumError.malformed("the record changed since the source was opened")
        }
        return Float(datum.label)
    }
}

extension LMDBSource {
    /// Fills a batch: by cursor for sequential epochs, by key otherwise.
    func read(_ indices: ArraySlice<Int>, into batch: Batch, transaction: ReadTransaction, cursor: Cursor?) throws {
        let d = sampleElements
        do {
            for (slot, index) in indices.enumerated() {
                let destination = batch.data.pointer + slot * d
                let label: Float?
                if let cursor {
                    label = try cursor.next { _, value in try decode(value, into: destination) }
                } else {
                    let start = index == 0 ? 0 : keyEnds[index - 1]
                    label = try keyBytes.withUnsafeBytes { keys in
                        try transaction.withValue(forKey: UnsafeRawBufferPointer(rebasing: keys[start..<keyEnds[index]])) { value in
                            guard let value else { throw DatumError.malformed("record \(index) vanished") }
                            return try decode(value, into: destination)
                        }
                    }
                }
                guard let label else { throw DataSourceError(name, "the LMDB ended early (changed since it was opened?)") }
                batch.labels.pointer[slot] = label
            }
        } catch let error as LMDBError {
            throw DataSourceError(name, error.message)
        } catch let error as DatumError {
            throw DataSourceError(name, error.description)
        }
    }
}

/// Writes any source as a Caffe LMDB: keys `%08d`, Datum values (`data` bytes for uint8,
/// `float_data` for float32), a commit every `recordsPerCommit` records. The environment is
/// written in a temporary folder and renamed into place when complete, so a failure leaves
/// no partial environment; the map grows (and the transaction is replayed) when full.
public enum LMDBWriter {
    public static func write(
        _ source: any DataSource, to path: String, dtype: ElementType, recordsPerCommit: Int = 4096,
        progress: (Int) -> Void = { _ in }
    ) throws {
        guard dtype == .uint8 || dtype == .float32 else { throw DataSourceError(path, "LMDB Datum values hold uint8 or float32") }
        let temporary = AtomicFile.temporaryPath(for: path)
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let environment = try Environment.create(temporary, mapSize: 1 << 26)
            let iterator = try source.makeIterator(EpochOptions(batchSize: 256))
            let d = source.sampleElements
            var pending: [(key: [UInt8], value: [UInt8])] = []
            var written = 0
            while let batch = try iterator.next() {
                for i in 0..<batch.count {
                    let label = batch.labels.pointer[i]
                    guard label >= 0, label == label.rounded(), label < Float(Int32.max) else {
                        throw DataSourceError(source.name, "label \(label) of sample \(written) is not a class index; Datum labels are integers ≥ 0")
                    }
                    let value = try DatumCodec.encode(batch.data.pointer + i * d, count: d, shape: source.sampleShape,
                                                      label: Int32(label), asBytes: dtype == .uint8)
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
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try AtomicFile.commit(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if let e = error as? LMDBError { throw DataSourceError(path, e.description) }
            throw error
        }
    }
}
