import Foundation
import Graph
import HDF5

/// Reads an HDF5 split set the way Caffe's HDF5Data layer names it: a list file of HDF5
/// files (or one `.h5`), each with datasets `data` [N, …] and `label` [N] or [N, 1]. Other
/// dataset names (h5py users write `images` / `labels`, `X` / `y`) are given as keys.
///
/// Every file is opened and checked before the first batch: both datasets present, equal
/// N, one sample shape across files, supported element types, every chunk written and inside
/// the file, every filter decodable. Labels (one number per sample) are read once; data is
/// streamed per batch. Batches cross file boundaries; a shuffled batch groups its reads by
/// file and sorts them.
public final class HDF5ListSource: DataSource, FileBacked, MappedReads {
    /// How data rows are read.
    public enum ReadPath: String, Sendable, CaseIterable {
        /// Without HDF5 on the hot path: unfiltered data straight from a read-only mapping of
        /// the file, at the offsets HDF5 reports; chunked data chunk by chunk, its filters
        /// undone by FeedBench on a pool of threads (`DecodePool`), outside HDF5's global
        /// lock; a filter FeedBench does not decode through HDF5 when HDF5 has it.
        ///
        /// Written by hand because the benchmark shows HDF5 cannot do this fast enough:
        /// `H5Dread` of a shuffled batch's rows reaches 0.07 × the raw baseline on contiguous
        /// data and 0.01 × on 64-row chunks, and decompression runs on one thread under the
        /// library's lock.
        case auto
        /// Always through HDF5's `H5Dread` with a union of row hyperslabs.
        case library
    }

    /// How one member's rows are read.
    enum Access {
        /// From a mapping: row r's bytes at `offsets.offset(r)`.
        case mapped(FileMapping, RowOffsets)
        /// Chunk by chunk, decoded by FeedBench.
        case chunks(ChunkedDataset)
        /// Through `H5Dread`.
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
        let access: Access

        init(path: String, file: File, data: Dataset, elementType: StoredType, scaling: Scaling, labels: [Float], access: Access) {
            self.path = path
            self.file = file
            self.data = data
            self.rows = data.rows
            self.elementType = elementType
            self.scaling = scaling
            self.labels = labels
            self.access = access
        }

        /// How the member is read, in words: `mapped`, `chunks decoded by FeedBench`, `H5Dread`.
        public var readDescription: String {
            switch access {
            case .mapped: return "mapped"
            case .chunks: return "chunks decoded by FeedBench"
            case .library: return "H5Dread"
            }
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
    /// The threads chunks are decoded on.
    public let decodePool: DecodePool
    /// Bytes of decoded chunks an epoch keeps at most (see `BlockCache`).
    public let decodedCacheBytes: Int
    /// Whether every member is read without HDF5 on the hot path.
    public var readsDirectly: Bool { members.allSatisfy { if case .library = $0.access { false } else { true } } }
    /// Whether some member's chunks are decoded by FeedBench.
    public var decodesChunks: Bool { members.contains { if case .chunks = $0.access { true } else { false } } }

    /// Batches assembled ahead of the one being consumed, when chunks are decoded.
    static let assembleAhead = 4

    /// A quarter of the machine's memory: the default budget of decoded chunks per epoch.
    public static var defaultDecodedCacheBytes: Int { Int(ProcessInfo.processInfo.physicalMemory / 4) }

    /// Opens and checks a list file (`.txt`) or a single HDF5 file.
    /// - Parameters:
    ///   - keys: the names of the data and label datasets (`data` and `label` by default).
    ///   - scale: multiplies every value; by default 1/255 for uint8 data and 1 otherwise.
    ///   - batchSizeHint: sizes HDF5's chunk cache (for the `H5Dread` path) so a batch's chunks fit.
    ///   - decodePool: the threads compressed chunks are decoded on (one per core by default).
    public init(path: String, keys: DatasetKeys = .caffe, scale: Float? = nil, readPath: ReadPath = .auto,
                batchSizeHint: Int = 256, chunkWindow: Int = 8, decodePool: DecodePool = DecodePool(),
                decodedCacheBytes: Int = HDF5ListSource.defaultDecodedCacheBytes) throws {
        name = path
        self.readPath = readPath
        self.keys = keys
        self.decodePool = decodePool
        self.decodedCacheBytes = decodedCacheBytes
        let entries = try ListFile.members(of: path)
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
        classes = ClassLabels.count(maxLabel: Double(maxLabel), allIntegral: integral)
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
        // Size HDF5's chunk cache (used on the H5Dread path) for a batch's chunks plus a
        // chunk-shuffle window.
        let probe = try file.root.dataset(keys.data)
        // Sizes from the file's header, in checked arithmetic before anything uses them.
        let elementBytes = max(probe.elementType?.size ?? 8, 1)
        guard SizeLimits.product(Array(probe.shape.dropFirst()), limit: SizeLimits.sampleElements) != nil,
              SizeLimits.product(probe.shape + [elementBytes]) != nil,
              SizeLimits.product((probe.chunkShape ?? []) + [elementBytes], limit: 1 << 32) != nil else {
            throw DataSourceError(context, "'\(keys.data)' declares shape \(describe(shape: probe.shape))\(probe.chunkShape.map { " in chunks of \(describe(shape: $0))" } ?? ""): too large to read (a corrupt header?)")
        }
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
        // Unwritten storage reads as fill values: refused before reading (and before the
        // labels of a file that declares a billion samples in 4 KB are filled in).
        try checkWritten(label, context: context)
        try checkWritten(data, context: context)
        let labels: [Float]
        do {
            labels = try label.readAll(as: .float32)
        } catch let error as HDF5Error {
            throw DataSourceError(context, "cannot read \(l) (\(error.stack.last ?? "read failed"); the file may be truncated)")
        }
        if let bad = labels.firstIndex(where: { !$0.isFinite }) {
            throw DataSourceError(context, "label of sample \(bad) is not a finite number")
        }
        let access: Access = readPath == .library ? .library : try directAccess(path, data: data, type: type, context: context)
        return Member(path: path, file: file, data: data, elementType: type, scaling: .from(scale, for: type),
                      labels: labels, access: access)
    }

    /// Through `H5Dread`, a chunk never written inside the extent comes back as fill values
    /// (zeros) without an error: a chunked dataset read that way must have all its chunks.
    /// (FeedBench's own chunk path checks this per chunk and names the first missing one.)
    static func checkWritten(_ data: Dataset, context: String) throws {
        if data.layout == .contiguous && data.rows > 0 && data.contiguousFileOffset == nil && data.bytesLiveInOpenedFile {
            throw DataSourceError(context, "'\(data.path.dropFirst())' has no data written (HDF5 would return fill values)")
        }
        try checkAllChunksWritten(data, context: context)
    }

    private static func checkAllChunksWritten(_ data: Dataset, context: String) throws {
        guard data.layout == .chunked, let chunk = data.chunkShape, chunk.count == data.shape.count,
              chunk.allSatisfy({ $0 >= 1 }) else { return }
        let perAxis = zip(data.shape, chunk).map { $0 == 0 ? 0 : ($0 - 1) / $1 + 1 }  // no overflow near Int.max
        guard let expected = SizeLimits.product(perAxis) else { return }
        let written = try data.chunkCount()
        guard written < expected else { return }
        // Name the first missing chunk (row-major order of chunk coordinates), looking at
        // no more than a million of them.
        var index = [Int](repeating: 0, count: perAxis.count)
        for _ in 0..<min(expected, 1_000_000) {
            let offset = zip(index, chunk).map { $0 * $1 }
            if data.storedChunkSize(at: offset) == nil {
                throw DataSourceError(context, "'\(data.path.dropFirst())': the chunk at \(offset) was never written (\(written) of the \(expected) chunks its extent needs are; HDF5 would return fill values for the others)")
            }
            var axis = index.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < perAxis[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        throw DataSourceError(context, "'\(data.path.dropFirst())' has \(written) chunks written of the \(expected) its extent needs (HDF5 would return fill values for the others)")
    }

    /// How a dataset is read without HDF5 on the hot path, checked against the file: a
    /// mapping for unfiltered data whose rows are contiguous within blocks, FeedBench's chunk
    /// decoding for other chunked data, `H5Dread` for what neither covers (compact and
    /// virtual layouts, filters FeedBench does not decode but HDF5 has).
    private static func directAccess(_ path: String, data: Dataset, type: StoredType, context: String) throws -> Access {
        let rowBytes = data.rowElements * type.size
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        // An external link or external storage: the bytes are in another file, and offsets
        // into this one would read something else.
        guard data.bytesLiveInOpenedFile else { return .library }
        switch data.layout {
        case .contiguous:
            guard data.rows > 0 else { return .mapped(try FileMapping(path: path, context: context), RowOffsets(starts: [0], rowsPerBlock: 1, rowBytes: rowBytes)) }
            guard let base = data.contiguousFileOffset else {
                throw DataSourceError(context, "'\(data.path.dropFirst())' has no data written (HDF5 would return fill values)")
            }
            let (end, overflow) = base.addingReportingOverflow(data.rows * rowBytes)
            if overflow || end > size {
                throw DataSourceError(context, "the file is truncated: '\(data.path.dropFirst())' needs \(overflow ? "more than 2⁶³" : String(end)) bytes, the file has \(size)")
            }
            return .mapped(try FileMapping(path: path, context: context), RowOffsets(starts: [base], rowsPerBlock: max(data.rows, 1), rowBytes: rowBytes))
        case .chunked:
            let unsupported = data.filters.filter { !FilterPipeline.supported.contains($0.id) }
            if let missing = unsupported.first(where: { !HDF5Library.filterAvailable($0.id) }) {
                throw DataSourceError(context, "'\(data.path.dropFirst())' uses filter \(missing.id) (\(missing.name)), which neither FeedBench nor HDF5 (no plugin found) can decode")
            }
            guard unsupported.isEmpty else { return .library }  // HDF5's plugin decodes it
            let chunked = try ChunkedDataset(file: path, dataset: data, elementSize: type.size, context: context)
            if data.filters.isEmpty, let starts = chunked.blockStarts, let mapping = chunked.mapping {
                return .mapped(mapping, RowOffsets(starts: starts, rowsPerBlock: chunked.blockRows, rowBytes: rowBytes))
            }
            return .chunks(chunked)
        case .virtual:
            try checkVirtualSources(data, path: path, context: context)
            return .library
        case .compact:
            return .library
        }
    }

    /// A virtual dataset whose source file or dataset is missing reads as fill values
    /// through `H5Dread`, without an error: each source is looked up the way HDF5 looks
    /// (an absolute name as it is; a relative one under `HDF5_VDS_PREFIX`, beside the
    /// virtual dataset's file, then in the working directory) and must hold its dataset.
    static func checkVirtualSources(_ data: Dataset, path: String, context: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var checked = Set<String>()
        for source in data.virtualSources() where checked.insert(source.file + "\u{0}" + source.dataset).inserted {
            let candidates: [String]
            if source.file == "." {
                candidates = [path]
            } else if source.file.hasPrefix("/") {
                candidates = [source.file]
            } else {
                let prefix = ProcessInfo.processInfo.environment["HDF5_VDS_PREFIX"].map { [($0 as NSString).appendingPathComponent(source.file)] } ?? []
                candidates = prefix + [(directory as NSString).appendingPathComponent(source.file),
                                       (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(source.file)]
            }
            guard let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
                throw DataSourceError(context, "'\(data.path.dropFirst())' is a virtual dataset whose source file \(source.file) is missing (HDF5 would return fill values for its rows)")
            }
            guard (try? File.open(found).root.dataset(source.dataset)) != nil else {
                throw DataSourceError(context, "'\(data.path.dropFirst())' is a virtual dataset whose source \(found):\(source.dataset) is missing (HDF5 would return fill values for its rows)")
            }
        }
    }

    public var files: [String] { members.map(\.path) }
    public var storedType: StoredType? { members.first?.elementType }

    public func evictFromPageCache() {
        for member in members {
            switch member.access {
            case .mapped(let mapping, _): mapping.dropPages()
            case .chunks(let chunked): chunked.dropPages()
            case .library: break
            }
        }
        PageCache.evict(files)
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        guard options.batchSize >= 1 else { throw DataSourceError(name, "batch size must be at least 1") }
        let reader = HDF5BatchReader(source: self, batchSize: options.batchSize)
        guard decodesChunks else { return CheckedIterator(PlannedIterator(self, options, fill: reader.fill), source: self) }
        let batches = EpochPlan.batches(EpochPlan.order(segments, options), options)
        let schedule = reader.schedule(batches, budget: options.decodedCacheBytes ?? decodedCacheBytes)
        // The consuming thread works on the batches too while it waits, so the pool's count
        // of threads is reached with one worker fewer (measured: three threads on two cores
        // read gzip 5 % slower than two).
        // Batches laid out ahead: four, fewer when batches are large (a 400-image batch of
        // 3×224×224 float32 is 241 MB; one batch of it already has chunks for every thread).
        let batchBytes = options.batchSize * sampleElements * MemoryLayout<Float>.size
        let ahead = max(1, min(Self.assembleAhead, (256 << 20) / max(batchBytes, 1)))
        return CheckedIterator(ChunkAssembler(reader: reader, batches: batches, schedule: schedule, sampleShape: sampleShape,
                                              ahead: ahead, threads: max(1, decodePool.threads - 1), ring: options.ring), source: self)
    }

    /// Throws naming the member file whose mapping faulted (it shrank while being read).
    func checkMappings() throws {
        for member in members {
            switch member.access {
            case .mapped(let mapping, _): try mapping.check()
            case .chunks(let chunked): try chunked.mapping?.check()
            case .library: break
            }
        }
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
