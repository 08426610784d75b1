import CHDF5
import Foundation

/// How a dataset's elements are stored.
public enum Layout: String, Sendable {
    case contiguous, chunked, compact, virtual
}

/// A filter in a chunked dataset's pipeline: HDF5's id, its flags and its parameters
/// (`cd_values`), as stored in the file.
public struct Filter: Sendable, Equatable, CustomStringConvertible {
    /// HDF5's filter id: 1 deflate, 2 shuffle, 3 Fletcher-32, 32004 LZ4, 32015 Zstandard,
    /// 32001 Blosc, 32008 Bitshuffle, …
    public let id: Int32
    /// A short name: FeedBench's for the filters above, else the one stored in the file.
    public let name: String
    /// `H5Z_FLAG_OPTIONAL` (1) or mandatory (0).
    public let flags: UInt32
    /// The filter's parameters (`cd_values`).
    public let values: [UInt32]

    public init(id: Int32, name: String? = nil, flags: UInt32 = 1, values: [UInt32] = []) {
        self.id = id
        self.name = name ?? Filter.knownNames[id] ?? "filter \(id)"
        self.flags = flags
        self.values = values
    }

    /// Names of the filters whose ids are registered with The HDF Group.
    public static let knownNames: [Int32: String] = [
        1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
        32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd",
    ]

    /// The deflate level, for a deflate filter.
    public var level: Int? { id == 1 ? values.first.map(Int.init) : nil }

    /// `deflate(4)`, `shuffle`, `blosc(2,2,1,196608,5,1,1)`.
    public var description: String {
        let shown = id == 2 || id == 3 ? [] : values  // shuffle's element size and Fletcher's nothing
        return shown.isEmpty ? name : "\(name)(\(shown.map(String.init).joined(separator: ",")))"
    }
}

/// Where one stored chunk is: its first element's coordinates, the filters skipped for it
/// (bit i set: filter i of the pipeline was not applied), its address and size in the file.
public struct ChunkLocation: Sendable, Equatable {
    public let offset: [Int]
    public let filterMask: UInt32
    public let address: Int
    public let size: Int
}

/// An open dataset: its shape, type and layout, and row reads into caller-owned memory.
///
/// Rows are slices along the first axis (samples). A read converts from the stored type to
/// the requested one (HDF5 does the conversion), and writes into memory the caller owns:
/// nothing is allocated per read beyond HDF5's own conversion buffer.
public final class Dataset {
    /// The file the dataset lives in (kept open while the dataset lives).
    public let file: File
    /// The dataset's path inside the file.
    public let path: String
    let handle: Handle
    /// The extent of each axis.
    public let shape: [Int]
    /// The stored element type, or nil when FeedBench does not read it.
    public let elementType: ElementType?
    /// The stored type, described (`uint8`, `float32`, `string`, …).
    public let storedTypeName: String
    public let layout: Layout
    /// The chunk shape for a chunked dataset.
    public let chunkShape: [Int]?
    public let filters: [Filter]

    init(file: File, path: String, handle: Handle) throws {
        self.file = file
        self.path = path
        self.handle = handle
        let space = Dataspace(handle: Handle(H5Dget_space(handle.id), closer: H5Sclose))
        shape = space.shape
        let type = Handle(H5Dget_type(handle.id), closer: H5Tclose)
        elementType = ElementType(datatype: type.id)
        storedTypeName = ElementType.describe(datatype: type.id)
        let create = Handle(H5Dget_create_plist(handle.id), closer: H5Pclose)
        switch H5Pget_layout(create.id) {
        case H5D_CHUNKED:
            layout = .chunked
            var dims = [hsize_t](repeating: 0, count: max(shape.count, 1))
            let rank = H5Pget_chunk(create.id, Int32(dims.count), &dims)
            chunkShape = rank > 0 ? dims.prefix(Int(rank)).map { Int(clamping: $0) } : nil
        case H5D_COMPACT: layout = .compact; chunkShape = nil
        case H5D_VIRTUAL: layout = .virtual; chunkShape = nil
        default: layout = .contiguous; chunkShape = nil
        }
        var filters: [Filter] = []
        let count = H5Pget_nfilters(create.id)
        for index in 0..<max(count, 0) {
            var flags: UInt32 = 0, elements = 16, config: UInt32 = 0
            var values = [UInt32](repeating: 0, count: 16)
            var name = [CChar](repeating: 0, count: 256)
            let id = H5Pget_filter2(create.id, UInt32(index), &flags, &elements, &values, 256, &name, &config)
            let stored = String(cString: name)
            filters.append(Filter(id: id, name: Filter.knownNames[id] ?? (stored.isEmpty ? nil : stored), flags: flags,
                                  values: Array(values.prefix(min(max(elements, 0), values.count)))))
        }
        self.filters = filters
        _ = HDF5Library.takeErrorStack()
    }

    /// Rows along the first axis.
    public var rows: Int { shape.first ?? 0 }
    /// Elements in one row.
    public var rowElements: Int { shape.dropFirst().reduce(1, *) }

    /// Reads `rows` into `buffer` as `type`, row after row.
    /// - Precondition: `buffer` holds `rows.count × rowElements` elements of `type`.
    public func read(rows range: Range<Int>, into buffer: UnsafeMutableRawPointer, as type: ElementType) throws {
        try read(runs: [range], into: buffer, as: type)
    }

    /// Reads the union of several row ranges in one call, into `buffer` in ascending row
    /// order, as `type`. The ranges must not overlap.
    public func read(runs: [Range<Int>], into buffer: UnsafeMutableRawPointer, as type: ElementType) throws {
        let total = runs.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        let fileSpace = Dataspace(handle: Handle(H5Dget_space(handle.id), closer: H5Sclose))
        do {
            try fileSpace.selectRows(runs)
        } catch {
            throw HDF5Error(file: file.path, object: path, operation: "select rows", message: "\(error)")
        }
        guard fileSpace.selectedCount == total * rowElements else {
            throw HDF5Error(file: file.path, object: path, operation: "read rows", message: "row ranges overlap")
        }
        let memory = try Dataspace(shape: [total * rowElements])
        let status = H5Dread(handle.id, type.nativeType, memory.handle.id, fileSpace.handle.id, feedbench_H5P_DEFAULT(), buffer)
        guard status >= 0 else {
            let what = runs.count == 1 ? "rows \(runs[0].lowerBound)..<\(runs[0].upperBound)" : "\(total) rows in \(runs.count) runs"
            throw HDF5Error(file: file.path, object: path, operation: "read \(what)")
        }
    }

    /// Writes rows from `buffer`, which holds `range.count × rowElements` elements of `type`.
    public func write(rows range: Range<Int>, from buffer: UnsafeRawPointer, as type: ElementType) throws {
        guard !range.isEmpty else { return }
        let fileSpace = Dataspace(handle: Handle(H5Dget_space(handle.id), closer: H5Sclose))
        try fileSpace.selectRows([range])
        let memory = try Dataspace(shape: [range.count * rowElements])
        guard H5Dwrite(handle.id, type.nativeType, memory.handle.id, fileSpace.handle.id, feedbench_H5P_DEFAULT(), buffer) >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "write rows \(range.lowerBound)..<\(range.upperBound)")
        }
    }

    /// Reads the whole dataset as `T` (HDF5 converts).
    public func readAll<T: BitwiseCopyable>(as type: ElementType, _: T.Type = T.self) throws -> [T] {
        let count = shape.reduce(1, *)
        var values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = count
            _ = buffer
        }
        try values.withUnsafeMutableBytes { raw in
            guard count > 0 else { return }
            guard H5Dread(handle.id, type.nativeType, feedbench_H5S_ALL(), feedbench_H5S_ALL(), feedbench_H5P_DEFAULT(), raw.baseAddress) >= 0 else {
                throw HDF5Error(file: file.path, object: path, operation: "read")
            }
        }
        return values
    }

    /// Whether the dataset's bytes live in the file that was opened: false when the dataset
    /// was reached through an external link (it belongs to another file) or keeps its data in
    /// external files. Offsets into the opened file mean nothing then; read through HDF5.
    public var bytesLiveInOpenedFile: Bool {
        let owner = Handle(H5Iget_file_id(handle.id), closer: H5Fclose)
        guard owner.id >= 0 else { _ = HDF5Library.takeErrorStack(); return false }
        let length = H5Fget_name(owner.id, nil, 0)
        guard length > 0 else { _ = HDF5Library.takeErrorStack(); return false }
        var name = [CChar](repeating: 0, count: Int(length) + 1)
        H5Fget_name(owner.id, &name, Int(length) + 1)
        let ownerPath = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().standardized.path }
        guard resolved(ownerPath) == resolved(file.path) else { return false }
        let create = Handle(H5Dget_create_plist(handle.id), closer: H5Pclose)
        return H5Pget_external_count(create.id) <= 0
    }

    /// A virtual dataset's sources as stored: each mapping's file name ("." for this file)
    /// and dataset path; empty for other layouts.
    public func virtualSources() -> [(file: String, dataset: String)] {
        guard layout == .virtual else { return [] }
        let create = Handle(H5Dget_create_plist(handle.id), closer: H5Pclose)
        var count = 0
        guard H5Pget_virtual_count(create.id, &count) >= 0 else { _ = HDF5Library.takeErrorStack(); return [] }
        func text(_ get: (UnsafeMutablePointer<CChar>?, Int) -> Int) -> String {
            let length = get(nil, 0)
            guard length > 0 else { return "" }
            var buffer = [CChar](repeating: 0, count: length + 1)
            _ = get(&buffer, length + 1)
            return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return (0..<count).map { i in
            (text { H5Pget_virtual_filename(create.id, i, $0, $1) }, text { H5Pget_virtual_dsetname(create.id, i, $0, $1) })
        }
    }

    /// Bytes the dataset's data occupies in the file (`H5Dget_storage_size`: compressed chunks
    /// at their stored size).
    public var storageSize: Int { Int(clamping: H5Dget_storage_size(handle.id)) }

    /// Where a contiguous, allocated dataset's bytes start in the file, or nil.
    public var contiguousFileOffset: Int? {
        guard layout == .contiguous else { return nil }
        let address = H5Dget_offset(handle.id)
        _ = HDF5Library.takeErrorStack()
        return address == haddr_t.max ? nil : Int(clamping: address)
    }

    // MARK: Chunks

    /// The number of chunks written (`H5Dget_num_chunks`).
    public func chunkCount() throws -> Int {
        let space = Handle(H5Dget_space(handle.id), closer: H5Sclose)
        var count: hsize_t = 0
        guard H5Dget_num_chunks(handle.id, space.id, &count) >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "count chunks")
        }
        return Int(clamping: count)
    }

    /// Every written chunk's location, in the index's order (`H5Dget_chunk_info` by index).
    ///
    /// In HDF5 1.10 each call walks the chunk index from its start, so this costs time
    /// quadratic in the chunk count: about 6 s for 20,000 chunks. Callers with many chunks
    /// read them by coordinates instead (`readChunk`).
    public func chunkLocations() throws -> [ChunkLocation] {
        let count = try chunkCount()
        let space = Handle(H5Dget_space(handle.id), closer: H5Sclose)
        var offset = [hsize_t](repeating: 0, count: max(shape.count, 1))
        return try (0..<count).map { i in
            var mask: UInt32 = 0, address: haddr_t = 0, size: hsize_t = 0
            guard H5Dget_chunk_info(handle.id, space.id, hsize_t(i), &offset, &mask, &address, &size) >= 0 else {
                throw HDF5Error(file: file.path, object: path, operation: "locate chunk \(i)")
            }
            // A corrupt chunk index can hold any 64-bit value: clamped (and then refused by
            // the callers' checks against the file's size), never a trap.
            return ChunkLocation(offset: offset.prefix(shape.count).map { Int(clamping: $0) }, filterMask: mask,
                                 address: address == feedbench_HADDR_UNDEF() ? -1 : Int(clamping: address), size: Int(clamping: size))
        }
    }

    /// The stored size of the chunk whose first element is at `offset`, or nil when that
    /// chunk was never written.
    public func storedChunkSize(at offset: [Int]) -> Int? {
        HDF5Library.prepare()
        var size: hsize_t = 0
        let status = H5Dget_chunk_storage_size(handle.id, offset.map { hsize_t($0) }, &size)
        _ = HDF5Library.takeErrorStack()  // a missing chunk is an error in 1.10; not one here
        return status >= 0 && size > 0 ? Int(clamping: size) : nil
    }

    /// Reads the stored (still filtered) bytes of the chunk at `offset` into `buffer`, which
    /// holds at least `storedChunkSize(at:)` bytes; returns the chunk's filter mask.
    public func readChunk(at offset: [Int], into buffer: UnsafeMutableRawPointer) throws -> UInt32 {
        HDF5Library.prepare()
        var mask: UInt32 = 0
        guard H5Dread_chunk(handle.id, feedbench_H5P_DEFAULT(), offset.map { hsize_t($0) }, &mask, buffer) >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "read the chunk at \(offset)")
        }
        return mask
    }

    /// Writes already filtered bytes as the chunk at `offset` (`H5Dwrite_chunk`);
    /// `filterMask` says which filters of the pipeline were not applied.
    public func writeChunk(at offset: [Int], bytes: UnsafeRawBufferPointer, filterMask: UInt32 = 0) throws {
        guard H5Dwrite_chunk(handle.id, feedbench_H5P_DEFAULT(), filterMask, offset.map { hsize_t($0) }, bytes.count, bytes.baseAddress) >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "write the chunk at \(offset)")
        }
    }

    /// Flushes and closes the dataset; later calls do nothing.
    public func close() throws {
        try handle.close { HDF5Error(file: file.path, object: path, operation: "close") }
    }

    // MARK: Attributes

    public func setAttribute(_ name: String, string value: String) throws {
        try Attributes.write(on: handle.id, name: name, string: value, file: file.path, object: path)
    }

    public func stringAttribute(_ name: String) throws -> String? {
        try Attributes.readString(from: handle.id, name: name, file: file.path, object: path)
    }
}
