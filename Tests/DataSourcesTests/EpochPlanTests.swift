import DataSources
import Testing

@Suite struct EpochPlanTests {
    let segments = SampleSegments(fileSizes: [10, 0, 7, 13], chunkRows: [4, 4, 3, 5])

    @Test(arguments: SampleOrder.allCases)
    func everyOrderVisitsEverySampleOnce(order: SampleOrder) {
        let plan = EpochPlan.order(segments, EpochOptions(batchSize: 4, order: order, seed: 3))
        #expect(plan.sorted() == Array(0..<30))
        #expect(plan == EpochPlan.order(segments, EpochOptions(batchSize: 4, order: order, seed: 3)))
        if order != .sequential {
            #expect(plan != EpochPlan.order(segments, EpochOptions(batchSize: 4, order: order, seed: 4)))
            #expect(plan != Array(0..<30))
        }
    }

    @Test func sequentialIsListOrder() {
        #expect(EpochPlan.order(segments, EpochOptions(batchSize: 4)) == Array(0..<30))
    }

    @Test func fileShuffleNeverMixesFiles() {
        let plan = EpochPlan.order(segments, EpochOptions(batchSize: 4, order: .fileShuffle, seed: 9))
        let fileOf = { (i: Int) in i < 10 ? 0 : i < 17 ? 2 : 3 }
        var runs: [Int] = []
        for i in plan where runs.last != fileOf(i) { runs.append(fileOf(i)) }
        #expect(runs.count == 3)  // each file appears as one run
        #expect(Set(runs) == [0, 2, 3])
    }

    @Test func chunkShuffleMixesOnlyInsideAWindow() {
        let plan = EpochPlan.order(segments, EpochOptions(batchSize: 4, order: .chunkShuffle, seed: 5, chunkWindow: 2))
        // Chunks: file 0 → 4,4,2; file 2 → 3,3,1; file 3 → 5,5,3; windows of 2 chunks.
        let chunkOf: (Int) -> Int = { i in
            if i < 10 { return i / 4 }
            if i < 17 { return 3 + (i - 10) / 3 }
            return 6 + (i - 17) / 5
        }
        var position = 0
        var windows = 0
        while position < plan.count {
            let first = chunkOf(plan[position])
            var chunks: Set<Int> = [first]
            var end = position + 1
            // A window holds the samples of two chunks; find where its samples end.
            while end < plan.count && (chunks.contains(chunkOf(plan[end])) || chunks.count < 2) {
                chunks.insert(chunkOf(plan[end]))
                end += 1
            }
            #expect(chunks.count <= 2)
            windows += 1
            position = end
        }
        #expect(windows >= 4)
    }

    @Test func batchesKeepOrDropTheLastPartialBatch() {
        let order = Array(0..<10)
        #expect(EpochPlan.batches(order, EpochOptions(batchSize: 4)).map(Array.init) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(EpochPlan.batches(order, EpochOptions(batchSize: 4, dropLast: true)).map(Array.init) == [[0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(EpochPlan.batches(order, EpochOptions(batchSize: 5, dropLast: true)).count == 2)
    }
}

/// Data-parallel consumers: an epoch's order cut into equal contiguous shards, each read by
/// lanes that take every `lanes`-th batch.
@Suite struct ShardTests {
    let segments = SampleSegments(fileSizes: [10, 0, 7, 13], chunkRows: [4, 4, 3, 5])

    func options(_ order: SampleOrder, shard: Int, of shards: Int, lane: Int = 0, of lanes: Int = 1, batch: Int = 3) -> EpochOptions {
        var o = EpochOptions(batchSize: batch, order: order, seed: 4, dropLast: true)
        (o.shard, o.shards, o.lane, o.lanes) = (shard, shards, lane, lanes)
        return o
    }

    @Test(arguments: SampleOrder.allCases)
    func shardsAreEqualContiguousBlocksOfTheEpoch(order: SampleOrder) {
        let all = EpochPlan.order(segments, options(order, shard: 0, of: 1))
        let each = 30 / 4  // 7 samples each; the last 2 of the epoch are left out
        var seen: [Int] = []
        for shard in 0..<4 {
            let o = options(order, shard: shard, of: 4, batch: 1)
            let batches = EpochPlan.batches(EpochPlan.order(segments, o), o)
            #expect(batches.count == each)
            seen += batches.flatMap { Array($0) }
        }
        #expect(seen == Array(all.prefix(4 * each)))
    }

    @Test func lanesTakeEveryNthBatchOfTheirShard() {
        let order = EpochPlan.order(segments, options(.shuffle, shard: 0, of: 1))
        let whole = EpochPlan.batches(order, options(.shuffle, shard: 1, of: 2))  // 15 samples: 5 batches of 3
        #expect(whole.count == 5)
        let lane0 = EpochPlan.batches(order, options(.shuffle, shard: 1, of: 2, lane: 0, of: 2))
        let lane1 = EpochPlan.batches(order, options(.shuffle, shard: 1, of: 2, lane: 1, of: 2))
        #expect(lane0.map(Array.init) == [whole[0], whole[2], whole[4]].map(Array.init))
        #expect(lane1.map(Array.init) == [whole[1], whole[3]].map(Array.init))
    }

    /// Every source reads a shard's lane as the same rows an unsharded epoch holds there; a
    /// sequential LMDB epoch (a cursor walk) seeks to where its shard and lane start.
    @Test(arguments: ["raw", "hdf5", "hdf5-gzip", "lmdb", "memory"])
    func everySourceReadsItsShard(kind: String) throws {
        let base = try SyntheticSource(samples: 97, shape: [2, 3], classes: 5, seed: 8, content: .noise)
        let dir = temporaryDirectory()
        let source: any DataSource
        switch kind {
        case "raw":
            try SourceLocation(kind: .raw, path: dir.appendingPathComponent("raw").path).writer(WriterOptions(type: .uint8)).write(base)
            source = try RawSource(path: dir.appendingPathComponent("raw").path)
        case "hdf5", "hdf5-gzip":
            var w = WriterOptions(type: .uint8)
            w.files = 3
            w.chunkRows = 8
            if kind == "hdf5-gzip" { w.compression = .gzip(level: 4) }
            let list = dir.appendingPathComponent("set/train.txt").path
            try SourceLocation(kind: .hdf5List, path: list).writer(w).write(base)
            source = try HDF5ListSource(path: list)
        case "lmdb":
            try SourceLocation(kind: .lmdb, path: dir.appendingPathComponent("db").path).writer(WriterOptions(type: .uint8)).write(base)
            source = try LMDBSource(path: dir.appendingPathComponent("db").path)
        default:
            source = try StoredMemorySource(loading: base)
        }
        for order in [SampleOrder.sequential, .chunkShuffle] {
            let whole = try epoch(source, EpochOptions(batchSize: 4, order: order, seed: 4))
            let wholeRows = whole.flatMap(\.data), wholeLabels = whole.flatMap(\.labels)
            for shard in 0..<3 {
                for lane in 0..<2 {
                    let o = options(order, shard: shard, of: 3, lane: lane, of: 2, batch: 4)
                    let indices = EpochPlan.batches(EpochPlan.order(source.segments, o), o).flatMap { Array($0) }
                    let order0 = EpochPlan.order(source.segments, EpochOptions(batchSize: 4, order: order, seed: 4))
                    let positions = indices.map { i in order0.firstIndex(of: i)! }
                    let read = try epoch(source, o)
                    #expect(read.flatMap(\.labels) == positions.map { wholeLabels[$0] }, "\(kind) \(order) shard \(shard) lane \(lane)")
                    #expect(read.flatMap(\.data) == positions.map { wholeRows[$0] }, "\(kind) \(order) shard \(shard) lane \(lane)")
                }
            }
        }
    }
}

/// How data-parallel ranks share an epoch.
@Suite struct RankShardTests {
    func batches(_ segments: SampleSegments, _ options: EpochOptions, rank: Int, ranks: Int, rule: RankShard.Rule) -> [[Int]] {
        var options = options
        options.rankShard = RankShard(rule: rule, rank: rank, ranks: ranks)
        return EpochPlan.batches(EpochPlan.order(segments, options), options).map(Array.init)
    }

    /// N ranks × B: global batch k is the k-th slice of N·B of the one-process order and
    /// rank r takes its r-th block of B; a last short global batch leaves later ranks empty.
    @Test(arguments: [SampleOrder.sequential, .shuffle], [false, true])
    func blocksRebuildTheOneProcessBatches(order: SampleOrder, dropLast: Bool) {
        let segments = SampleSegments.single(103)
        let options = EpochOptions(batchSize: 4, order: order, seed: 7, dropLast: dropLast)
        let one = EpochPlan.batches(EpochPlan.order(segments, options), EpochOptions(batchSize: 12, order: order, seed: 7, dropLast: dropLast))
        let ranks = (0..<3).map { batches(segments, options, rank: $0, ranks: 3, rule: .blocks) }
        #expect(ranks.map(\.count) == (dropLast ? [8, 8, 8] : [9, 9, 8]))  // 103 = 8 × 12 + 7: ranks 0 and 1 share the 7
        for (k, global) in one.enumerated() {
            let joined = (0..<3).flatMap { r in k < ranks[r].count ? ranks[r][k] : [] }
            #expect(joined == Array(global))
        }
    }

    /// Whole files round-robin: each rank keeps the global order of its own files only.
    @Test func filesRuleKeepsEachRanksFiles() {
        let segments = SampleSegments(fileSizes: [10, 0, 7, 13, 5], chunkRows: [4, 4, 3, 5, 5])
        let options = EpochOptions(batchSize: 4, order: .shuffle, seed: 3)
        let global = EpochPlan.order(segments, options)
        let fileOf = { (i: Int) in i < 10 ? 0 : i < 17 ? 2 : i < 30 ? 3 : 4 }
        var seen: [Int] = []
        for rank in 0..<2 {
            let mine = batches(segments, options, rank: rank, ranks: 2, rule: .files).flatMap { $0 }
            #expect(mine.allSatisfy { fileOf($0) % 2 == rank })
            #expect(mine == global.filter { fileOf($0) % 2 == rank })
            seen += mine
        }
        #expect(seen.sorted() == Array(0..<35))
        #expect(RankShard(files: 5, rank: 0, ranks: 2).rule == .files)
        #expect(RankShard(files: 1, rank: 0, ranks: 2).rule == .blocks)
    }
}
