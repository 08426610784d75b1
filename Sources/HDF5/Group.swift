import CHDF5

/// A group: datasets, subgroups and attributes by name.
public final class Group {
    /// The file the group lives in (kept open while the group lives).
    public let file: File
    /// The group's path, such as `/` or `/params`.
    public let path: String
    private let handle: Handle?

    init(file: File, path: String, handle: Handle?) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    /// The identifier HDF5 calls take: the group's, or the file's for the root.
    var id: hid_t { handle?.id ?? file.handle.id }

    public func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// Whether a link of this name exists in the group.
    public func contains(_ name: String) -> Bool {
        HDF5Library.prepare()
        let result = H5Lexists(id, name, feedbench_H5P_DEFAULT()) > 0
        _ = HDF5Library.takeErrorStack()
        return result
    }

    /// The names of the group's members, in HDF5's name order.
    public func memberNames() throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw HDF5Error(file: file.path, object: path, operation: "list members") }
        return try (0..<info.nlinks).map { index in
            let size = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, feedbench_H5P_DEFAULT())
            guard size >= 0 else { throw HDF5Error(file: file.path, object: path, operation: "list members") }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, Int(size) + 1, feedbench_H5P_DEFAULT())
            return String(cString: buffer)
        }
    }

    /// Opens a subgroup.
    public func group(_ name: String) throws -> Group {
        HDF5Library.prepare()
        let gid = H5Gopen2(id, name, feedbench_H5P_DEFAULT())
        guard gid >= 0 else { throw HDF5Error(file: file.path, object: childPath(name), operation: "open group") }
        return Group(file: file, path: childPath(name), handle: Handle(gid, closer: H5Gclose))
    }

    /// Creates a subgroup.
    public func createGroup(_ name: String) throws -> Group {
        HDF5Library.prepare()
        let gid = H5Gcreate2(id, name, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT())
        guard gid >= 0 else { throw HDF5Error(file: file.path, object: childPath(name), operation: "create group") }
        return Group(file: file, path: childPath(name), handle: Handle(gid, closer: H5Gclose))
    }

    /// Creates `name` as an external link to `object` in the HDF5 file at `target`.
    public func createExternalLink(_ name: String, toFile target: String, object: String) throws {
        HDF5Library.prepare()
        guard H5Lcreate_external(target, object, id, name, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT()) >= 0 else {
            throw HDF5Error(file: file.path, object: childPath(name), operation: "create an external link to \(target):\(object)")
        }
    }

    /// Opens a dataset. `chunkCache` sets the dataset's chunk cache (bytes and hash slots);
    /// without it HDF5's default (1 MiB) applies.
    public func dataset(_ name: String, chunkCache: ChunkCache? = nil) throws -> Dataset {
        HDF5Library.prepare()
        let objectPath = childPath(name)
        guard contains(name) else {
            throw HDF5Error(file: file.path, object: objectPath, operation: "open dataset", message: "no such dataset")
        }
        let access = Handle(H5Pcreate(feedbench_H5P_DATASET_ACCESS()), closer: H5Pclose)
        if let chunkCache {
            H5Pset_chunk_cache(access.id, chunkCache.slots, chunkCache.bytes, 1.0)
        }
        let did = H5Dopen2(id, name, access.id)
        guard did >= 0 else { throw HDF5Error(file: file.path, object: objectPath, operation: "open dataset") }
        return try Dataset(file: file, path: objectPath, handle: Handle(did, closer: H5Dclose))
    }

    /// Creates a dataset of `type` and `shape`. With `chunkRows`, the dataset is chunked by
    /// that many rows (whole samples); `gzipLevel` (0–9) compresses it and needs chunks.
    public func createDataset(
        _ name: String, type: ElementType, shape: [Int], chunkRows: Int? = nil, gzipLevel: Int? = nil
    ) throws -> Dataset {
        try createDataset(name, type: type, shape: shape, chunkRows: chunkRows,
                          filters: gzipLevel.map { [Filter(id: 1, values: [UInt32($0)])] } ?? [])
    }

    /// Creates a chunked (or, without `chunkRows`, contiguous) dataset with a filter pipeline,
    /// in order. A filter HDF5 has no plugin for is accepted when it is optional (flags 1), and
    /// then its chunks can only be written already filtered (`Dataset.writeChunk`); its
    /// parameters are stored as given, so give them complete.
    public func createDataset(
        _ name: String, type: ElementType, shape: [Int], chunkRows: Int?, filters: [Filter]
    ) throws -> Dataset {
        HDF5Library.prepare()
        let objectPath = childPath(name)
        let space = try Dataspace(shape: shape)
        let create = Handle(H5Pcreate(feedbench_H5P_DATASET_CREATE()), closer: H5Pclose)
        if let chunkRows {
            var chunk = [hsize_t](shape.map { hsize_t($0) })
            chunk[0] = hsize_t(max(1, min(chunkRows, max(shape[0], 1))))
            guard H5Pset_chunk(create.id, Int32(chunk.count), chunk) >= 0 else {
                throw HDF5Error(file: file.path, object: objectPath, operation: "set chunk shape")
            }
            for filter in filters {
                guard H5Pset_filter(create.id, filter.id, filter.flags, filter.values.count, filter.values) >= 0 else {
                    throw HDF5Error(file: file.path, object: objectPath, operation: "set filter \(filter)")
                }
            }
        } else if !filters.isEmpty {
            throw HDF5Error(file: file.path, object: objectPath, operation: "create dataset",
                            message: "compression needs a chunked layout")
        }
        let did = H5Dcreate2(id, name, type.nativeType, space.handle.id, feedbench_H5P_DEFAULT(), create.id, feedbench_H5P_DEFAULT())
        guard did >= 0 else { throw HDF5Error(file: file.path, object: objectPath, operation: "create dataset") }
        return try Dataset(file: file, path: objectPath, handle: Handle(did, closer: H5Dclose))
    }

    /// One source of a virtual dataset: rows `0..<rows` of `dataset` in `file` ("." for this
    /// file), placed at rows `at..<at + rows` of the virtual dataset.
    public struct VirtualSource: Sendable {
        public var file: String, dataset: String, rows: Int, at: Int
        public init(file: String, dataset: String, rows: Int, at: Int) {
            self.file = file
            self.dataset = dataset
            self.rows = rows
            self.at = at
        }
    }

    /// Creates a virtual dataset of `type` and `shape` whose rows come from other datasets
    /// (each source's row shape is `shape` without its first axis).
    public func createVirtualDataset(_ name: String, type: ElementType, shape: [Int], sources: [VirtualSource]) throws -> Dataset {
        HDF5Library.prepare()
        let objectPath = childPath(name)
        let space = try Dataspace(shape: shape)
        let create = Handle(H5Pcreate(feedbench_H5P_DATASET_CREATE()), closer: H5Pclose)
        for source in sources {
            try space.selectRows([source.at..<(source.at + source.rows)])
            let sourceSpace = try Dataspace(shape: [source.rows] + shape.dropFirst())
            guard H5Pset_virtual(create.id, space.handle.id, source.file, source.dataset, sourceSpace.handle.id) >= 0 else {
                throw HDF5Error(file: file.path, object: objectPath, operation: "map \(source.file):\(source.dataset)")
            }
        }
        let full = try Dataspace(shape: shape)
        let did = H5Dcreate2(id, name, type.nativeType, full.handle.id, feedbench_H5P_DEFAULT(), create.id, feedbench_H5P_DEFAULT())
        guard did >= 0 else { throw HDF5Error(file: file.path, object: objectPath, operation: "create virtual dataset") }
        return try Dataset(file: file, path: objectPath, handle: Handle(did, closer: H5Dclose))
    }

    // MARK: Attributes

    /// Writes a string attribute on the group (replacing one of that name).
    public func setAttribute(_ name: String, string value: String) throws {
        try Attributes.write(on: id, name: name, string: value, file: file.path, object: path)
    }

    /// Writes an integer attribute on the group (replacing one of that name).
    public func setAttribute(_ name: String, integer value: Int) throws {
        try Attributes.write(on: id, name: name, integer: value, file: file.path, object: path)
    }

    /// Reads a string attribute, or nil when there is none.
    public func stringAttribute(_ name: String) throws -> String? {
        try Attributes.readString(from: id, name: name, file: file.path, object: path)
    }

    /// Reads an integer attribute, or nil when there is none.
    public func integerAttribute(_ name: String) throws -> Int? {
        try Attributes.readInteger(from: id, name: name, file: file.path, object: path)
    }
}

/// A dataset's chunk cache: its size in bytes and its number of hash slots (a prime about
/// 100 times the number of chunks that fit works best).
public struct ChunkCache: Sendable, Equatable {
    public var bytes: Int
    public var slots: Int
    public init(bytes: Int, slots: Int) {
        self.bytes = bytes
        self.slots = slots
    }
}
