import Foundation
import Graph
import LMDB
import SwiftProtobuf

/// Reads a Caffe LMDB: one record per sample, values are `Datum` messages, keys in key order.
///
/// Opening walks every record once: each must parse as a Datum, hold `data` bytes or
/// `float_data`, have a label ≥ 0, and have the first record's shape; an error names the
/// record's key. Records with `encoded = true` (Caffe's `convert_imageset --encoded`) hold
/// JPEG or PNG bytes: the walk reads each one's header (size, channels), and batches decode
/// them in parallel through `ImageOptions`' transform. Sequential epochs walk a cursor;
/// other orders collect the keys once and get records by key in a seeded permutation.
public final class LMDBSource: DataSource, FileBacked {
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
    public let elementType: StoredType
    public var storedType: StoredType? { elementType }
    public let environment: Environment
    public let readahead: Readahead
    let scaling: Scaling
    let keyBytes: [UInt8]
    let keyEnds: [Int]
    /// For encoded records: the decoder of batches, the formats found, and the records
    /// skipped as undecodable (`--skip-bad`) with the first one's message.
    let images: ImageBatchDecoder?
    public let imageFormats: [ImageFormat]
    public let skippedImages: Int
    public let firstSkippedImage: String?

    /// Runs the open walk somewhere a liblmdb crash cannot take this process down, before
    /// this process walks the file itself: liblmdb trusts its file, and a corrupt `data.mdb`
    /// (a page number past the end, a value pointing outside the map) ends its reader with
    /// SIGBUS or SIGSEGV. The `feedbench` tool sets it to a child process that opens the LMDB
    /// and reports how it ended; nil (library users, the child itself) walks in-process only.
    nonisolated(unsafe) public static var openCheck: ((String) throws -> Void)?

    public init(path: String, scale: Float? = nil, readahead: Readahead = .on, decoder: Decoder = .view,
                images imageOptions: ImageOptions = .standard) throws {
        name = path
        self.readahead = readahead
        self.decoder = decoder
        try LMDBSource.openCheck?(path)
        do {
            environment = try Environment.openReadOnly(path)
        } catch let error as LMDBError {
            throw DataSourceError(path, error.message)
        }
        var keys: [UInt8] = [], ends: [Int] = []
        var shape: (Int32, Int32, Int32)? = nil
        var type: StoredType? = nil
        var maxLabel: Int32 = -1
        var imageSet = ImageSetShape()
        var encodedRecords = 0
        var skipped = 0, firstSkipped: String? = nil
        let transform = imageOptions.transform
        do {
            try transform.check(channels: 3)
        } catch {
            throw DataSourceError(path, "\(error)")
        }
        let headerReader = try ImageDecoder()
        var labels: [Int32] = []
        var values: [UnsafeRawBufferPointer] = []  // encoded bytes, for --skip-bad's decode pass
        do {
            let txn = try environment.beginRead()
            let cursor = try txn.cursor()
            while try cursor.next({ key, value in
                func fail(_ problem: String) -> DataSourceError {
                    DataSourceError(path, "record \(LMDBSource.describe(key: key)): \(problem)")
                }
                let datum: DatumView
                do { datum = try DatumView(value) } catch { throw fail("\(error)") }
                guard datum.label >= 0 else { throw fail("label \(datum.label) is negative") }
                if datum.encoded {
                    guard encodedRecords == ends.count else { throw fail("an encoded image after records of raw pixels") }
                    do {
                        guard let data = datum.data, data.count > 0 else { throw ImageError("an encoded record without image bytes") }
                        let header = try headerReader.header(data)
                        try imageSet.add(header, transform: transform)
                        if imageOptions.decodesEveryImage { values.append(data) }
                    } catch let error as ImageError {
                        guard imageOptions.skipsBadHeaders else { throw fail(error.description) }
                        skipped += 1
                        if firstSkipped == nil { firstSkipped = "record \(LMDBSource.describe(key: key)): \(error)" }
                        return true
                    }
                    encodedRecords += 1
                } else {
                    if encodedRecords > 0 { throw fail("raw pixels after encoded images") }
                    guard let count = SizeLimits.product([Int(datum.channels), Int(datum.height), Int(datum.width)], limit: SizeLimits.sampleElements) else {
                        throw fail("shape \(datum.channels)×\(datum.height)×\(datum.width) is too large (a corrupt record?)")
                    }
                    let recordType: StoredType
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
                    shape = (datum.channels, datum.height, datum.width)
                    type = recordType
                }
                labels.append(datum.label)
                keys += key
                ends.append(keys.count)
                return true
            }) == true {}
            if encodedRecords > 0, let sampleShape = imageSet.sampleShape(transform) {
                do { try transform.check(channels: sampleShape[0]) } catch { throw DataSourceError(path, "\(error)") }
                let batchDecoder = ImageBatchDecoder(transform: transform, sampleShape: sampleShape, threads: imageOptions.decodeThreads)
                if imageOptions.decodesEveryImage {
                    // Decode every image once (in parallel) and leave out the ones that fail.
                    let (bad, first) = batchDecoder.undecodable(values.count) { values[$0] }
                    if !bad.isEmpty {
                        let badSet = Set(bad)
                        var keptKeys: [UInt8] = [], keptEnds: [Int] = [], keptLabels: [Int32] = []
                        for i in 0..<ends.count where !badSet.contains(i) {
                            keptKeys += keys[(i == 0 ? 0 : ends[i - 1])..<ends[i]]
                            keptEnds.append(keptKeys.count)
                            keptLabels.append(labels[i])
                        }
                        if firstSkipped == nil, let i = bad.first {
                            let key = keys[(i == 0 ? 0 : ends[i - 1])..<ends[i]]
                            firstSkipped = key.withUnsafeBytes { "record \(LMDBSource.describe(key: $0)): " } + (first ?? "")
                        }
                        skipped += bad.count
                        (keys, ends, labels) = (keptKeys, keptEnds, keptLabels)
                    }
                }
                images = batchDecoder
            } else {
                images = nil
            }
            withExtendedLifetime(txn) {}
        } catch let error as LMDBError {
            throw DataSourceError(path, error.message)
        }
        imageFormats = imageSet.formats.sorted { $0.rawValue < $1.rawValue }
        skippedImages = skipped
        firstSkippedImage = firstSkipped
        maxLabel = labels.max() ?? -1
        if let images {
            guard !ends.isEmpty else { throw DataSourceError(path, "no image decodes (\(skipped) skipped; the first: \(firstSkipped ?? "?"))") }
            sampleShape = images.sampleShape
            // Pixels times 1/255 are uint8 exactly; a mean or another scale makes them float32.
            elementType = transform.meanValues.isEmpty && transform.scale == nil ? .uint8 : .float32
            scaling = .default(for: .uint8)
        } else {
            guard let shape, let type else {
                throw DataSourceError(path, skipped > 0 ? "no image decodes (\(skipped) skipped; the first: \(firstSkipped ?? "?"))" : "the LMDB holds no records")
            }
            sampleShape = [Int(shape.0), Int(shape.1), Int(shape.2)]
            elementType = type
            scaling = .from(scale, for: type)
        }
        sampleCount = ends.count
        classes = ClassLabels.count(maxLabel: Double(maxLabel), allIntegral: true)
        segments = .single(ends.count)
        keyBytes = keys
        keyEnds = ends
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
        environment.advise(.dropPages)
        PageCache.evict(files)
    }

    /// The advice given to the kernel for an epoch in `order`.
    public func advice(for order: SampleOrder) -> Environment.Advice {
        switch readahead {
        case .off: return .random
        case .on: return order == .sequential ? .sequential : .normal
        }
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        // LMDB's own MDB_NORDAHEAD is fixed when the environment opens, and the same
        // environment must not be opened twice in one process; the same advice
        // (MADV_RANDOM) is given per epoch on LMDB's map instead.
        environment.advise(advice(for: options.order))
        let transaction = try environment.beginRead()
        // With records skipped as undecodable, the cursor's order no longer matches the indices: by key.
        let cursor = options.order == .sequential && skippedImages == 0 ? CursorWalk(try transaction.cursor()) : nil
        let seed = options.seed
        return PlannedIterator(self, options) { [self] batch, indices in
            if images != nil {
                try readImages(indices, into: batch, transaction: transaction, cursor: cursor, seed: seed)
            } else {
                try read(indices, into: batch, transaction: transaction, cursor: cursor)
            }
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
    func read(_ indices: ArraySlice<Int>, into batch: Batch, transaction: ReadTransaction, cursor: CursorWalk?) throws {
        let d = sampleElements
        try visit(indices, transaction: transaction, cursor: cursor) { slot, value in
            try decode(value, into: batch.data.pointer + slot * d)
        } labels: { slot, label in batch.labels.pointer[slot] = label }
    }

    /// Fills a batch of encoded images: the records' bytes are collected from LMDB's map
    /// (valid while the epoch's read transaction lives), then decoded in parallel.
    func readImages(_ indices: ArraySlice<Int>, into batch: Batch, transaction: ReadTransaction, cursor: CursorWalk?, seed: UInt64) throws {
        guard let images else { return }
        var records = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: indices.count)
        try visit(indices, transaction: transaction, cursor: cursor) { slot, value in
            let datum = try DatumView(value)
            guard datum.encoded, let data = datum.data else { throw DatumError.malformed("the record changed since the source was opened") }
            records[slot] = data
            return Float(datum.label)
        } labels: { slot, label in batch.labels.pointer[slot] = label }
        let first = indices.startIndex
        do {
            try images.decode(records.count, record: { records[$0] }, sampleIndex: { indices[first + $0] }, seed: seed,
                              describe: { "record \(self.describe(index: indices[first + $0]))" }, into: batch.data.pointer)
        } catch let error as ImageError {
            throw DataSourceError(name, error.description)
        }
    }

    /// Record `index`'s key, for messages.
    func describe(index: Int) -> String {
        let start = index == 0 ? 0 : keyEnds[index - 1]
        return keyBytes.withUnsafeBytes { LMDBSource.describe(key: UnsafeRawBufferPointer(rebasing: $0[start..<keyEnds[index]])) }
    }

    /// Hands each slot's record value to `body` (which returns its label), by cursor for
    /// sequential epochs and by key otherwise.
    private func visit(_ indices: ArraySlice<Int>, transaction: ReadTransaction, cursor: CursorWalk?,
                       _ body: (Int, UnsafeRawBufferPointer) throws -> Float, labels: (Int, Float) -> Void) throws {
        do {
            for (slot, index) in indices.enumerated() {
                let label: Float?
                if let cursor, cursor.position == index {
                    label = try cursor.cursor.next { _, value in try body(slot, value) }
                    cursor.position += 1
                } else if let cursor {
                    // A shard or lane of a sequential epoch starts elsewhere: seek, then walk on.
                    let start = index == 0 ? 0 : keyEnds[index - 1]
                    label = try keyBytes.withUnsafeBytes { keys in
                        try cursor.cursor.seek(UnsafeRawBufferPointer(rebasing: keys[start..<keyEnds[index]])) { _, value in
                            try body(slot, value)
                        }
                    }
                    cursor.position = index + 1
                } else {
                    let start = index == 0 ? 0 : keyEnds[index - 1]
                    label = try keyBytes.withUnsafeBytes { keys in
                        try transaction.withValue(forKey: UnsafeRawBufferPointer(rebasing: keys[start..<keyEnds[index]])) { value in
                            guard let value else { throw DatumError.malformed("record \(index) vanished") }
                            return try body(slot, value)
                        }
                    }
                }
                guard let label else { throw DataSourceError(name, "the LMDB ended early (changed since it was opened?)") }
                labels(slot, label)
            }
        } catch let error as LMDBError {
            throw DataSourceError(name, error.message)
        } catch let error as DatumError {
            throw DataSourceError(name, error.description)
        }
    }
}

/// A cursor walking a sequential epoch, and the index of the record `next` reaches.
final class CursorWalk {
    let cursor: Cursor
    var position = 0
    init(_ cursor: Cursor) { self.cursor = cursor }
}
