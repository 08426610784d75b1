import Foundation
import HDF5

/// A chunked dataset read chunk by chunk without HDF5's filter pipeline: each chunk's
/// stored bytes come from a read-only mapping of the file (at the address HDF5 reports), or,
/// for datasets with too many chunks to locate up front, from `H5Dread_chunk`; FeedBench's
/// `FilterPipeline` undoes the filters.
///
/// Rows are grouped in blocks: all the chunks that share a first-axis offset. When chunks
/// hold whole samples (the usual layout, and what FeedBench writes), a block is one chunk.
final class ChunkedDataset {
    let file: String
    let datasetPath: String
    let dataset: Dataset
    let shape: [Int]
    let chunkShape: [Int]
    let elementSize: Int
    let pipeline: FilterPipeline
    /// Rows per block (the chunk's first extent).
    let blockRows: Int
    /// Bytes of one sample, stored.
    let rowBytes: Int
    /// Bytes a block buffer holds: a whole chunk's rows (the last block's padding included).
    let blockBytes: Int
    /// Bytes of one decoded chunk.
    let chunkBytes: Int
    /// Whether chunks span whole samples (one chunk a block).
    let wholeRows: Bool
    /// Chunks per block, and their grid along the axes after the first.
    let grid: [Int]
    let chunksPerBlock: Int
    /// Where each chunk is (block-major, then grid order), when located up front.
    private let locations: [ChunkLocation]?
    /// The file mapped read-only, when the chunks were located up front.
    let mapping: FileMapping?

    /// Each block's file offset, when every block is one located chunk (for unfiltered data
    /// read straight from the mapping).
    var blockStarts: [Int]? {
        guard wholeRows, chunksPerBlock == 1, let locations, mapping != nil else { return nil }
        return locations.map(\.address)
    }

    /// Unmaps this process's pages of the file (for a cold epoch).
    func dropPages() { mapping?.dropPages() }

    var blockCount: Int { shape[0] == 0 ? 0 : (shape[0] + blockRows - 1) / blockRows }

    /// Above this many chunks they are not located up front: HDF5 1.10 takes time
    /// quadratic in the chunk count to list them (about 0.25 s for 4,096).
    static let locateLimit = 4096

    /// Checks the layout and the filters and locates every chunk; errors name the file, the
    /// dataset and what is wrong (a filter nobody can undo, a chunk never written or lying
    /// outside the file).
    init(file: String, dataset: Dataset, elementSize: Int, context: String) throws {
        self.file = file
        self.dataset = dataset
        datasetPath = dataset.path
        shape = dataset.shape
        guard let chunk = dataset.chunkShape, chunk.count == shape.count, chunk.allSatisfy({ $0 > 0 }) else {
            throw DataSourceError(context, "'\(dataset.path.dropFirst())' is not chunked")
        }
        chunkShape = chunk
        self.elementSize = elementSize
        do {
            pipeline = try FilterPipeline.make(dataset.filters, elementSize: elementSize)
        } catch let e as FilterPipeline.Unsupported {
            throw DataSourceError(context, "'\(dataset.path.dropFirst())' uses filter \(e.filter.id) (\(e.filter.name)), which FeedBench does not decode")
        } catch let e as FilterPipeline.BadParameters {
            throw DataSourceError(context, "'\(dataset.path.dropFirst())': filter \(e.filter.id) (\(e.filter.name)) has wrong parameters: \(e.problem)")
        }
        blockRows = chunk[0]
        rowBytes = shape.dropFirst().reduce(1, *) * elementSize
        chunkBytes = chunk.reduce(1, *) * elementSize
        blockBytes = blockRows * rowBytes
        wholeRows = Array(chunk.dropFirst()) == Array(shape.dropFirst())
        grid = zip(shape.dropFirst(), chunk.dropFirst()).map { ($0 + $1 - 1) / $1 }
        chunksPerBlock = grid.reduce(1, *)
        let expected = (shape[0] + blockRows - 1) / blockRows * chunksPerBlock
        guard shape[0] > 0, chunksPerBlock > 0 else {
            (locations, mapping) = (nil, nil)
            return
        }
        let written = try dataset.chunkCount()
        guard written <= Self.locateLimit else {
            // Too many to list: each chunk is read by coordinates when needed.
            guard written == expected else { throw DataSourceError(context, Self.missingMessage(dataset, written: written, expected: expected)) }
            (locations, mapping) = (nil, nil)
            return
        }
        var found = [ChunkLocation?](repeating: nil, count: expected)
        for location in try dataset.chunkLocations() {
            guard let slot = Self.slot(of: location.offset, chunk: chunk, grid: grid, shape: shape), location.address >= 0 else {
                // Offsets HDF5 cannot report consistently (a known 1.10 bug with some
                // extensible layouts): read by coordinates instead.
                (locations, mapping) = (nil, nil)
                return
            }
            found[slot] = location
        }
        if let missing = found.firstIndex(where: { $0 == nil }) {
            throw DataSourceError(context, "'\(dataset.path.dropFirst())': the chunk at \(Self.describe(Self.offset(ofSlot: missing, chunk: chunk, grid: grid))) was never written (HDF5 would return fill values for it)")
        }
        let all = found.map { $0! }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        if let bad = all.first(where: { $0.address < 0 || $0.size < 0 || $0.address > size - $0.size }) {
            throw DataSourceError(context, "the file is truncated: the chunk at \(Self.describe(bad.offset)) of '\(dataset.path.dropFirst())' needs \(bad.address.addingReportingOverflow(bad.size).overflow ? "more than 2⁶³" : String(bad.address + bad.size)) bytes, the file has \(size)")
        }
        locations = all
        mapping = try FileMapping(path: file, context: context)
    }

    private static func missingMessage(_ dataset: Dataset, written: Int, expected: Int) -> String {
        "'\(dataset.path.dropFirst())' has \(written) chunks written of the \(expected) its extent needs (HDF5 would return fill values for the others)"
    }

    private func describe(_ offset: [Int]) -> String { Self.describe(offset) }
    private static func describe(_ offset: [Int]) -> String { "[" + offset.map(String.init).joined(separator: ", ") + "]" }

    /// The slot (block-major) of the chunk whose first element is at `offset`, if aligned and inside.
    private static func slot(of offset: [Int], chunk: [Int], grid: [Int], shape: [Int]) -> Int? {
        guard offset.count == shape.count else { return nil }
        var slot = 0
        for axis in 0..<shape.count {
            guard offset[axis] >= 0, offset[axis] < shape[axis], offset[axis] % chunk[axis] == 0 else { return nil }
            let index = offset[axis] / chunk[axis]
            slot = axis == 0 ? index : slot * grid[axis - 1] + index
        }
        return slot
    }

    private static func offset(ofSlot slot: Int, chunk: [Int], grid: [Int]) -> [Int] {
        var rest = slot
        var offset = [Int](repeating: 0, count: chunk.count)
        for axis in stride(from: chunk.count - 1, through: 1, by: -1) {
            offset[axis] = (rest % grid[axis - 1]) * chunk[axis]
            rest /= grid[axis - 1]
        }
        offset[0] = rest * chunk[0]
        return offset
    }

    /// The stored bytes a chunk of block `block` occupies, for the epoch's byte counts.
    func storedBytes(ofBlock block: Int) -> Int {
        guard let locations else { return blockBytes }
        return (0..<chunksPerBlock).reduce(0) { $0 + locations[block * chunksPerBlock + $1].size }
    }

    /// The stored bytes and filter mask of chunk `slot`, from the mapping or through HDF5.
    private func stored(_ slot: Int, _ offset: [Int], context: DecodeContext) throws -> (UnsafeRawBufferPointer, UInt32) {
        if let locations, let mapping {
            let l = locations[slot]
            return (UnsafeRawBufferPointer(start: mapping.base + l.address, count: l.size), l.filterMask)
        }
        guard let size = dataset.storedChunkSize(at: offset) else {
            throw CodecError("chunk", "never written (HDF5 would return fill values for it)")
        }
        let bytes = context.stored(size)
        let mask = try dataset.readChunk(at: offset, into: bytes.baseAddress!)
        return (UnsafeRawBufferPointer(bytes), mask)
    }

    /// Every chunk's stored bytes and mask, copied (for the decode limit, which decodes them
    /// from memory without HDF5 or the file).
    func copyStoredChunks() throws -> [(bytes: [UInt8], mask: UInt32)] {
        let context = DecodeContext()
        return try (0..<blockCount * chunksPerBlock).map { slot in
            let (bytes, mask) = try stored(slot, Self.offset(ofSlot: slot, chunk: chunkShape, grid: grid), context: context)
            return ([UInt8](bytes), mask)
        }
    }

    /// Decodes block `block` into `destination`, which holds `blockBytes`: rows in order, each
    /// sample's bytes contiguous. Errors name the file, dataset, chunk and codec. `copies`
    /// gives the stored chunks from memory instead of the file.
    func decodeBlock(_ block: Int, into destination: UnsafeMutableRawPointer, context: DecodeContext,
                     copies: [(bytes: [UInt8], mask: UInt32)]? = nil) throws {
        for k in 0..<chunksPerBlock {
            let slot = block * chunksPerBlock + k
            let offset = Self.offset(ofSlot: slot, chunk: chunkShape, grid: grid)
            do {
                let target = wholeRows ? UnsafeMutableRawBufferPointer(start: destination, count: chunkBytes) : context.chunk(chunkBytes)
                if let copies {
                    try copies[slot].bytes.withUnsafeBytes { try pipeline.decode($0, mask: copies[slot].mask, into: target, context: context) }
                } else {
                    let (bytes, mask) = try stored(slot, offset, context: context)
                    try pipeline.decode(bytes, mask: mask, into: target, context: context)
                }
                if !wholeRows { scatter(target, offset: offset, into: destination) }
            } catch let error as CodecError {
                throw DataSourceError(file, "'\(datasetPath.dropFirst())': the chunk at \(describe(offset)) does not decode (\(error.description))")
            } catch let error as HDF5Error {
                throw DataSourceError(file, "'\(datasetPath.dropFirst())': cannot read the chunk at \(describe(offset)) (\(error.stack.last ?? error.description))")
            }
        }
    }

    /// Copies a decoded chunk whose samples are split across chunks into its place in the
    /// block: for each of its rows, runs along the last axis.
    private func scatter(_ chunk: UnsafeMutableRawBufferPointer, offset: [Int], into block: UnsafeMutableRawPointer) {
        let rank = shape.count
        let sample = Array(shape.dropFirst())
        let inner = Array(chunkShape.dropFirst())
        let origin = Array(offset.dropFirst())
        let run = min(inner[rank - 2], sample[rank - 2] - origin[rank - 2]) * elementSize
        // Strides (elements) of a sample and of a chunk row, for the axes after the first.
        var sampleStride = [Int](repeating: 1, count: rank - 1), chunkStride = [Int](repeating: 1, count: rank - 1)
        for axis in stride(from: rank - 3, through: 0, by: -1) {
            sampleStride[axis] = sampleStride[axis + 1] * sample[axis + 1]
            chunkStride[axis] = chunkStride[axis + 1] * inner[axis + 1]
        }
        let chunkRowElements = inner.reduce(1, *)
        let limits = (0..<rank - 1).map { min(inner[$0], sample[$0] - origin[$0]) }
        let lines = limits.dropLast().reduce(1, *)
        for row in 0..<blockRows {
            for line in 0..<lines {
                var rest = line, from = 0, to = 0
                for axis in stride(from: rank - 3, through: 0, by: -1) {
                    let i = rest % limits[axis]
                    rest /= limits[axis]
                    from += i * chunkStride[axis]
                    to += (origin[axis] + i) * sampleStride[axis]
                }
                to += origin[rank - 2]
                let source = chunk.baseAddress! + (row * chunkRowElements + from) * elementSize
                let target = block + row * rowBytes + to * elementSize
                target.copyMemory(from: source, byteCount: run)
            }
        }
    }
}
