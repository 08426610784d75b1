import Foundation
import HDF5

/// Reads batches of an `HDF5ListSource`. A batch's samples are grouped by file and sorted;
/// then each member's rows come from its mapping or through `H5Dread` (`fill`, for sets
/// without compressed chunks), or from its decoded chunks (`layOut` plus the block work a
/// `ChunkAssembler` runs on the decode threads).
final class HDF5BatchReader {
    private let source: HDF5ListSource
    private let starts: [Int]
    private let rowElements: Int
    let statistics = EpochStatistics()
    // Scratch of `fill`, reused across batches.
    private var sorted: [(index: Int, slot: Int)] = []
    private let scratch: UnsafeMutableRawPointer

    init(source: HDF5ListSource, batchSize: Int) {
        self.source = source
        starts = source.segments.fileStarts
        rowElements = source.sampleElements
        scratch = .allocate(byteCount: max(1, batchSize * rowElements * 8), alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// A block's key: its member and its index there.
    @inline(__always) func key(member: Int, block: Int) -> Int { member << 40 | block }

    /// The epoch's decodes, worked out from its plan (see `DecodeSchedule`).
    func schedule(_ batches: [ArraySlice<Int>], budget: Int) -> DecodeSchedule {
        var uses: [[(key: Int, bytes: Int)]] = []
        uses.reserveCapacity(batches.count)
        var order: [(index: Int, slot: Int)] = []
        for indices in batches {
            order.removeAll(keepingCapacity: true)
            for (slot, index) in indices.enumerated() { order.append((index, slot)) }
            order.sort { $0.index < $1.index }
            var blocks: [(key: Int, bytes: Int)] = []
            for item in order {
                let (m, row) = source.locate(item.index, starts: starts)
                guard case .chunks(let chunked) = source.members[m].access else { continue }
                let k = key(member: m, block: row / chunked.blockRows)
                if blocks.last?.key != k { blocks.append((k, chunked.blockBytes)) }
            }
            uses.append(blocks)
        }
        return DecodeSchedule(uses: uses, budget: budget)
    }

    /// Fills `batch` with the samples at `indices` (sets whose rows are mapped or read
    /// through HDF5).
    func fill(_ batch: Batch, _ indices: ArraySlice<Int>, _ position: Int) throws {
        let groups = try layOut(indices, into: batch)
        guard groups.blocks.isEmpty else { throw DataSourceError(source.name, "compressed chunks must be read by the chunk assembler") }
    }

    /// Sorts a batch's samples, fills its labels and the rows of members read from a mapping
    /// or through HDF5, and returns the sorted samples with the block groups of members
    /// whose chunks are decoded (consecutive sorted samples of one block).
    func layOut(_ indices: ArraySlice<Int>, into batch: Batch) throws
        -> (sorted: [(index: Int, slot: Int)], blocks: [(member: Int, block: Int, range: Range<Int>)]) {
        sorted.removeAll(keepingCapacity: true)
        for (slot, index) in indices.enumerated() { sorted.append((index, slot)) }
        if !isAscending(sorted) { sorted.sort { $0.index < $1.index } }
        var blocks: [(member: Int, block: Int, range: Range<Int>)] = []
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
        return (sorted, blocks)
    }

    private func isAscending(_ items: [(index: Int, slot: Int)]) -> Bool {
        for k in items.indices.dropFirst() where items[k].index < items[k - 1].index { return false }
        return true
    }

    /// Decodes a block of a member read chunk by chunk (on any thread).
    func decodeBlock(member m: Int, block: Int, into buffer: UnsafeMutableRawPointer, context: DecodeContext) throws {
        let member = source.members[m]
        guard case .chunks(let chunked) = member.access else { return }
        try chunked.decodeBlock(block, into: buffer, context: context)
        let rows = min(chunked.blockRows, member.rows - block * chunked.blockRows)
        statistics.recordDecode(bytes: rows * chunked.rowBytes)
    }

    /// Converts the rows `range` of `sorted` (all in one block) from the decoded block into
    /// their slots of `data` (on any thread).
    func convert(_ m: Int, _ block: Int, _ range: Range<Int>, sorted: [(index: Int, slot: Int)],
                 from buffer: UnsafeMutableRawPointer, into data: UnsafeMutablePointer<Float>) {
        let member = source.members[m]
        guard case .chunks(let chunked) = member.access else { return }
        let first = block * chunked.blockRows, base = starts[m]
        var k = range.lowerBound
        while k < range.upperBound {
            // Runs of consecutive rows into consecutive slots convert in one pass.
            var count = 1
            while k + count < range.upperBound, sorted[k + count].index == sorted[k].index + count,
                  sorted[k + count].slot == sorted[k].slot + count { count += 1 }
            let row = sorted[k].index - base - first
            convertToFloat(buffer + row * chunked.rowBytes, type: member.elementType, count: count * rowElements,
                           scaling: member.scaling, into: data + sorted[k].slot * rowElements)
            k += count
        }
        statistics.recordDelivered(bytes: range.count * chunked.rowBytes)
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
