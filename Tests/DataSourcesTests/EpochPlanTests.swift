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
