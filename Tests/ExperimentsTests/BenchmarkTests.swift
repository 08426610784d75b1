import DataSources
import Experiments
import Foundation
import Testing

@Suite struct BenchmarkConfigTests {
    func configError(_ yaml: String) -> String { errorText { _ = try BenchmarkConfig(yaml: yaml) } }

    @Test func shippedConfigsParse() throws {
        for name in ["default", "standard", "read", "compressed", "emulate"] {
            let config = try BenchmarkConfig(contentsOf: dataset("../benchmarks/\(name).yaml"))
            #expect(config.experiment == name)
            #expect(!config.backends.isEmpty && config.repeats >= 1)
        }
        let d = try BenchmarkConfig(contentsOf: dataset("../benchmarks/default.yaml"))
        #expect(d.caches == [.warm, .cold])
        #expect(d.backends.first { $0.name == "hdf5-gzip" }?.writer.compression == .gzip(level: 4))
        #expect(d.backends.first { $0.name == "hdf5-gzip" }?.layout == "4 files, chunk 64, gzip 4")
        let read = try BenchmarkConfig(contentsOf: dataset("../benchmarks/read.yaml"))
        #expect(read.interleave)
        #expect(Set(read.backends.map(\.phase)) == [1, 2])
        #expect(read.backends.contains { $0.decoder == .swiftProtobuf } && read.backends.contains { $0.readPath == .library })
        let emulate = try BenchmarkConfig(contentsOf: dataset("../benchmarks/emulate.yaml"))
        #expect(emulate.modes == [.emulate] && emulate.peers == [.dlio])
        #expect(emulate.accelerators?.profile.name == "resnet50-h100" && emulate.accelerators?.prefetch == 1)
        #expect(emulate.datasets.first?.shape == [3, 224, 224])
    }

    @Test func mistakesFailBeforeAnyWorkNamingTheKey() {
        let base = "dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: raw}]\n"
        #expect(configError(base + "repeat: 3").contains("line 3: unknown key 'repeat'"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: parquet}]")
            .contains("backends[0]: unknown format 'parquet' (expected hdf5, lmdb, raw, memory, existing)"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: lmdb, chunk: 64}]")
            .contains("backends[0] 'lmdb': 'chunk' applies to hdf5 only, not lmdb"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: hdf5, decoder: view}]")
            .contains("'decoder' applies to lmdb only, not hdf5"))
        #expect(configError(base + "orders: [random]").contains("'orders': 'random' is not allowed"))
        #expect(configError(base + "network: {hidden: [8], lr: 0.1}").contains("network.unknown key 'lr'"))
        #expect(configError("backends: [{format: raw}]").contains("missing key 'dataset'"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}, source: x.txt}\nbackends: [{format: raw}]")
            .contains("needs exactly one of generate and source"))
        #expect(configError(base + "batch_sizes: [0]").contains("'batch_sizes': '0' is not allowed"))
        #expect(configError(base + "peers: [h5py, dali]").contains("'peers': 'dali' is not allowed"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: existing}]")
            .contains("format 'existing' reads a source as stored"))
        #expect(configError("dataset: {generate: {samples: 10, shape: [4]}}\nbackends: [{format: hdf5, compression: lzf}]")
            .contains("backends[0].compression: 'lzf' is not one of"))
    }

    @Test func theSourceFormIsAConfigThatParsesBack() throws {
        let config = try BenchmarkConfig.forSource("data/my set.h5", keys: DatasetKeys(data: "images", label: "labels"),
                                                   modes: [.read, .train], batchSizes: [32])
        #expect(config.datasets[0].source == "data/my set.h5")
        #expect(config.datasets[0].keys == DatasetKeys(data: "images", label: "labels"))
        #expect(config.backends.map(\.kind) == [.raw, .memory, .existing])
        #expect(config.batchSizes == [32] && config.interleave)
        let again = try BenchmarkConfig(yaml: config.text)
        #expect(again.backends.map(\.name) == config.backends.map(\.name))
        // --accelerator adds emulation, with data in memory as its calibration, cold included.
        let emulate = try BenchmarkConfig.forSource("d.h5", caches: [.warm, .cold], accelerator: "resnet50-a100")
        #expect(emulate.modes == [.read, .emulate])
        #expect(emulate.backends.map(\.kind) == [.raw, .memory, .existing])
        #expect(emulate.accelerators?.profile.computeSeconds == 0.435)
        #expect(try BenchmarkConfig(yaml: emulate.text).accelerators?.profile.name == "resnet50-a100")
        let cases = BenchmarkMatrix.cases(emulate) { _, _ in "f" }
        #expect(!cases.contains { $0.backend?.kind == .memory && $0.cache == .cold })
    }
}

@Suite struct ResultsTableTests {
    func row(_ format: Format, _ backend: String, _ rate: Double, prefetch: Int = 4) -> ResultRow {
        var r = ResultRow()
        (r.experiment, r.backend, r.format, r.mode, r.order, r.cache, r.batchSize, r.prefetch) =
            ("e", backend, format, .read, .shuffle, .warm, 8, prefetch)
        r.samplesPerSecond = rate
        return r
    }

    /// The baseline is found by format: a raw backend under any name still anchors the ratios.
    @Test func ratiosFollowTheFormatNotTheName() {
        var rows = [row(.raw, "flat-copy-baseline", 1000), row(.raw, "flat-copy-baseline", 3000), row(.lmdb, "db", 1000),
                    row(.h5py, "h5py", 500, prefetch: 0), row(.hdf5, "raw", 4000)]
        ResultsCSV.fillRatios(&rows)
        #expect(rows[2].ratioToRaw == 0.5)  // 1000 / median(1000, 3000)
        #expect(rows[3].ratioToRaw == 0.25)  // a peer at prefetch 0 still compares with raw
        #expect(rows[4].ratioToRaw == 2)  // an hdf5 backend named "raw" is not the baseline
        var other = rows
        other[4].phase = 2
        ResultsCSV.fillRatios(&other)
        #expect(other[4].ratioToRaw == nil)  // no raw ran in phase 2
    }

    @Test func rowsRoundTripThroughTheColumnTable() throws {
        var a = row(.hdf5, "h5, gzip", 1234.5)
        (a.layout, a.dtype, a.repeatIndex, a.samples, a.storedBytes, a.seconds, a.au, a.phase) =
            ("4 files, chunk 64, \"gzip\" 4", "uint8", 2, 300, 1 << 40, 0.25, 0.5, 3)
        (a.host, a.startedAt, a.blas) = ("host,with,commas", "2026-11-23T00:00:00Z", "OpenBLAS Haswell")
        var b = row(.torch, "torch", 10)
        b.mode = .train
        b.stepMsMedian = 12.5
        let path = makeTemporaryDirectory().appendingPathComponent("results.csv").path
        try ResultsCSV.write([a, b], to: path)
        let back = try ResultsCSV.read(path)
        #expect(back == [a, b])
        let header = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[0]
        #expect(header.hasPrefix("experiment,backend,format,layout,dtype,order,cache,batch_size,prefetch,mode,repeat,samples,stored_bytes,seconds,samples_per_s,mib_per_s,step_ms_median,step_ms_p95,wait_s,compute_s,au,resident_before,resident_after,peak_rss_mib,ratio_to_raw,hdf5_version,lmdb_version,blas,host,started_at,"))
        #expect(header.hasSuffix(",started_at,phase,read_amplification,ratio_to_limit,layout_id,tool_version,config_hash,ranks,au_min"))
        // The same row as a JSON line: names as in the CSV, numbers unquoted, empty columns left out.
        var j = a
        j.toolVersion = "0.2.0"
        let line = ResultColumns.jsonLine(j)
        #expect(line.hasPrefix("{\"experiment\":\"e\",\"backend\":\"h5, gzip\",\"format\":\"hdf5\",\"layout\":\"4 files, chunk 64, \\\"gzip\\\" 4\""))
        #expect(line.contains("\"samples_per_s\":1234.5,") && line.contains("\"stored_bytes\":1099511627776,"))
        #expect(line.contains("\"tool_version\":\"0.2.0\"") && !line.contains("step_ms_median"))
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["repeat"] as? Int == 2 && object?["host"] as? String == "host,with,commas")
    }

    @Test func aFirstReleaseResultsFileStillReads() throws {
        let path = makeTemporaryDirectory().appendingPathComponent("old.csv").path
        let old = """
            experiment,backend,format,layout,dtype,order,cache,batch_size,prefetch,mode,repeat,samples,stored_bytes,seconds,samples_per_s,mib_per_s,step_ms_median,step_ms_p95,wait_s,compute_s,au,resident_before,resident_after,peak_rss_mib,ratio_to_raw,hdf5_version,lmdb_version,blas,host,started_at
            default,raw,raw,flat file,uint8,sequential,warm,128,4,read,1,10000,30760000,0.01,1000000,2933,,,,,,1,1,300,1,1.10.8,LMDB 0.9.24,OpenBLAS Haswell,h,t

            """
        try old.write(toFile: path, atomically: true, encoding: .utf8)
        let rows = try ResultsCSV.read(path)
        #expect(rows.count == 1 && rows[0].format == .raw && rows[0].samplesPerSecond == 1_000_000 && rows[0].phase == 1)
        try "a,b\n1,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try ResultsCSV.read(path) }.contains("not a FeedBench results.csv"))
    }

    @Test func summaryKeepsItsColumnsAndGroupsRepeats() throws {
        var rows = [row(.raw, "raw", 100), row(.raw, "raw", 300), row(.raw, "raw", 200)]
        for i in rows.indices { rows[i].repeatIndex = i + 1 }
        let path = makeTemporaryDirectory().appendingPathComponent("summary.csv").path
        try ResultsCSV.writeSummary(rows, to: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines[0] == "experiment,backend,format,layout,dtype,order,cache,batch_size,prefetch,mode,repeats,samples_per_s_median,samples_per_s_min,samples_per_s_max,step_ms_median,step_ms_min,step_ms_max,au_median,au_min,au_max,ratio_to_raw_median,resident_before_median,phase,layout_id,ranks")
        #expect(lines.count == 2 && lines[1].contains(",3,200,100,300,"))
    }

    @Test func reportRendersFromResultsAlone() throws {
        var rows = [row(.raw, "raw", 1000), row(.lmdb, "lmdb", 500)]
        ResultsCSV.fillRatios(&rows)
        let html = HTMLReport.render(rows, title: "e")
        #expect(html.contains("0.50× raw"))
        #expect(html.contains("<td class=\"l\">lmdb</td>"))
    }
}

@Suite struct BenchmarkMatrixTests {
    let yaml = """
        dataset: {name: t, generate: {samples: 10, shape: [4]}}
        backends:
          - {name: raw, format: raw}
          - {name: h5, format: hdf5}
          - {name: h5-library, format: hdf5, read: h5dread}
          - {name: db, format: lmdb}
          - {name: db-protobuf, format: lmdb, decoder: swift-protobuf}
        orders: [sequential, shuffle]
        modes: [read]
        peers: [h5py, py-lmdb, h5py-getitem]
        """

    @Test func peersReadEachStoredLayoutOnce() throws {
        let config = try BenchmarkConfig(yaml: yaml)
        let cases = BenchmarkMatrix.cases(config) { backend, _ in "\(backend.kind)" }
        let labels = cases.map(\.label)
        #expect(cases.count == 5 * 2 + 2 + 2 + 1)  // backends × orders, h5py × orders, py-lmdb × orders, getitem shuffle
        #expect(labels.filter { $0.hasPrefix("h5py, ") }.count == 2)
        #expect(labels.filter { $0.hasPrefix("py-lmdb, ") }.count == 2)
        #expect(labels.contains("h5py-getitem, 1 file, contiguous, shuffle"))
    }

    /// Data in memory has no cold state: beside cold cases of stored layouts it runs warm only.
    @Test func memoryRunsWarmOnly() throws {
        let config = try BenchmarkConfig(yaml: """
            dataset: {name: t, generate: {samples: 10, shape: [4]}}
            backends: [{name: raw, format: raw}, {name: memory, format: memory}]
            cache: [warm, cold]
            modes: [read]
            peers: false
            """)
        let cases = BenchmarkMatrix.cases(config) { backend, _ in "\(backend.kind)" }
        #expect(cases.filter { $0.label.hasPrefix("memory") }.count == 2)  // two orders, warm only
        #expect(cases.filter { $0.label.hasPrefix("raw") }.count == 4)
        #expect(cases.allSatisfy { !($0.label.hasPrefix("memory") && $0.cache == .cold) })
    }

    @Test func onlyKeepsTheBaselines() throws {
        let config = try BenchmarkConfig(yaml: yaml)
        let cases = BenchmarkMatrix.cases(config, only: ["swift-protobuf"]) { backend, _ in "\(backend.kind)" }
        #expect(cases.map(\.label).sorted() == [
            "db-protobuf, Datum records, swift-protobuf, sequential", "db-protobuf, Datum records, swift-protobuf, shuffle",
            "raw, flat file, sequential", "raw, flat file, shuffle",
        ])
    }
}

@Suite(.serialized) struct BenchmarkRunnerTests {
    /// A whole run on a tiny set: every backend, both modes, warm and cold.
    @Test func tinyRunWritesResultsSummaryReportAndConfig() throws {
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
            peers: false
            data_dir: \(data)
            """)
        let runner = BenchmarkRunner(config: config, outputDirectory: out)
        runner.log = { _ in }
        #expect(try runner.run())
        #expect(runner.rows.count == 3 * 2 * 2 * 2 * 2)  // backends × modes × caches × orders × repeats
        let rows = try ResultsCSV.read(out + "/results.csv")
        #expect(rows.map(\.configuration) == runner.rows.map(\.configuration))
        for r in rows {
            #expect(r.samples == 300)
            #expect((r.samplesPerSecond ?? 0) > 0)
            #expect(r.ratioToRaw != nil)
            #expect(r.residentAfter != nil && r.storedBytes! > 300 * 32)
            if r.mode == .train {
                #expect(r.stepMsMedian != nil && r.au != nil && r.au! <= 1.0001)
            } else {
                #expect(r.stepMsMedian == nil && r.au == nil)
            }
            if r.cache == .cold { #expect(r.residentBefore! < 0.5, "\(r.backend) \(r.order): \(r.residentBefore!) resident") }
        }
        #expect(rows.filter { $0.format == .raw }.allSatisfy { abs($0.ratioToRaw! - 1) < 1 })
        let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(summary.count == 1 + 3 * 2 * 2 * 2)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Read throughput") && html.contains("Training step time") && html.contains("db · shuffle · cold"))
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))  // no network resources
        #expect(try BenchmarkConfig(contentsOf: out + "/config.yaml").experiment == "tiny")
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

    /// Renaming the raw backend in a config keeps every ratio; interleaved rounds measure
    /// every case once a round, phases apart.
    @Test func renamedRawBackendStillGivesRatiosInInterleavedPhases() throws {
        let out = temporaryFile("out")
        let config = try BenchmarkConfig(yaml: """
            experiment: renamed
            dataset: {name: t, generate: {samples: 200, shape: [8], classes: 2, seed: 1}}
            backends:
              - {name: memcpy-limit, format: raw}
              - {name: contiguous, format: hdf5}
              - {name: library-copy, format: raw, phase: 2}
              - {name: through-library, format: hdf5, read: h5dread, phase: 2}
              - {name: records, format: lmdb, decoder: swift-protobuf, readahead: off, phase: 2}
            orders: [shuffle]
            modes: [read]
            repeats: 3
            warmup: 1
            interleave: true
            peers: false
            data_dir: \(temporaryFile("data"))
            """)
        let runner = BenchmarkRunner(config: config, outputDirectory: out)
        var logged: [String] = []
        runner.log = { logged.append($0) }
        #expect(try runner.run())
        #expect(runner.rows.count == 5 * 3)
        for r in runner.rows {
            #expect(r.ratioToRaw != nil, "\(r.backend) has no ratio")
            #expect(r.repeatIndex >= 1 && r.repeatIndex <= 3)
        }
        #expect(Set(runner.rows.map(\.phase)) == [1, 2])
        #expect(runner.rows.first { $0.backend == "records" }?.layout == "Datum records, swift-protobuf, no read-ahead")
        #expect(runner.rows.first { $0.backend == "through-library" }?.layout == "1 file, contiguous, H5Dread")
        #expect(logged.filter { $0.hasPrefix("round ") }.count == 2 * 4)  // two phases × (warm-up + 3 rounds)
    }

    /// An existing HDF5 file is read as stored, under the dataset names its writer chose.
    @Test func existingSourceWithOtherDatasetNames() throws {
        let out = temporaryFile("out")
        let config = try BenchmarkConfig.forSource(
            dataset("fixtures/images_labels.h5"), keys: DatasetKeys(data: "images", label: "labels"), orders: [.sequential],
            modes: [.read, .train], repeats: 1, warmup: 0, hidden: [4], dataDirectory: temporaryFile("data"))
        var config2 = config
        config2.peers = []
        let runner = BenchmarkRunner(config: config2, outputDirectory: out)
        runner.log = { _ in }
        #expect(try runner.run())
        let existing = runner.rows.filter { $0.backend == "images_labels" }
        #expect(existing.count == 2)
        for row in existing {
            #expect(row.format == .hdf5 && row.samples == 40 && row.ratioToRaw != nil)
        }
        #expect(existing[0].layout == "1 file, contiguous, data=images, label=labels (as stored)")
        #expect(runner.rows.contains { $0.format == .memory && $0.mode == .train })
    }
}
