import Foundation
import Graph
import HDF5

/// Reads an HDF5 split set the way Caffe's HDF5Data layer names it: a list file of HDF5
/// files (or one `.h5`), each with datasets `data` [N, …] and `label` [N] or [N, 1]. Other
/// dataset names (h5py users write `images` / `labels`, `X` / `y`) are given as keys.
///
/// Every file is opened and checked before the first batch: both datasets present, equal
/// N, one sample shape across files, supported element types. Labels (one number per
/// sample) are read once; data is streamed per batch, so memory stays at a few batches plus
/// the chunk caches. Batches cross file boundaries; a shuffled batch groups its reads by
/// file and sorts them.
public final class HDF5ListSource: DataSource, FileBacked {
    /// How data rows are read.
    public enum ReadPath: String, Sendable, CaseIterable {
        /// Unfiltered datasets straight from a read-only mapping of the file, at the offsets
        /// HDF5 reports for the dataset or its chunks; filtered ones through HDF5.
        ///
        /// Written by hand because the benchmark shows HDF5 cannot do this fast enough:
        /// `H5Dread` of a shuffled batch's rows reaches 0.2 × the raw baseline on contiguous
        /// data and 0.01 × on 64-row chunks, where the mapping reaches 0.7 ×.
        case auto
        /// Always through HDF5's `H5Dread` with a union of row hyperslabs.
        case library
    }

    /// One file of the set, opened and checked.
    public final class Member {
        public let path: String
        public let file: File
        public let data: Dataset
        public let rows: Int
        public let elementType: StoredType
        public let scaling: Scaling
        let labels: [Float]
        /// For direct reads: the file mapped read-only, and each row's offset in it.
        let mapping: FileMapping?
        let rowOffsets: RowOffsets?

        init(path: String, file: File, data: Dataset, elementType: StoredType, scaling: Scaling, labels: [Float],
             mapping: FileMapping?, rowOffsets: RowOffsets?) {
            self.path = path
            self.file = file
            self.data = data
            self.rows = data.rows
            self.elementType = elementType
            self.scaling = scaling
            self.labels = labels
            self.mapping = mapping
            self.rowOffsets = rowOffsets
        }
    }

    /// Where row r's bytes start: `starts[r / rowsPerBlock] + (r % rowsPerBlock) × rowBytes`.
    struct RowOffsets {
        let starts: [Int]
        let rowsPerBlock: Int
        let rowBytes: Int
        @inline(__always) func offset(_ row: Int) -> Int { starts[row / rowsPerBlock] + (row % rowsPerBlock) * rowBytes }
    }

    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let members: [Member]
    public let readPath: ReadPath
    /// The datasets read from every file.
    public let keys: DatasetKeys
    /// Whether every member is read directly (no HDF5 call per batch).
    public var readsDirectly: Bool { members.allSatisfy { $0.rowOffsets != nil } }

    /// Opens and checks a list file (`.txt`) or a single HDF5 file.
    /// - Parameters:
    ///   - keys: the names of the data and label datasets (`data` and `label` by default).
    ///   - scale: multiplies every value; by default 1/255 for uint8 data and 1 otherwise.
    ///   - batchSizeHint: sizes the chunk cache so that one batch's chunks fit.
    public init(path: String, keys: DatasetKeys = .caffe, scale: Float? = nil, readPath: ReadPath = .auto,
                batchSizeHint: Int = 256, chunkWindow: Int = 8) throws {
        name = path
        self.readPath = readPath
        self.keys = keys
        let isList = !(path.hasSuffix(".h5") || path.hasSuffix(".hdf5") || path.hasSuffix(".hdf"))
        let entries: [(String, String)]  // (resolved path, how to name it in messages)
        if isList {
            entries = try ListFile.read(path).map { ($0.resolved, "\(path): line \($0.line): \($0.resolved)") }
        } else {
            entries = [(path, path)]
        }
        var members: [Member] = []
        var firstShape: [Int]? = nil
        var maxLabel: Float = -1
        var integral = true
        for (file, context) in entries {
            let member = try Self.openMember(file, context: context, keys: keys, scale: scale, readPath: readPath,
                                             batchSizeHint: batchSizeHint, chunkWindow: chunkWindow)
            let shape = Array(member.data.shape.dropFirst())
            if let firstShape, shape != firstShape {
                throw DataSourceError(context, "sample shape \(describe(shape: shape)) differs from \(describe(shape: firstShape)) in \(entries[0].0)")
            }
            firstShape = shape
            for label in member.labels {
                if label != label.rounded() || label < 0 { integral = false }
                maxLabel = max(maxLabel, label)
            }
            members.append(member)
        }
        self.members = members
        sampleShape = firstShape ?? []
        sampleCount = members.reduce(0) { $0 + $1.rows }
        classes = integral && maxLabel >= 0 ? Int(maxLabel) + 1 : nil
        segments = SampleSegments(
            fileSizes: members.map(\.rows),
            chunkRows: members.map { $0.data.chunkShape?.first ?? 64 })
    }

    private static func openMember(
        _ path: String, context: String, keys: DatasetKeys, scale: Float?, readPath: ReadPath, batchSizeHint: Int, chunkWindow: Int
    ) throws -> Member {
        let file: File
        do {
            file = try File.open(path)
        } catch let error as HDF5Error {
            throw DataSourceError(context, error.stack.last ?? "cannot open")
        }
        for name in [keys.data, keys.label] where !file.root.contains(name) {
            throw DataSourceError(context, keys.missing(name, in: file))
        }
        // Size the chunk cache before the real open: a batch's chunks plus a chunk-shuffle window.
        let probe = try file.root.dataset(keys.data)
        var cache: ChunkCache? = nil
        if let chunk = probe.chunkShape, chunk.count >= 1 {
            let chunkBytes = chunk.reduce(1, *) * max(probe.elementType?.size ?? 4, 1)
            let chunks = max(16, 2 * ((batchSizeHint + chunk[0] - 1) / max(chunk[0], 1) + chunkWindow))
            cache = ChunkCache(bytes: chunks * chunkBytes, slots: nextPrime(chunks * 100))
        }
        let data = try file.root.dataset(keys.data, chunkCache: cache)
        let label = try file.root.dataset(keys.label)
        let (d, l) = ("'\(keys.data)'", "'\(keys.label)'")
        guard let type = data.elementType.map(StoredType.init) else {
            throw DataSourceError(context, "\(d) has type \(data.storedTypeName); FeedBench reads uint8, int8–int64, float32 and float64")
        }
        guard data.shape.count >= 2 else {
            throw DataSourceError(context, "\(d) has shape \(describe(shape: data.shape)); expected [N, …] with a sample shape")
        }
        guard label.elementType != nil else {
            throw DataSourceError(context, "\(l) has type \(label.storedTypeName); expected a number per sample")
        }
        guard label.shape.count == 1 || (label.shape.count == 2 && label.shape[1] == 1) else {
            throw DataSourceError(context, "\(l) has shape \(describe(shape: label.shape)); expected [N] or [N, 1]")
        }
        guard label.rows == data.rows else {
            throw DataSourceError(context, "\(d) has \(data.rows) samples but \(l) has \(label.rows)")
        }
        let labels: [Float]
        do {
            labels = try label.readAll(as: .float32)
        } catch let error as HDF5Error {
            throw DataSourceError(context, "cannot read \(l) (\(error.stack.last ?? "read failed"); the file may be truncated)")
        }
        if let bad = labels.firstIndex(where: { !$0.isFinite }) {
            throw DataSourceError(context, "label of sample \(bad) is not a finite number")
        }
        var mapping: FileMapping? = nil
        var offsets: RowOffsets? = nil
        if readPath == .auto {
            (mapping, offsets) = try directAccess(path, data: data, type: type, context: context)
        }
        return Member(path: path, file: file, data: data, elementType: type, scaling: .from(scale, for: type),
                      labels: labels, mapping: mapping, rowOffsets: offsets)
    }

    /// For unfiltered data: the file mapped read-only and each block's file offset, checked
    /// against the file's size so a truncated file is caught here and not mid-epoch.
    private static func directAccess(_ path: String, data: Dataset, type: StoredType, context: String) throws -> (FileMapping?, RowOffsets?) {
        let rowBytes = data.rowElements * type.size
        var starts: [Int]
        var rowsPerBlock: Int
        if let base = data.contiguousFileOffset {
            starts = [base]
            rowsPerBlock = max(data.rows, 1)
        } else if let chunkOffsets = try data.chunkFileOffsets(), chunkOffsets.allSatisfy({ $0 != nil }) {
            starts = chunkOffsets.map { $0! }
            rowsPerBlock = data.chunkShape![0]
        } else {
            return (nil, nil)  // filtered, compact, or never written: read through HDF5
        }
        if data.rows == 0 { starts = [0]; rowsPerBlock = 1 }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        for (block, start) in starts.enumerated() {
            let rowsHere = min(rowsPerBlock, data.rows - block * rowsPerBlock)
            if data.rows > 0 && start + rowsHere * rowBytes > size {
                throw DataSourceError(context, "the file is truncated: '\(data.path.dropFirst())' needs \(start + rowsHere * rowBytes) bytes, the file has \(size)")
            }
        }
        let mapping = try FileMapping(path: path, context: context)
        return (mapping, RowOffsets(starts: starts, rowsPerBlock: rowsPerBlock, rowBytes: rowBytes))
    }

    public var files: [String] { members.map(\.path) }
    public var storedType: StoredType? { members.first?.elementType }

    public func evictFromPageCache() {
        for member in members { member.mapping?.dropPages() }
        PageCache.evict(files)
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        guard options.batchSize >= 1 else { throw DataSourceError(name, "batch size must be at least 1") }
        let reader = HDF5BatchReader(source: self, batchSize: options.batchSize)
        return PlannedIterator(self, options, fill: reader.fill)
    }

    /// Which member holds global sample `index`, and its row there.
    func locate(_ index: Int, starts: [Int]) -> (member: Int, row: Int) {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= index { lo = mid } else { hi = mid - 1 }
        }
        return (lo, index - starts[lo])
    }
}

/// Reads the batches of one epoch of an `HDF5ListSource`, with scratch space reused across
/// batches.
final class HDF5BatchReader {
    private let source: HDF5ListSource
    private let starts: [Int]
    private let rowElements: Int
    // Scratch, reused across batches.
    private var sorted: [(index: Int, slot: Int)] = []
    private let scratch: UnsafeMutableRawPointer

    init(source: HDF5ListSource, batchSize: Int) {
        self.source = source
        starts = source.segments.fileStarts
        rowElements = source.sampleElements
        scratch = .allocate(byteCount: max(1, batchSize * rowElements * 8), alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// Fills `batch` with the samples at `indices`, grouped by file and sorted within each.
    func fill(_ batch: Batch, _ indices: ArraySlice<Int>) throws {
        sorted.removeAll(keepingCapacity: true)
        for (slot, index) in indices.enumerated() { sorted.append((index, slot)) }
        if !isAscending(sorted) { sorted.sort { $0.index < $1.index } }
        var i = 0
        while i < sorted.count {
            let (m, _) = source.locate(sorted[i].index, starts: starts)
            let end = starts[m] + source.members[m].rows
            var j = i
            while j < sorted.count && sorted[j].index < end { j += 1 }
            try read(member: source.members[m], base: starts[m], sorted[i..<j], into: batch)
            i = j
        }
    }

    private func isAscending(_ items: [(index: Int, slot: Int)]) -> Bool {
        for k in items.indices.dropFirst() where items[k].index < items[k - 1].index { return false }
        return true
    }

    /// Reads one file's share of a batch: rows in ascending order, each converted into its
    /// slot of the batch.
    private func read(member: HDF5ListSource.Member, base: Int, _ items: ArraySlice<(index: Int, slot: Int)>, into batch: Batch) throws {
        let data = batch.data.pointer, labels = batch.labels.pointer
        let type = member.elementType, rowBytes = rowElements * type.size
        for item in items { labels[item.slot] = member.labels[item.index - base] }
        if let mapping = member.mapping, let offsets = member.rowOffsets {
            // Direct: each run of consecutive rows inside one block converts straight from
            // the mapping into consecutive slots, or row by row into scattered slots.
            var k = items.startIndex
            while k < items.endIndex {
                let first = items[k].index - base
                var count = 1
                while k + count < items.endIndex, items[k + count].index - base == first + count,
                      items[k + count].slot == items[k].slot + count,
                      (first + count) / offsets.rowsPerBlock == first / offsets.rowsPerBlock {
                    count += 1
                }
                convertToFloat(mapping.base + offsets.offset(first), type: type, count: count * rowElements,
                               scaling: member.scaling, into: data + items[k].slot * rowElements)
                k += count
            }
            return
        }
        // Through HDF5: one H5Dread of the union of runs, rows arrive in ascending order.
        var runs: [Range<Int>] = []
        for item in items {
            let row = item.index - base
            if let last = runs.last, last.upperBound == row { runs[runs.count - 1] = last.lowerBound..<row + 1 } else { runs.append(row..<row + 1) }
        }
        do {
            try member.data.read(runs: runs, into: scratch, as: ElementType(type))
        } catch let error as HDF5Error {
            throw DataSourceError(member.path, "cannot read '\(member.data.path.dropFirst())' (\(error.stack.last ?? "read failed"))")
        }
        for (n, item) in items.enumerated() {
            convertToFloat(scratch + n * rowBytes, type: type, count: rowElements, scaling: member.scaling,
                           into: data + item.slot * rowElements)
        }
    }
}

/// The smallest prime ≥ n (for chunk-cache hash slots).
func nextPrime(_ n: Int) -> Int {
    var candidate = max(n, 2)
    while true {
        var isPrime = true
        var d = 2
        while d * d <= candidate {
            if candidate % d == 0 { isPrime = false; break }
            d += 1
        }
        if isPrime { return candidate }
        candidate += 1
    }
}

/// The names of the data and label datasets in each HDF5 file.
public struct DatasetKeys: Sendable, Equatable, CustomStringConvertible {
    public var data: String
    public var label: String

    public init(data: String = "data", label: String = "label") {
        self.data = data
        self.label = label
    }

    /// Caffe's HDF5Data names: `data` and `label`.
    public static let caffe = DatasetKeys()

    /// `data=images, label=labels`, for layouts and messages; empty for Caffe's names.
    public var description: String { self == .caffe ? "" : "data=\(data), label=\(label)" }

    /// The message for a dataset the file lacks, naming what the file does hold.
    func missing(_ name: String, in file: File) -> String {
        let found = (try? file.root.memberNames()) ?? []
        let hint = self == .caffe ? "Caffe's HDF5Data needs 'data' and 'label'; " : ""
        let listed = found.isEmpty ? "the file holds no datasets" : "the file holds " + found.map { "'\($0)'" }.joined(separator: ", ")
        return "no dataset '\(name)' (\(hint)\(listed); name others with --data-key / --label-key)"
    }
}

extension StoredType {
    /// The same type as HDF5 names it.
    init(_ type: ElementType) { self = StoredType(rawValue: type.rawValue)! }
}

extension ElementType {
    /// The same type as HDF5 reads and writes it.
    init(_ type: StoredType) { self = ElementType(rawValue: type.rawValue)! }
}
