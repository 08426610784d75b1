import Ranks
import Testing

/// A run without mpirun: one rank, every collective the identity, errors passed through as
/// the agreed failure. (Two ranks are tested through `mpirun` in FeedBenchCLITests.)
@Suite struct SingleRankTests {
    struct Broken: Error, CustomStringConvertible { var description: String { "data.h5: no dataset 'label'" } }

    @Test func oneRankNeedsNoMPI() throws {
        let ranks = Ranks.single
        #expect(ranks.rank == 0 && ranks.size == 1 && !ranks.usesMPI && ranks.isRoot && ranks.leadsNode)
        #expect(try ranks.allreduce([1.5, -2], .sum) == [1.5, -2])
        #expect(try ranks.allgather(42 as UInt64) == [42])
        #expect(try ranks.broadcast("x", from: 0) == "x")
        var values: [Float] = [1, 2, 3]
        try values.withUnsafeMutableBufferPointer { try ranks.allreduce($0.baseAddress!, count: 3) }
        #expect(values == [1, 2, 3])
        #expect(try ranks.startAllreduce(&values, count: 3).test())
        try ranks.barrier()
    }

    /// One rank has no one to agree with: `together` passes its error on as it is.
    @Test func oneRanksErrorPassesThrough() throws {
        #expect(try Ranks.single.together { 7 } == 7)
        #expect(try Ranks.single.rootFirst { 8 } == 8)
        #expect(throws: Broken.self) { try Ranks.single.together { throw Broken() } }
        do {
            try Ranks.single.agree("data.h5: no dataset 'label'")
            Issue.record("no error")
        } catch let failure as RankFailure {
            #expect(failure.rank == 0)
            #expect(failure.description == "data.h5: no dataset 'label'")
        }
        #expect(RankFailure(rank: nil, ranks: 2, message: "the loss became nan").description == "the loss became nan")
        #expect(RankFailure(rank: 1, ranks: 2, message: "x.h5: bad").description == "rank 1: x.h5: bad")
    }
}
