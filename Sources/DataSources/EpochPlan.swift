import Graph

/// The global sample indices of one epoch, in the order asked for.
public enum EpochPlan {
    /// The order of every sample for an epoch (before batching).
    public static func order(_ segments: SampleSegments, _ options: EpochOptions) -> [Int] {
        let total = segments.fileSizes.reduce(0, +)
        var generator = SeededGenerator(seed: options.seed, stream: "order:" + options.order.rawValue)
        switch options.order {
        case .sequential:
            return Array(0..<total)
        case .shuffle:
            var all = Array(0..<total)
            all.shuffle(using: &generator)
            return all
        case .fileShuffle:
            var files = Array(zip(segments.fileStarts, segments.fileSizes))
            files.shuffle(using: &generator)
            var result: [Int] = []
            result.reserveCapacity(total)
            for (start, size) in files {
                var rows = Array(start..<start + size)
                rows.shuffle(using: &generator)
                result += rows
            }
            return result
        case .chunkShuffle:
            var chunks: [Range<Int>] = []
            for (file, (start, size)) in zip(segments.fileStarts, segments.fileSizes).enumerated() {
                let rows = max(1, segments.chunkRows[file])
                for s in stride(from: 0, to: size, by: rows) { chunks.append(start + s..<start + min(s + rows, size)) }
            }
            chunks.shuffle(using: &generator)
            var result: [Int] = []
            result.reserveCapacity(total)
            let window = max(1, options.chunkWindow)
            for w in stride(from: 0, to: chunks.count, by: window) {
                var samples = chunks[w..<min(w + window, chunks.count)].flatMap { Array($0) }
                samples.shuffle(using: &generator)
                result += samples
            }
            return result
        }
    }

    /// The batches of an epoch: consecutive slices of `order` (of the options' shard of it),
    /// the last one kept unless `dropLast`; for one of several lanes, every `lanes`-th batch.
    public static func batches(_ order: [Int], _ options: EpochOptions) -> [ArraySlice<Int>] {
        let size = max(1, options.batchSize)
        var range = order.indices
        if options.shards > 1 {
            let each = order.count / options.shards
            let shard = min(max(options.shard, 0), options.shards - 1)
            range = shard * each..<(shard + 1) * each
        }
        var result: [ArraySlice<Int>] = []
        for start in stride(from: range.lowerBound, to: range.upperBound, by: size) {
            let end = min(start + size, range.upperBound)
            if options.dropLast && end - start < size { break }
            result.append(order[start..<end])
        }
        guard options.lanes > 1 else { return result }
        let lane = min(max(options.lane, 0), options.lanes - 1)
        return stride(from: lane, to: result.count, by: options.lanes).map { result[$0] }
    }
}
