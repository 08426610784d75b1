import DataSources
import Experiments
import Foundation
import Testing

/// The report's decision follows the figures, and noisy figures are marked and not used.
@Suite struct DecisionTests {
    /// Repeats of one configuration: one row per samples/s value, epochs of `seconds`.
    func rows(_ backend: String, _ format: Format, bytes: Int?, _ rates: [Double], mode: BenchmarkMode = .read,
              order: SampleOrder = .shuffle, cache: CacheState = .warm, layoutID: String = "", seconds: Double = 2) -> [ResultRow] {
        rates.enumerated().map { i, rate in
            var r = ResultRow()
            (r.experiment, r.backend, r.format, r.mode, r.order, r.cache, r.batchSize, r.prefetch) =
                ("e", backend, format, mode, order, cache, 128, 4)
            (r.layout, r.layoutID, r.repeatIndex, r.storedBytes, r.samplesPerSecond, r.seconds) =
                ("layout of \(backend)", layoutID, i, bytes, rate, seconds)
            return r
        }
    }

    @Test func aSmallerAndFasterLayoutWins() throws {
        let all = rows("raw", .raw, bytes: 1000, [1000, 1010, 1005])
            + rows("hdf5-big", .hdf5, bytes: 800, [1200, 1210, 1190])
            + rows("hdf5-small", .hdf5, bytes: 500, [1500, 1490, 1510], layoutID: "small")
            + rows("h5py", .h5py, bytes: 500, [500, 505, 498], layoutID: "small")
        let d = try #require(DecisionMaker.decide(all).first)
        #expect(d.choice == "hdf5-small")
        #expect(d.recommendation.hasPrefix("Keep hdf5-small (0.50 × raw on disk)"))
        let small = try #require(d.rows.first { $0.backend == "hdf5-small" })
        #expect(small.verdict.contains("smallest on disk (0.50 × raw)") && small.verdict.contains("fastest shuffled reads"))
        let big = try #require(d.rows.first { $0.backend == "hdf5-big" })
        #expect(big.verdict.contains("beaten by hdf5-small"))
        // The peer sits in the same table, with FeedBench's ratio to it on the row it read.
        #expect(small.peers.count == 1 && small.peers[0].peer == "h5py" && abs(small.peers[0].ratio - 3) < 1e-9)
        #expect(d.rows.contains { $0.backend == "h5py" && $0.isPeer })
        // Swap the figures: the bigger layout is now faster, and the decision moves with them.
        let swapped = rows("raw", .raw, bytes: 1000, [1000, 1010, 1005])
            + rows("hdf5-big", .hdf5, bytes: 800, [3000, 3010, 2990])
            + rows("hdf5-small", .hdf5, bytes: 500, [1500, 1490, 1510])
        #expect(DecisionMaker.decide(swapped).first?.choice == "hdf5-big")
    }

    @Test func aNoisyConfigurationIsMarkedAndNotUsed() throws {
        // LMDB looks smallest and fastest, but its repeats spread 3×: it must not win.
        let all = rows("raw", .raw, bytes: 1000, [1000, 1010, 1005])
            + rows("hdf5", .hdf5, bytes: 900, [1400, 1410, 1395])
            + rows("lmdb", .lmdb, bytes: 400, [3000, 1000, 2000])
            + rows("hdf5-short", .hdf5, bytes: 300, [5000, 5000, 5000], seconds: 0.05)
        let d = try #require(DecisionMaker.decide(all).first)
        let lmdb = try #require(d.rows.first { $0.backend == "lmdb" })
        let figure = try #require(lmdb.read[Decision.Slot(order: .shuffle, cache: .warm)])
        #expect(figure.noisy && abs(figure.spread - 3) < 1e-9)
        #expect(lmdb.verdict.contains("1 noisy figure"))
        let short = try #require(d.rows.first { $0.backend == "hdf5-short" })
        #expect(short.read.values.allSatisfy { $0.noisy })  // epochs under the floor
        #expect(d.choice == "hdf5" && d.noisyFigures == 2)
        // The summary's mark says why.
        let summary = ResultsCSV.summarize(all)
        #expect(summary.filter { DecisionMaker.isNoisy($0) }.map(\.first.backend) == ["lmdb", "hdf5-short"])
        let html = HTMLReport.render(all, title: "e")
        #expect(html.contains("~ spread 3.00×") && html.contains("~ epochs 0.05 s"))
        // The decision comes first on the page.
        let decision = try #require(html.range(of: "Which layout to keep"))
        let chart = try #require(html.range(of: "Read throughput"))
        #expect(decision.lowerBound < chart.lowerBound)
    }

    @Test func trainingDecidesWhenItRan() throws {
        // hdf5-gzip is smallest and keeps up with the fastest training (≥ 0.9×); raw is faster
        // to read but larger, so the smaller layout that keeps up is the one to keep.
        let all = rows("raw", .raw, bytes: 1000, [5000, 5000, 5000])
            + rows("hdf5-gzip", .hdf5, bytes: 300, [2000, 2000, 2000])
            + rows("memory", .memory, bytes: nil, [1000, 1000, 1000], mode: .train)
            + rows("raw", .raw, bytes: 1000, [990, 995, 1000], mode: .train)
            + rows("hdf5-gzip", .hdf5, bytes: 300, [950, 940, 945], mode: .train)
            + rows("lmdb", .lmdb, bytes: 250, [600, 600, 600], mode: .train)
        let d = try #require(DecisionMaker.decide(all).first)
        #expect(d.choice == "hdf5-gzip")
        #expect(d.recommendation.contains("whose training keeps up (≥ 90 % of the fastest training measured) in shuffle warm"))
        let lmdb = try #require(d.rows.first { $0.backend == "lmdb" })
        #expect(lmdb.verdict.contains("does not keep up with training (0.60 × the fastest at best)"))
        // Nothing keeps up: the report says so and names the closest.
        let slow = rows("memory", .memory, bytes: nil, [1000, 1000, 1000], mode: .train)
            + rows("raw", .raw, bytes: 1000, [700, 700, 700], mode: .train)
            + rows("lmdb", .lmdb, bytes: 250, [600, 600, 600], mode: .train)
        let s = try #require(DecisionMaker.decide(slow).first)
        #expect(s.recommendation.hasPrefix("No layout keeps up") && s.choice == "raw")
        // Training from memory measured slower than from the raw file: the fastest figure is
        // the reference, so a layout at 0.6 of it does not keep up.
        let drift = rows("memory", .memory, bytes: nil, [500, 500, 500], mode: .train)
            + rows("raw", .raw, bytes: 1000, [1000, 1000, 1000], mode: .train)
            + rows("hdf5-gzip", .hdf5, bytes: 300, [600, 600, 600], mode: .train)
        let r = try #require(DecisionMaker.decide(drift).first)
        #expect(r.choice == "raw")
        #expect(r.rows.first { $0.backend == "hdf5-gzip" }?.trainToMemory.values.first == 0.6)
    }

    @Test func accelerationDecidesOnColdFiguresThatWereCold() throws {
        func answer(_ backend: String, _ format: Format, bytes: Int, _ n: Int, cache: CacheState, cached: Bool = false) -> AcceleratorRow {
            var a = AcceleratorRow()
            (a.experiment, a.backend, a.format, a.layout, a.order, a.cache, a.kind) = ("e", backend, format, "layout of \(backend)", .shuffle, cache, .answer)
            (a.accelerators, a.storedBytes, a.potentialCaching) = (n, bytes, cached || cache == .warm)
            return a
        }
        // LMDB's cold probe found its files resident: its 12 is not a cold figure, and the
        // smaller of the two layouts that really sustain 2 cold is the one to keep.
        let answers = [answer("raw", .raw, bytes: 1000, 2, cache: .cold), answer("hdf5-gzip", .hdf5, bytes: 700, 2, cache: .cold),
                       answer("lmdb", .lmdb, bytes: 1010, 12, cache: .cold, cached: true), answer("raw", .raw, bytes: 1000, 13, cache: .warm)]
        let d = try #require(DecisionMaker.decide([], accelerators: answers).first)
        #expect(d.choice == "hdf5-gzip")
        #expect(d.recommendation.contains("(2, shuffle cold), the smallest of the 2 layouts that sustain 2."))
        let lmdb = try #require(d.rows.first { $0.backend == "lmdb" })
        #expect(lmdb.verdict.contains("files stayed resident in shuffle cold: not a cold figure"))
    }

    @Test func numbersAreReadable() {
        #expect(Numbers.grouped(1_480_402) == "1,480,402")
        #expect(Numbers.grouped(-1234.5, digits: 1) == "-1,234.5")
        #expect(Numbers.grouped(999) == "999")
        #expect(Numbers.compact(1_480_402) == "1.48 M" && Numbers.compact(48_210) == "48.2 k" && Numbers.compact(950) == "950")
        #expect(Numbers.bytes(1_610_612_736) == "1.5 GiB" && Numbers.bytes(512) == "512 B")
        // A backend keeps its colour whatever else the report holds.
        #expect(HTMLReport.color("hdf5-gzip") == HTMLReport.color("hdf5-gzip"))
        let a = HTMLReport.render(rows("raw", .raw, bytes: 10, [1, 1]) + rows("hdf5-gzip", .hdf5, bytes: 5, [2, 2]), title: "a")
        let b = HTMLReport.render(rows("hdf5-gzip", .hdf5, bytes: 5, [2, 2]), title: "b")
        let mark = "fill=\"\(HTMLReport.color("hdf5-gzip"))\""
        #expect(a.contains(mark) && b.contains(mark))
    }

    @Test func twoRunsCompareConfigurationByConfiguration() {
        let before = rows("raw", .raw, bytes: 1000, [1000, 1000, 1000]) + rows("hdf5", .hdf5, bytes: 500, [800, 810, 790])
            + rows("lmdb", .lmdb, bytes: 500, [800, 810, 790])
        let after = rows("raw", .raw, bytes: 1000, [1000, 1000, 1000]) + rows("hdf5", .hdf5, bytes: 500, [1600, 1620, 1580])
            + rows("h5py", .h5py, bytes: 500, [100, 300, 200])
        let c = RunComparison(before, after)
        #expect(c.lines.count == 2)
        #expect(c.lines.first { $0.label.hasPrefix("hdf5") }?.ratio == 2)
        #expect(c.onlyA.count == 1 && c.onlyB.count == 1)
        #expect(c.text.contains("hdf5 · layout of hdf5 · read · shuffle · warm · batch 128 · prefetch 4: 800 → 1,600 samples/s, 2.00×"))
        let html = c.html(titleA: "A/results.csv", titleB: "B/results.csv")
        #expect(html.contains("median over 2 steady configurations: 1.50×"))
    }
}
