import Foundation
import Graph
import HDF5

/// HDF5 files (a list file or one `.h5`) whose `data` holds encoded images (JPEG or PNG),
/// with a `label` per image, in one of two layouts:
/// - `vlen`: `data` is [N] variable-length uint8 (h5py's `vlen_dtype(np.uint8)`), one image
///   per row, read through `H5Dread` (HDF5 copies each row out under its global lock; the
///   decoding happens after, in parallel, outside it);
/// - `offsets`: `data` is one flat uint8 dataset of all images back to back and `offsets`
///   is [N + 1] byte offsets (image i is bytes offsets[i]..<offsets[i+1]); an unfiltered
///   contiguous `data` in the opened file is read from a mapping, without HDF5.
///
/// Opening reads every image's header (size, channels): one line names the file and row of
/// the first that does not parse or does not fit (see `ImageSetShape`); with `--skip-bad`
/// every image is decoded once and those that fail are left out and counted.
public final class EncodedHDF5Source: DataSource, FileBacked {
    public let name: String
    public let sampleShape: [Int]
    public let sampleCount: Int
    public let classes: Int?
    public let segments: SampleSegments
    public let elementType: StoredType
    public var storedType: StoredType? { elementType }
    public let layout: WriterOptions.EncodedLayout
    public let imageFormats: [ImageFormat]
    public let skippedImages: Int
    public let firstSkippedImage: String?
    let images: ImageBatchDecoder
    let members: [Member]
    /// For each sample: its member and row.
    let locations: [(member: Int, row: Int)]
    let labels: [Float]

    struct Member {
        let path: String
        let context: String
        let file: File
        let data: Dataset
        /// offsets layout: [rows + 1] byte offsets, and the mapping of a contiguous `data`.
        let offsets: [Int]?
        let mapping: FileMapping?
        let mappedBase: Int
    }

    /// Runs the read of every variable-length row somewhere an HDF5 crash cannot take this
    /// process down, before this process reads them (HDF5 1.10.8 copies past its buffers when
    /// a corrupt file's global heap says so). The `feedbench` tool sets it to a child process;
    /// nil (library users, the child itself) reads in-process only.
    nonisolated(unsafe) public static var openCheck: ((String, DatasetKeys) throws -> Void)?

    /// The most bytes one encoded image may take (a corrupt index must not size a buffer).
    static let largestImage = 256 << 20

    /// Whether the first HDF5 file of `path` (a list or a file) holds encoded images.
    public static func holdsEncodedImages(_ path: String, keys: DatasetKeys) -> Bool {
        guard let first = (try? ListFile.members(of: path))?.first?.path,
              (try? InputFile.requireRegular(first)) != nil,
              let file = try? File.open(first), let data = try? file.root.dataset(keys.data) else { return false }
        return data.holdsVariableLengthBytes || (file.root.contains("offsets") && data.shape.count == 1 && data.elementType == .uint8)
    }

    public init(path: String, keys: DatasetKeys = .caffe, images options: ImageOptions = .standard) throws {
        name = path
        let entries = try ListFile.members(of: path)
        let transform = options.transform
        do { try transform.check(channels: 3) } catch { throw DataSourceError(path, "\(error)") }
        var members: [Member] = []
        var locations: [(member: Int, row: Int)] = []
        var labels: [Float] = []
        var fileSizes: [Int] = []
        var shape = ImageSetShape()
        var skipped = 0, firstSkipped: String? = nil
        var layout: WriterOptions.EncodedLayout?
        let headers = try ImageDecoder()
        var pendingBytes: [UInt8] = [], pending: [(start: Int, count: Int, sample: Int)] = []  // --skip-bad: the bytes to decode once
        for (filePath, context) in entries {
            try InputFile.requireRegular(filePath)
            let file: File
            do { file = try File.open(filePath) } catch let error as HDF5Error { throw DataSourceError(context, error.stack.last ?? "cannot open") }
            for key in [keys.data, keys.label] where !file.root.contains(key) {
                throw DataSourceError(context, keys.missing(key, in: file))
            }
            let data = try file.root.dataset(keys.data), label = try file.root.dataset(keys.label)
            let memberLayout: WriterOptions.EncodedLayout = data.holdsVariableLengthBytes ? .vlen : .offsets
            if memberLayout == .vlen {
                try Self.validateGlobalHeap(file: file, data: data, path: filePath, context: context)
                try Self.openCheck?(filePath, keys)
            }
            if let layout, layout != memberLayout { throw DataSourceError(context, "images stored as \(memberLayout.rawValue), the first file's as \(layout.rawValue)") }
            layout = memberLayout
            var offsets: [Int]? = nil
            var rows = data.rows
            // Storage HDF5 would fill in is refused before anything is read (a header can
            // declare any number of rows).
            try HDF5ListSource.checkWritten(label, context: context)
            try HDF5ListSource.checkWritten(data, context: context)
            if memberLayout == .offsets {
                guard file.root.contains("offsets") else { throw DataSourceError(context, "'\(keys.data)' is not variable-length and there is no 'offsets' index") }
                guard data.shape.count == 1, data.elementType == .uint8 else {
                    throw DataSourceError(context, "'\(keys.data)' with an 'offsets' index must be one flat uint8 dataset; it is \(data.storedTypeName) \(describe(shape: data.shape))")
                }
                let index = try file.root.dataset("offsets")
                try HDF5ListSource.checkWritten(index, context: context)
                guard index.shape.count == 1, index.rows >= 1, index.rows - 1 <= SizeLimits.memory / 8 else {
                    throw DataSourceError(context, "'offsets' has shape \(describe(shape: index.shape)); expected [N + 1]")
                }
                let values: [Int64] = try index.readAll(as: .int64)
                guard values.first == 0, zip(values, values.dropFirst()).allSatisfy({ $0 <= $1 }), (values.last ?? 0) <= Int64(data.rows) else {
                    throw DataSourceError(context, "'offsets' must rise from 0 to at most the \(data.rows) bytes of '\(keys.data)'")
                }
                offsets = values.map { Int($0) }
                rows = values.count - 1
                if let big = (0..<(values.count - 1)).first(where: { values[$0 + 1] - values[$0] > Int64(Self.largestImage) }) {
                    throw DataSourceError(context, "'offsets' gives image \(big) \(values[big + 1] - values[big]) bytes, more than the \(Self.largestImage >> 20) MiB an encoded image may take")
                }
            }
            guard label.shape.count == 1, label.rows == rows else {
                throw DataSourceError(context, "'\(keys.label)' has shape \(describe(shape: label.shape)); expected [\(rows)], one label per image")
            }
            let fileLabels: [Float] = try label.readAll(as: .float32)
            if let bad = fileLabels.firstIndex(where: { !$0.isFinite }) { throw DataSourceError(context, "label of row \(bad) is not a finite number") }
            // A contiguous, unfiltered `data` in this file is read from a mapping.
            var mapping: FileMapping? = nil, base = 0
            if memberLayout == .offsets, data.layout == .contiguous, data.bytesLiveInOpenedFile, let offset = data.contiguousFileOffset {
                let size = (try? FileManager.default.attributesOfItem(atPath: filePath)[.size] as? Int) ?? 0
                guard offset + data.rows <= size else { throw DataSourceError(context, "the file is truncated: '\(keys.data)' needs \(offset + data.rows) bytes, the file has \(size)") }
                mapping = try FileMapping(path: filePath, context: context)
                base = offset
            }
            let member = Member(path: filePath, context: context, file: file, data: data, offsets: offsets, mapping: mapping, mappedBase: base)
            let m = members.count
            members.append(member)
            var kept = 0
            // Every image's header, in blocks of rows.
            try Self.visit(member, rows: 0..<rows) { row, bytes in
                do {
                    let header = try headers.header(bytes)
                    try shape.add(header, transform: transform)
                } catch let error as ImageError {
                    guard options.skipsBadHeaders else { throw DataSourceError(context, "row \(row): \(error)") }
                    skipped += 1
                    if firstSkipped == nil { firstSkipped = "\(context): row \(row): \(error)" }
                    return
                }
                if options.decodesEveryImage {
                    pending.append((pendingBytes.count, bytes.count, locations.count))
                    pendingBytes += bytes
                }
                locations.append((m, row))
                labels.append(fileLabels[row])
                kept += 1
            }
            fileSizes.append(kept)
        }
        guard let sampleShape = shape.sampleShape(transform), !locations.isEmpty else {
            throw DataSourceError(path, skipped > 0 ? "no image decodes (\(skipped) skipped; the first: \(firstSkipped ?? "?"))" : "holds no samples")
        }
        do { try transform.check(channels: sampleShape[0]) } catch { throw DataSourceError(path, "\(error)") }
        let batchDecoder = ImageBatchDecoder(transform: transform, sampleShape: sampleShape, threads: options.decodeThreads)
        images = batchDecoder
        if options.decodesEveryImage {
            let (bad, first) = pendingBytes.withUnsafeBytes { buffer in
                batchDecoder.undecodable(pending.count) { i in UnsafeRawBufferPointer(rebasing: buffer[pending[i].start..<(pending[i].start + pending[i].count)]) }
            }
            if !bad.isEmpty {
                let badSamples = Set(bad.map { pending[$0].sample })
                if firstSkipped == nil, let i = bad.first {
                    let (m, row) = locations[pending[i].sample]
                    firstSkipped = "\(members[m].context): row \(row): \(first ?? "")"
                }
                skipped += bad.count
                var keptLocations: [(member: Int, row: Int)] = [], keptLabels: [Float] = []
                fileSizes = fileSizes.map { _ in 0 }
                for (i, location) in locations.enumerated() where !badSamples.contains(i) {
                    keptLocations.append(location)
                    keptLabels.append(labels[i])
                    fileSizes[location.member] += 1
                }
                (locations, labels) = (keptLocations, keptLabels)
            }
        }
        self.sampleShape = sampleShape
        self.members = members
        self.locations = locations
        self.labels = labels
        self.layout = layout ?? .vlen
        imageFormats = shape.formats.sorted { $0.rawValue < $1.rawValue }
        skippedImages = skipped
        firstSkippedImage = firstSkipped
        sampleCount = locations.count
        guard sampleCount > 0 else { throw DataSourceError(path, "no image decodes (\(skipped) skipped; the first: \(firstSkipped ?? "?"))") }
        classes = ClassLabels.count(maxLabel: Double(labels.max() ?? -1), allIntegral: labels.allSatisfy { $0 == $0.rounded() })
        segments = SampleSegments(fileSizes: fileSizes, chunkRows: fileSizes.map { _ in 64 })
        elementType = transform.meanValues.isEmpty && transform.scale == nil ? .uint8 : .float32
    }

    /// Checks, before HDF5 reads any row, that every row's variable-length reference points
    /// at a global-heap object of exactly the row's length inside a well-formed heap
    /// collection inside the file. libhdf5 1.10.8 trusts these: a heap object longer than its
    /// row overruns the row's buffer (`H5HG_read`), and some corrupt collections make it loop
    /// forever; which read pattern triggers it varies, so a check in a child process alone
    /// was not enough (the fuzzer found a file that passed it and crashed the epoch). Parsed
    /// here from the file format (a contiguous dataset's 16-byte elements: length, collection
    /// address, object index; a collection: "GCOL", version, size, then objects of index,
    /// reference count, reserved, size, data padded to 8). Chunked or external datasets and
    /// files with other address sizes are left to the child-process check.
    static func validateGlobalHeap(file: File, data: Dataset, path: String, context: String) throws {
        guard data.layout == .contiguous, data.bytesLiveInOpenedFile, data.rows > 0, let start = data.contiguousFileOffset,
              let sizes = file.addressAndLengthSizes, sizes.address == 8, sizes.length == 8 else { return }
        let mapping = try FileMapping(path: path, context: context)
        let length = mapping.length
        guard let end = SizeLimits.product([data.rows, 16]).map({ $0 + start }), end <= length else {
            throw DataSourceError(context, "the file is truncated: '\(data.path.dropFirst())' needs its \(data.rows) references past the end of the file")
        }
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: mapping.base.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: mapping.base.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: mapping.base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        var collections: [UInt64: [Int: Int]] = [:]  // address → object index → object size
        func collection(_ address: UInt64, row: Int) throws -> [Int: Int] {
            if let known = collections[address] { return known }
            func bad(_ what: String) -> DataSourceError {
                DataSourceError(context, "row \(row): the global heap collection at \(address) \(what) (a corrupt file)")
            }
            guard length >= 16, address <= UInt64(length - 16) else { throw bad("lies outside the file") }
            let at = Int(address)
            guard mapping.base.loadUnaligned(fromByteOffset: at, as: UInt32.self) == UInt32(littleEndian: 0x4C4F_4347),  // "GCOL"
                  mapping.base.load(fromByteOffset: at + 4, as: UInt8.self) == 1 else { throw bad("has no GCOL signature") }
            let size = u64(at + 8)
            guard size >= 16, size <= UInt64(length - at) else { throw bad("declares \(size) bytes") }
            let limit = at + Int(size)
            var objects: [Int: Int] = [:]
            var position = at + 16
            while position + 16 <= limit {
                let index = u16(position), objectSize = u64(position + 8)
                if index == 0 { break }  // free space ends the objects
                guard objectSize <= UInt64(limit - position - 16) else { throw bad("holds object \(index) of \(objectSize) bytes past its end") }
                guard objects[index] == nil else { throw bad("holds object \(index) twice") }
                objects[index] = Int(objectSize)
                position += 16 + (Int(objectSize) + 7) / 8 * 8
            }
            collections[address] = objects
            return objects
        }
        try mapping.check()
        for row in 0..<data.rows {
            let element = start + row * 16
            let count = u32(element), address = u64(element + 4), index = u32(element + 12)
            if count == 0 { continue }  // an empty row: refused later as "an empty record"
            guard let size = try collection(address, row: row)[index] else {
                throw DataSourceError(context, "row \(row): global heap object \(index) of the collection at \(address) does not exist (a corrupt file)")
            }
            guard size == count else {
                throw DataSourceError(context, "row \(row): holds \(count) bytes, but its global heap object has \(size) (a corrupt file)")
            }
        }
        try mapping.check()
    }

    /// Hands the bytes of rows `range` of `member` to `body`, in row order: from the
    /// mapping, or read through HDF5 in blocks (the bytes are valid only during the call).
    static func visit(_ member: Member, rows range: Range<Int>, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let block = 256
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + block)
            try visit(member, runs: [start..<end], body)
            start = end
        }
    }

    /// Hands the bytes of the rows in `runs` (ascending) to `body`.
    static func visit(_ member: Member, runs: [Range<Int>], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            if let offsets = member.offsets {
                if let mapping = member.mapping {
                    try mapping.check()
                    for run in runs {
                        for row in run {
                            try body(row, UnsafeRawBufferPointer(start: mapping.base + member.mappedBase + offsets[row], count: offsets[row + 1] - offsets[row]))
                        }
                    }
                    try mapping.check()
                } else {
                    for run in runs {
                        let first = offsets[run.lowerBound], last = offsets[run.upperBound]
                        var bytes = [UInt8](repeating: 0, count: last - first)
                        try bytes.withUnsafeMutableBytes { raw in
                            if last > first { try member.data.read(runs: [first..<last], into: raw.baseAddress!, as: .uint8) }
                            for row in run {
                                try body(row, UnsafeRawBufferPointer(rebasing: raw[(offsets[row] - first)..<(offsets[row + 1] - first)]))
                            }
                        }
                    }
                }
            } else {
                try member.data.readVariableLength(runs: runs, body)
            }
        } catch let error as HDF5Error {
            throw DataSourceError(member.context, error.description)
        }
    }

    public var files: [String] { members.map(\.path) }

    public func evictFromPageCache() {
        for member in members { member.mapping?.dropPages() }
        PageCache.evict(files)
    }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        let seed = options.seed
        return PlannedIterator(self, options) { [self] batch, indices in
            try read(indices, into: batch, seed: seed)
        }
    }

    /// Fills a batch: each file's rows gathered into ascending runs and read at once (mapped
    /// bytes are used in place), then every image decoded in parallel.
    func read(_ indices: ArraySlice<Int>, into batch: Batch, seed: UInt64) throws {
        var flat: [UInt8] = []
        var spans = [(mapped: UnsafeRawPointer?, start: Int, count: Int)](repeating: (nil, 0, 0), count: indices.count)
        var byMember: [Int: [(row: Int, slot: Int)]] = [:]
        for (slot, index) in indices.enumerated() {
            let (m, row) = locations[index]
            byMember[m, default: []].append((row, slot))
            batch.labels.pointer[slot] = labels[index]
        }
        for (m, wanted) in byMember {
            let sorted = wanted.sorted { $0.row < $1.row }
            var runs: [Range<Int>] = []
            var slotsOfRow: [Int: [Int]] = [:]
            for (row, slot) in sorted {
                if slotsOfRow[row] == nil {
                    if let last = runs.last, last.upperBound == row { runs[runs.count - 1] = last.lowerBound..<(row + 1) } else { runs.append(row..<(row + 1)) }
                }
                slotsOfRow[row, default: []].append(slot)
            }
            let mapped = members[m].mapping != nil
            try Self.visit(members[m], runs: runs) { row, bytes in
                for slot in slotsOfRow[row] ?? [] {
                    if mapped {
                        spans[slot] = (bytes.baseAddress, 0, bytes.count)
                    } else {
                        spans[slot] = (nil, flat.count, bytes.count)
                        flat += bytes
                    }
                }
            }
        }
        let first = indices.startIndex
        do {
            try flat.withUnsafeBytes { buffer in
                try images.decode(spans.count, record: { i in
                    let span = spans[i]
                    return span.mapped.map { UnsafeRawBufferPointer(start: $0, count: span.count) }
                        ?? UnsafeRawBufferPointer(rebasing: buffer[span.start..<(span.start + span.count)])
                }, sampleIndex: { indices[first + $0] }, seed: seed,
                describe: { i in let (m, row) = self.locations[indices[first + i]]; return "\(self.members[m].context): row \(row)" },
                into: batch.data.pointer)
            }
            // A mapped file truncated while the images were decoded: the zeros never count.
            for m in byMember.keys { try members[m].mapping?.check() }
        } catch let error as ImageError {
            throw DataSourceError(name, error.description)
        }
    }
}
