import CHDF5

/// Variable-length uint8 rows (h5py's `vlen_dtype(np.uint8)`): one encoded image per row.
extension Dataset {
    /// Whether each element is a variable-length sequence of 1-byte integers.
    public var holdsVariableLengthBytes: Bool {
        let type = Handle(H5Dget_type(handle.id), closer: H5Tclose)
        guard H5Tget_class(type.id) == H5T_VLEN else { return false }
        let base = Handle(H5Tget_super(type.id), closer: H5Tclose)
        return H5Tget_class(base.id) == H5T_INTEGER && H5Tget_size(base.id) == 1
    }

    /// Reads the rows in `runs` (ascending, not overlapping) and hands each row's bytes, in
    /// ascending row order, to `body`; the bytes are valid only during the call (HDF5's
    /// buffers are reclaimed after it).
    public func readVariableLength(runs: [Range<Int>], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let total = runs.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        HDF5Library.prepare()
        let fileSpace = Dataspace(handle: Handle(H5Dget_space(handle.id), closer: H5Sclose))
        try fileSpace.selectRows(runs)
        let memory = try Dataspace(shape: [total])
        let type = Handle(H5Tvlen_create(feedbench_H5T_NATIVE_UINT8()), closer: H5Tclose)
        var rows = [hvl_t](repeating: hvl_t(len: 0, p: nil), count: total)
        // Reclaimed whether or not the read completes (a read failing half way has allocated
        // some rows; zeroed entries are skipped).
        defer { H5Dvlen_reclaim(type.id, memory.handle.id, feedbench_H5P_DEFAULT(), &rows) }
        guard H5Dread(handle.id, type.id, memory.handle.id, fileSpace.handle.id, feedbench_H5P_DEFAULT(), &rows) >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "read \(total) variable-length rows")
        }
        var position = 0
        for run in runs {
            for row in run {
                let item = rows[position]
                try body(row, UnsafeRawBufferPointer(start: item.p, count: item.len))
                position += 1
            }
        }
    }

    /// Writes rows `range` from `items` (one byte sequence per row).
    public func writeVariableLength(rows range: Range<Int>, _ items: [[UInt8]]) throws {
        precondition(items.count == range.count)
        guard !range.isEmpty else { return }
        let fileSpace = Dataspace(handle: Handle(H5Dget_space(handle.id), closer: H5Sclose))
        try fileSpace.selectRows([range])
        let memory = try Dataspace(shape: [range.count])
        let type = Handle(H5Tvlen_create(feedbench_H5T_NATIVE_UINT8()), closer: H5Tclose)
        // hvl_t holds non-const pointers: the items are copied into one buffer HDF5 only reads.
        var storage = items.flatMap { $0 }
        let status = storage.withUnsafeMutableBytes { raw -> herr_t in
            var offset = 0
            var rows = items.map { item -> hvl_t in
                defer { offset += item.count }
                return hvl_t(len: item.count, p: item.isEmpty ? nil : raw.baseAddress! + offset)
            }
            return H5Dwrite(handle.id, type.id, memory.handle.id, fileSpace.handle.id, feedbench_H5P_DEFAULT(), &rows)
        }
        guard status >= 0 else {
            throw HDF5Error(file: file.path, object: path, operation: "write variable-length rows \(range.lowerBound)..<\(range.upperBound)")
        }
    }
}

extension Group {
    /// Creates a contiguous dataset of `rows` variable-length uint8 rows (HDF5 keeps each
    /// row's bytes in the file's global heap and the references in the dataset).
    public func createVariableLengthBytesDataset(_ name: String, rows: Int) throws -> Dataset {
        HDF5Library.prepare()
        let objectPath = childPath(name)
        let space = try Dataspace(shape: [rows])
        let type = Handle(H5Tvlen_create(feedbench_H5T_NATIVE_UINT8()), closer: H5Tclose)
        let did = H5Dcreate2(id, name, type.id, space.handle.id, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT())
        guard did >= 0 else { throw HDF5Error(file: file.path, object: objectPath, operation: "create a variable-length dataset") }
        return try Dataset(file: file, path: objectPath, handle: Handle(did, closer: H5Dclose))
    }
}

extension File {
    /// The sizes of file addresses and lengths (`H5Pget_sizes`; 8 and 8 unless the file was
    /// made otherwise).
    public var addressAndLengthSizes: (address: Int, length: Int)? {
        let create = Handle(H5Fget_create_plist(handle.id), closer: H5Pclose)
        var address = 0, length = 0
        guard create.id >= 0, H5Pget_sizes(create.id, &address, &length) >= 0 else { _ = HDF5Library.takeErrorStack(); return nil }
        return (address, length)
    }
}
