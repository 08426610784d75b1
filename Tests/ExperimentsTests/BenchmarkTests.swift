import DataSources
import Experiments
import Foundation
import Testing

@Suite struct BenchmarkConfigTests {
    func configError(_ yaml: String) -> String { errorText { _ = try BenchmarkConfig(yaml: yaml) } }

    @Test func shippedConfigsParse() throws {
        for name in ["default", "standard"] {
            let config = try BenchmarkConfig(contentsOf: dataset("../benchmarks/\(name).yaml"))
            #expect(config.experiment == name)
            #expect(!config.backends.isEmpty && config.repeats >= 1)
        }
        let d = try BenchmarkConfig(contentsOf: dataset("../benchmarks/default.yaml"))
        #expect(d.caches == [.warm, .cold])
        #expect(d.backends.first { $0.name == "hdf5-gzip" }?.gzip == 4)
        #expect(d.backends.first { $0.name == "hdf5-gzip" }?.layout == "4 files, chunk 64, gzip 4")
    }

    @Test func mistakesFailBeforeAnyWorkNamingTheKey() {
        let base = "dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: raw}]\n"
        #expect(configError(base + "repeat: 3").contains("line 3: unknown key 'repeat'"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: parquet}]")
            .contains("backends[0]: unknown format 'parquet' (expected hdf5, lmdb, raw or memory)"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: lmdb, chunk: 64}]")
            .contains("backends[0] 'lmdb': 'chunk' applies to hdf5 only, not lmdb"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: memory}]\ncache: [warm, cold]")
            .contains("cache 'cold' does not apply to data held in memory"))
        #expect(configError(base + "orders: [random]").contains("'orders': 'random' is not allowed"))
        #expect(configError(base + "network: {hidden: [8], lr: 0.1}").contains("network: unknown key 'lr'"))
        #expect(configError("backends: [{format: raw}]").contains("missing key 'dataset'"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}, source: x.txt}\nbackends: [{format: raw}]")
            .contains("needs exactly one of generate and source"))
        #expect(configError(base + "batch_sizes: [0]").contains("'batch_sizes': '0' is not allowed"))
    }
}

@Suite(.serialized) struct BenchmarkRunnerTests {
    /// A whole run on a tiny set: every backend, both modes, warm and cold.
    @Test func tinyRunWritesResultsSummaryAndReport() throws {
        let out = temporaryFile("out")
        let data = temporaryFile("data")
        let config = try BenchmarkConfig(yaml: """
            experiment: tiny
            dataset: {name: t, generate: {samples: 300, shape: [2, 4, 4], classes: 3, seed: 5}}
            backends:
              - {name: raw, format: raw}
              - {name: h5, format: hdf5, files: 2, chunk: 16}
              - {name: db, format: lmdb}
            orders: [sequential, shuffle]
            cache: [warm, cold]
            batch_sizes: [32]
            prefetch: [2]
            modes: [read, train]
            repeats: 2
            warmup: 1
            network: {hidden: [8]}
            data_dir: \(data)
            """)
        let runner = BenchmarkRunner(config: config, outputDirectory: out)
        runner.log = { _ in }
        #expect(try runner.run())
        #expect(runner.rows.count == 3 * 2 * 2 * 2 * 2)  // backends × modes × caches × orders × repeats
        let rows = try ResultsCSV.read(out + "/results.csv")
        #expect(rows.count == runner.rows.count)
        let header = try String(contentsOfFile: out + "/results.csv", encoding: .utf8).split(separator: "\n")[0]
        #expect(header == "experiment,backend,format,layout,dtype,order,cache,batch_size,prefetch,mode,repeat,samples,stored_bytes,seconds,samples_per_s,mib_per_s,step_ms_median,step_ms_p95,wait_s,compute_s,au,resident_before,resident_after,peak_rss_mib,ratio_to_raw,hdf5_version,lmdb_version,blas,host,started_at")
        for r in rows {
            #expect(r.samples == 300)
            #expect((r.samplesPerSecond ?? 0) > 0)
            #expect(r.ratioToRaw != nil)
            #expect(r.residentAfter != nil && r.storedBytes! > 300 * 32)
            if r.mode == "train" {
                #expect(r.stepMsMedian != nil && r.au != nil && r.au! <= 1.0001)
            } else {
                #expect(r.stepMsMedian == nil && r.au == nil)
            }
            if r.cache == "cold" { #expect(r.residentBefore! < 0.5, "\(r.backend) \(r.order): \(r.residentBefore!) resident") }
        }
        #expect(rows.filter { $0.backend == "raw" }.allSatisfy { abs($0.ratioToRaw! - 1) < 1 })
        let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(summary.count == 1 + 3 * 2 * 2 * 2)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Read throughput") && html.contains("Training step time") && html.contains("db · shuffle · cold"))
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))  // no network resources
        // The layouts are written once and reused while the config is unchanged.
        let folders = try FileManager.default.contentsOfDirectory(atPath: data).sorted()
        #expect(folders.count == 3)
        let again = BenchmarkRunner(config: config, outputDirectory: out)
        var logged: [String] = []
        again.log = { logged.append($0) }
        try again.run()
        #expect(!logged.contains { $0.hasPrefix("writing") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: data).sorted() == folders)
    }

    @Test func reportRendersFromResultsAlone() throws {
        var a = ResultRow()
        (a.experiment, a.backend, a.mode, a.order, a.cache, a.batchSize, a.samplesPerSecond) = ("e", "raw", "read", "shuffle", "warm", 8, 1000)
        var b = a
        (b.backend, b.samplesPerSecond) = ("lmdb", 500)
        var rows = [a, b]
        ResultsCSV.fillRatios(&rows)
        #expect(rows[1].ratioToRaw == 0.5)
        let html = HTMLReport.render(rows, title: "e")
        #expect(html.contains("0.50× raw"))
        #expect(html.contains("<td class=\"l\">lmdb</td>"))
    }
}
