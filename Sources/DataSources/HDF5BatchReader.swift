import Foundation
import HDF5

/// Reads the batches of one epoch of an `HDF5ListSource`. A batch's samples are grouped by
/// file and sorted; then each member's rows come from its mapping, from its decoded chunks,
/// or through `H5Dread`. Chunks a batch needs and the cache does not hold are decoded in
/// parallel on the source's pool, and each decoded chunk's rows are converted straight into
/// the batch by the thread that decoded it.
final class HDF5BatchReader {
    private let source: HDF5ListSource
    private let starts: [Int]
    private let rowElements: Int
    private let cache: BlockCache
    private let contexts = ContextPool { DecodeContext() }
    let statistics = EpochStatistics()
    // Scratch, reused across batches.
    private var sorted: [(index: Int, slot: Int)] = []
    private var blocks: [(member: Int, block: Int, items: Range<Int>)] = []
    private let scratch: UnsafeMutableRawPointer

    init(source: HDF5ListSource, batchSize: Int, cacheBytes: Int) {
        self.source = source
        starts = source.segments.fileStarts
        rowElements = source.sampleElements
        cache = BlockCache(budget: cacheBytes)
        scratch = .allocate(byteCount: max(1, batchSize * rowElements * 8), alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// A block's key in the cache.
    @inline(__always) private func key(member: Int, block: Int) -> Int { member << 40 | block }

    /// Tells the cache which batches use which blocks, before the epoch starts.
    func plan(_ batches: [ArraySlice<Int>]) {
        guard source.decodesChunks else { return }
        for (position, indices) in batches.enumerated() {
            for index in indices {
                let (m, row) = source.locate(index, starts: starts)
                guard case .chunks(let chunked) = source.members[m].access else { continue }
                cache.plan(key(member: m, block: row / chunked.blockRows), bytes: chunked.blockBytes, position: position)
            }
        }
    }

    /// Fills `batch` with the samples at `indices`, the `position`-th batch of the epoch.
    func fill(_ batch: Batch, _ indices: ArraySlice<Int>, _ position: Int) throws {
        sorted.removeAll(keepingCapacity: true)
        blocks.removeAll(keepingCapacity: true)
        for (slot, index) in indices.enumerated() { sorted.append((index, slot)) }
        if !isAscending(sorted) { sorted.sort { $0.index < $1.index } }
        var i = 0
        while i < sorted.count {
            let (m, _) = source.locate(sorted[i].index, starts: starts)
            let end = starts[m] + source.members[m].rows
            var j = i
            while j < sorted.count && sorted[j].index < end { j += 1 }
            let member = source.members[m]
            for item in sorted[i..<j] { batch.labels.pointer[item.slot] = member.labels[item.index - starts[m]] }
            switch member.access {
            case .mapped(let mapping, let offsets):
                readMapped(member, mapping, offsets, base: starts[m], i..<j, into: batch)
            case .library:
                try readThroughLibrary(member, base: starts[m], i..<j, into: batch)
            case .chunks(let chunked):
                // Consecutive items of one block (rows are sorted) form one decode task.
                var k = i
                while k < j {
                    let block = (sorted[k].index - starts[m]) / chunked.blockRows
                    var e = k + 1
                    while e < j && (sorted[e].index - starts[m]) / chunked.blockRows == block { e += 1 }
                    blocks.append((m, block, k..<e))
                    k = e
                }
            }
            i = j
        }
        if !blocks.isEmpty { try readBlocks(into: batch, position: position) }
    }

    private func isAscending(_ items: [(index: Int, slot: Int)]) -> Bool {
        for k in items.indices.dropFirst() where items[k].index < items[k - 1].index { return false }
        return true
    }

    /// Decodes the blocks the cache lacks and converts every block's rows into the batch, in
    /// parallel, one task a block.
    private func readBlocks(into batch: Batch, position: Int) throws {
        let keys = blocks.map { key(member: $0.member, block: $0.block) }
        let buffers = cache.take(keys, position: position)
        let data = batch.data.pointer
        try source.decodePool.run(blocks.count) { t in
            let (m, block, items) = blocks[t]
            let member = source.members[m]
            guard case .chunks(let chunked) = member.access else { return }
            let (buffer, mustDecode) = buffers[t]
            if mustDecode {
                try contexts.with { try chunked.decodeBlock(block, into: buffer, context: $0) }
                let rows = min(chunked.blockRows, member.rows - block * chunked.blockRows)
                statistics.recordDecode(bytes: rows * chunked.rowBytes)
            }
            let first = block * chunked.blockRows, base = starts[m]
            var k = items.lowerBound
            while k < items.upperBound {
                // Runs of consecutive rows into consecutive slots convert in one pass.
                var count = 1
                while k + count < items.upperBound, sorted[k + count].index == sorted[k].index + count,
                      sorted[k + count].slot == sorted[k].slot + count { count += 1 }
                let row = sorted[k].index - base - first
                convertToFloat(buffer + row * chunked.rowBytes, type: member.elementType, count: count * rowElements,
                               scaling: member.scaling, into: data + sorted[k].slot * rowElements)
                k += count
            }
            statistics.recordDelivered(bytes: items.count * chunked.rowBytes)
        }
        cache.finish(keys, position: position)
    }

    /// Each run of consecutive rows inside one block converts straight from the mapping into
    /// consecutive slots, or row by row into scattered slots.
    private func readMapped(_ member: HDF5ListSource.Member, _ mapping: FileMapping, _ offsets: HDF5ListSource.RowOffsets,
                            base: Int, _ range: Range<Int>, into batch: Batch) {
        let data = batch.data.pointer
        var k = range.lowerBound
        while k < range.upperBound {
            let first = sorted[k].index - base
            var count = 1
            while k + count < range.upperBound, sorted[k + count].index - base == first + count,
                  sorted[k + count].slot == sorted[k].slot + count,
                  (first + count) / offsets.rowsPerBlock == first / offsets.rowsPerBlock {
                count += 1
            }
            convertToFloat(mapping.base + offsets.offset(first), type: member.elementType, count: count * rowElements,
                           scaling: member.scaling, into: data + sorted[k].slot * rowElements)
            k += count
        }
    }

    /// One `H5Dread` of the union of the rows' runs; rows arrive in ascending order.
    private func readThroughLibrary(_ member: HDF5ListSource.Member, base: Int, _ range: Range<Int>, into batch: Batch) throws {
        let type = member.elementType, rowBytes = rowElements * type.size
        var runs: [Range<Int>] = []
        for item in sorted[range] {
            let row = item.index - base
            if let last = runs.last, last.upperBound == row { runs[runs.count - 1] = last.lowerBound..<row + 1 } else { runs.append(row..<row + 1) }
        }
        do {
            try member.data.read(runs: runs, into: scratch, as: ElementType(type))
        } catch let error as HDF5Error {
            throw DataSourceError(member.path, "cannot read '\(member.data.path.dropFirst())' (\(error.stack.last ?? "read failed"))")
        }
        for (n, item) in sorted[range].enumerated() {
            convertToFloat(scratch + n * rowBytes, type: type, count: rowElements, scaling: member.scaling,
                           into: batch.data.pointer + item.slot * rowElements)
        }
    }
}
