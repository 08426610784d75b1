import CHDF5

/// How a dataset's elements are stored.
public enum Layout: String, Sendable {
    case contiguous, chunked, compact, virtual
}

/// A filter in a chunked dataset's pipeline.
public struct Filter: Sendable, Equatable, CustomStringConvertible {
    /// HDF5's filter name (`deflate`, `shuffle`, …).
    public let name: String
    /// The filter's first parameter (the gzip level for `deflate`), if any.
    public let level: Int?
    public var description: String { level.map { "\(name)(\($0))" } ?? name }

    public init(name: String, level: Int?) {
        self.name = name
        self.level = level
    }
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
            chunkShape = rank > 0 ? dims.prefix(Int(rank)).map { Int($0) } : nil
        case H5D_COMPACT: layout = .compact; chunkShape = nil
        case H5D_VIRTUAL: layout = .virtual; chunkShape = nil
        default: layout = .contiguous; chunkShape = nil
        }
        var filters: [Filter] = []
        let count = H5Pget_nfilters(create.id)
        for index in 0..<max(count, 0) {
            var flags: UInt32 = 0, elements = 4, config: UInt32 = 0
            var values = [UInt32](repeating: 0, count: 4)
            var name = [CChar](repeating: 0, count: 64)
            H5Pget_filter2(create.id, UInt32(index), &flags, &elements, &values, 64, &name, &config)
            filters.append(Filter(name: String(cString: name), level: elements > 0 ? Int(values[0]) : nil))
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

    /// Where a contiguous, allocated dataset's bytes start in the file, or nil.
    public var contiguousFileOffset: Int? {
        guard layout == .contiguous else { return nil }
        let address = H5Dget_offset(handle.id)
        _ = HDF5Library.takeErrorStack()
        return address == haddr_t.max ? nil : Int(address)
    }

    /// For a chunked dataset without filters whose chunks hold whole rows, the file offset of
    /// each chunk in row order (nil for a chunk never written), or nil when that does not apply.
    public func chunkFileOffsets() throws -> [Int?]? {
        guard layout == .chunked, filters.isEmpty, let chunkShape, chunkShape.dropFirst().elementsEqual(shape.dropFirst()) else {
            return nil
        }
        let chunkRows = chunkShape[0]
        let chunks = (rows + chunkRows - 1) / max(chunkRows, 1)
        var coordinate = [hsize_t](repeating: 0, count: shape.count)
        return try (0..<chunks).map { k in
            coordinate[0] = hsize_t(k * chunkRows)
            var mask: UInt32 = 0, address: haddr_t = 0, size: hsize_t = 0
            guard H5Dget_chunk_info_by_coord(handle.id, coordinate, &mask, &address, &size) >= 0 else {
                throw HDF5Error(file: file.path, object: path, operation: "locate chunk \(k)")
            }
            return address == haddr_t.max ? nil : Int(address)
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
