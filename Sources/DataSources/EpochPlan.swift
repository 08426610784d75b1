import Graph

/// How data-parallel ranks share an epoch. Every rank computes the same seeded order of all
/// samples; then
/// - `files` (at least as many files as ranks): rank r reads the whole files r, r + N, …;
///   its batches are consecutive slices of the epoch order kept to those files;
/// - `blocks` (fewer files than ranks): global batch k is positions [k·N·B, (k+1)·N·B) of
///   the order and rank r takes its r-th block of B, so N ranks with batch B step exactly
///   like one process with batch N·B.
/// Ranks whose batches run out before the others' take part in the remaining steps with no
/// samples (their gradients weigh nothing).
public struct RankShard: Sendable, Equatable, CustomStringConvertible {
    public enum Rule: String, Sendable { case files, blocks }
    public var rule: Rule
    public var rank: Int
    public var ranks: Int

    public init(rule: Rule, rank: Int, ranks: Int) {
        self.rule = rule
        self.rank = rank
        self.ranks = ranks
    }

    /// The rule for a data set of `files` files over `ranks` ranks.
    public init(files: Int, rank: Int, ranks: Int) {
        self.init(rule: files >= ranks ? .files : .blocks, rank: rank, ranks: ranks)
    }

    public var description: String {
        switch rule {
        case .files: "whole files round-robin over \(ranks) ranks (rank r reads files r, r+\(ranks), …)"
        case .blocks: "each global batch of \(ranks)×B samples cut into \(ranks) blocks of B, rank r reads block r (fewer files than ranks)"
        }
    }
}

/// The global sample indices of one epoch, in the order asked for.
public enum EpochPlan {
    /// The order of every sample for an epoch (before batching); under a `files` rank
    /// shard, only the samples of this rank's files, in the same relative order.
    public static func order(_ segments: SampleSegments, _ options: EpochOptions) -> [Int] {
        let all = globalOrder(segments, options)
        guard let shard = options.rankShard, shard.ranks > 1, shard.rule == .files else { return all }
        var fileOf = [Int](repeating: 0, count: all.count)
        for (file, (start, size)) in zip(segments.fileStarts, segments.fileSizes).enumerated() {
            for i in start..<start + size { fileOf[i] = file }
        }
        return all.filter { fileOf[$0] % shard.ranks == shard.rank }
    }

    private static func globalOrder(_ segments: SampleSegments, _ options: EpochOptions) -> [Int] {
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
        if let shard = options.rankShard, shard.ranks > 1, shard.rule == .blocks {
            let global = size * shard.ranks
            var result: [ArraySlice<Int>] = []
            for start in stride(from: 0, to: order.count, by: global) {
                let end = min(start + global, order.count)
                if options.dropLast && end - start < global { break }
                let mine = min(start + shard.rank * size, end)..<min(start + (shard.rank + 1) * size, end)
                if !mine.isEmpty { result.append(order[mine]) }
            }
            return result
        }
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
