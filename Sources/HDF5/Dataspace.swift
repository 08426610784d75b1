import CHDF5

/// A simple dataspace with selections of whole rows (the first axis).
public final class Dataspace {
    let handle: Handle
    /// The extent of each axis.
    public let shape: [Int]

    /// A new dataspace of this shape, everything selected.
    public init(shape: [Int]) throws {
        HDF5Library.prepare()
        self.shape = shape
        let dims = shape.map { hsize_t($0) }
        let id = H5Screate_simple(Int32(dims.count), dims, nil)
        guard id >= 0 else { throw HDF5Error(file: "(memory)", operation: "create dataspace \(shape)") }
        handle = Handle(id, closer: H5Sclose)
    }

    init(handle: Handle) {
        self.handle = handle
        let rank = Int(H5Sget_simple_extent_ndims(handle.id))
        var dims = [hsize_t](repeating: 0, count: max(rank, 0))
        if rank > 0 { H5Sget_simple_extent_dims(handle.id, &dims, nil) }
        shape = dims.map { Int(clamping: $0) }  // a corrupt header's dimension: huge, not a trap
    }

    /// Selects the union of these row ranges (whole rows), replacing any selection.
    /// Data moves in ascending row order, whatever order the ranges are given in.
    public func selectRows(_ ranges: [Range<Int>]) throws {
        H5Sselect_none(handle.id)
        var start = [hsize_t](repeating: 0, count: shape.count)
        var count = shape.map { hsize_t($0) }
        for range in ranges where !range.isEmpty {
            guard range.lowerBound >= 0, range.upperBound <= (shape.first ?? 0) else {
                throw HDF5Error(file: "(memory)", operation: "select rows \(range) of \(shape)",
                                message: "rows out of range")
            }
            start[0] = hsize_t(range.lowerBound)
            count[0] = hsize_t(range.count)
            guard H5Sselect_hyperslab(handle.id, H5S_SELECT_OR, start, nil, count, nil) >= 0 else {
                throw HDF5Error(file: "(memory)", operation: "select rows \(range)")
            }
        }
    }

    /// The number of elements selected.
    public var selectedCount: Int { Int(H5Sget_select_npoints(handle.id)) }
}
