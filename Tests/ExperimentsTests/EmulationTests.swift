import DataSources
import Experiments
import Foundation
import Graph
import Testing

@Suite struct AcceleratorProfileTests {
    func configError(_ yaml: String) -> String { errorText { _ = try BenchmarkConfig(yaml: yaml) } }

    /// The presets carry MLPerf Storage v2.0's figures (dlio_benchmark 2.0.0's workload files)
    /// and say where each comes from.
    @Test func presetsHoldTheMLPerfStorageFigures() throws {
        let p = AcceleratorProfile.presets
        #expect(AcceleratorProfile.presetNames == ["cosmoflow-h100", "resnet50-a100", "resnet50-h100", "unet3d-a100", "unet3d-h100"])
        let resnet = try #require(p["resnet50-h100"])
        #expect(resnet.sampleShape == [3, 224, 224] && resnet.batchSize == 400 && resnet.computeSeconds == 0.224 && resnet.auThreshold == 0.90)
        #expect(p["resnet50-a100"]?.computeSeconds == 0.435 && p["resnet50-a100"]?.batchSize == 400)
        #expect(p["unet3d-h100"]?.batchSize == 7 && p["unet3d-h100"]?.computeSeconds == 0.323 && p["unet3d-h100"]?.sampleShape == [146_600_628])
        #expect(p["unet3d-a100"]?.computeSeconds == 0.636 && p["unet3d-a100"]?.auThreshold == 0.90)
        #expect(p["cosmoflow-h100"]?.batchSize == 1 && p["cosmoflow-h100"]?.computeSeconds == 0.0035 && p["cosmoflow-h100"]?.auThreshold == 0.70)
        for profile in p.values { #expect(profile.source.contains("dlio_benchmark 2.0.0"), "\(profile.name)") }
        #expect(abs(resnet.demandSamplesPerSecond - 400 / 0.224) < 1e-9)
    }

    @Test func aProfileNamesItsDataSetShapeAndImpliesEmulateMode() throws {
        let config = try BenchmarkConfig(yaml: """
            dataset: {name: r, generate: {samples: 800}}
            backends: [{format: raw}]
            accelerators: {profile: resnet50-h100, compute_seconds: 0.1, reader_threads: 2, probe_seconds: 3}
            """)
        #expect(config.datasets[0].shape == [3, 224, 224])
        #expect(config.modes == [.emulate])
        let settings = try #require(config.accelerators)
        #expect(settings.profile.computeSeconds == 0.1 && settings.profile.batchSize == 400)
        #expect(settings.readerThreads == 2 && settings.probeSeconds == 3 && settings.synchronous)
        let custom = try BenchmarkConfig(yaml: """
            dataset: {name: c, generate: {samples: 100, shape: [8]}}
            backends: [{format: raw}]
            modes: [read, emulate]
            accelerators: {profile: custom, record_bytes: 8, batch_size: 4, compute_seconds: 0.01, compute_sd: 0.002, au_threshold: 0.8}
            """)
        #expect(custom.accelerators?.profile == AcceleratorProfile(name: "custom", sampleShape: [8], batchSize: 4, computeSeconds: 0.01,
                                                                    computeSD: 0.002, auThreshold: 0.8))
    }

    @Test func badProfilesAreRefusedNamingTheKey() {
        let base = "dataset: {name: r, generate: {samples: 100, shape: [8]}}\nbackends: [{format: raw}]\n"
        let custom = "profile: custom, record_bytes: 8, batch_size: 4, au_threshold: 0.9"
        #expect(configError(base + "accelerators: {\(custom), compute_seconds: 0}").contains("accelerators.compute_seconds must be a number > 0"))
        #expect(configError(base + "accelerators: {\(custom), compute_seconds: -0.2}").contains("accelerators.compute_seconds must be a number > 0"))
        #expect(configError(base + "accelerators: {profile: resnet50-h100, batch_size: 0}").contains("accelerators.batch_size must be an integer ≥ 1"))
        #expect(configError(base + "accelerators: {profile: resnet50-h100, au_threshold: 0}").contains("accelerators.au_threshold must be in (0, 1]"))
        #expect(configError(base + "accelerators: {profile: resnet50-h100, au_threshold: 1.5}").contains("accelerators.au_threshold must be in (0, 1]"))
        #expect(configError(base + "accelerators: tpu-v9").contains("unknown profile 'tpu-v9' (expected cosmoflow-h100, resnet50-a100"))
        #expect(configError(base + "accelerators: {profile: custom, batch_size: 4}").contains("profile 'custom' needs sample_shape or record_bytes, compute_seconds, au_threshold"))
        #expect(configError(base + "accelerators: {profile: resnet50-h100, gpus: 8}").contains("accelerators: unknown key 'gpus'"))
        #expect(configError(base + "modes: [emulate]").contains("mode 'emulate' needs an 'accelerators' section"))
        #expect(configError(base + "modes: [read]\naccelerators: resnet50-h100").contains("'accelerators' is set but 'modes' does not include emulate"))
    }

    /// A search limit whose batch buffers cannot fit in memory is refused, saying why.
    @Test func tooManyAcceleratorsForMemoryIsRefused() {
        let text = configError("""
            dataset: {name: r, generate: {samples: 800}}
            backends: [{format: raw}]
            accelerators: {profile: resnet50-h100, max_accelerators: 100000}
            """)
        #expect(text.contains("accelerators.max_accelerators 100000 would need"))
        #expect(text.contains("GiB of batch buffers (1 reader thread × 4 batches of 230 MiB float32 each, per accelerator)"))
        #expect(text.contains("allows at most"))
        // A "no limit" figure whose byte count overflows 64-bit integers is refused, not a trap.
        let huge = configError("""
            dataset: {name: r, generate: {samples: 800}}
            backends: [{format: raw}]
            accelerators: {profile: resnet50-h100, max_accelerators: 100000000000}
            """)
        #expect(huge.contains("accelerators.max_accelerators 100000000000 would need"))
        let settings = EmulationSettings(profile: AcceleratorProfile.presets["resnet50-h100"]!)
        #expect(settings.memoryLimit(sampleElements: 3 * 224 * 224, physicalMemory: 24 << 30) == Int(Double(24 << 30) * 0.7) / (4 * 400 * 150_528 * 4))
    }
}

@Suite struct AcceleratorSearchTests {
    /// Doubling then bisection finds the largest N that passes, for any answer, within the limit.
    @Test func findsTheLargestPassingN() {
        for answer in 0...40 {
            var search = AcceleratorSearch(limit: 24)
            while let n = search.next {
                #expect(n >= 1 && n <= 24)
                search.record(n, passed: n <= answer)
            }
            #expect(search.answer == min(answer, 24), "answer \(answer)")
            #expect(search.reachedLimit == (answer >= 24))
            #expect(search.probes.count <= 11, "answer \(answer): \(search.probes.count) probes")
        }
    }

    @Test func aFailureBelowAPassWins() {
        var search = AcceleratorSearch(limit: 8)
        search.record(1, passed: true)
        search.record(2, passed: false)
        search.record(4, passed: true)  // noise: the failure at 2 stands
        #expect(search.answer == 1 && search.next == nil)
        #expect(AcceleratorSearch(limit: 0).next == nil)
    }
}

/// A source that takes `delay` seconds per batch, or fails at batch `failAt`.
final class SlowSource: DataSource, @unchecked Sendable {
    let name = "slow"
    let sampleShape = [4]
    let sampleCount: Int
    let classes: Int? = 2
    var segments: SampleSegments { .single(sampleCount) }
    let delay: Double
    let failAt: Int?
    init(samples: Int, delay: Double, failAt: Int? = nil) {
        sampleCount = samples
        self.delay = delay
        self.failAt = failAt
    }

    final class Iterator: BatchIterator {
        let source: SlowSource
        let batches: Int
        var position = 0
        init(_ source: SlowSource, _ options: EpochOptions) {
            self.source = source
            batches = EpochPlan.batches(EpochPlan.order(source.segments, options), options).count
        }
        func next() throws -> Batch? {
            guard position < batches else { return nil }
            if let f = source.failAt, position == f { throw DataSourceError("slow.h5", "chunk [\(position)]: corrupt") }
            position += 1
            Thread.sleep(forTimeInterval: source.delay)
            return Batch(data: Tensor(zeros: [2, 4]), labels: Tensor(zeros: [2]))
        }
    }

    func makeIterator(_ options: EpochOptions) throws -> any BatchIterator { Iterator(self, options) }
}

@Suite(.serialized) struct AcceleratorEmulatorTests {
    func settings(compute: Double, batch: Int = 2, synchronous: Bool = true) -> EmulationSettings {
        var s = EmulationSettings(profile: AcceleratorProfile(name: "test", sampleShape: [4], batchSize: batch, computeSeconds: compute,
                                                              auThreshold: 0.9))
        s.probeSeconds = 0.3
        s.prefetch = 2
        s.synchronous = synchronous
        return s
    }

    /// Data ready in memory keeps the accelerators busy; the counts follow the shards.
    @Test func dataInMemoryKeepsAcceleratorsBusy() throws {
        let source = try StoredMemorySource(loading: SyntheticSource(samples: 64, shape: [4], classes: 2, seed: 1))
        let emulator = AcceleratorEmulator(settings: settings(compute: 0.02), first: source, files: []) { source }
        #expect(emulator.stepsPerEpoch(2) == 16 && emulator.dataLimit == 32)
        let result = try #require(try emulator.probe(2, order: .shuffle, cache: .warm, seed: 1))
        #expect(result.steps == result.epochs * 16)
        #expect(result.samples == 2 * result.steps * 2)
        #expect(result.au.count == 2)
        #expect(result.auMin > 0.8, "AU \(result.au)")
        #expect(result.seconds >= Double(result.steps) * 0.02)
    }

    /// A reader slower than the compute leaves the accelerator waiting: AU ≈ compute / read time.
    @Test func aSlowReaderLowersTheAU() throws {
        let source = SlowSource(samples: 40, delay: 0.04)
        let emulator = AcceleratorEmulator(settings: settings(compute: 0.02), first: source, files: []) { source }
        let result = try #require(try emulator.probe(1, order: .sequential, cache: .warm, seed: 1))
        #expect(result.auMean < 0.65 && result.auMean > 0.25, "AU \(result.auMean)")
        #expect(result.waitSeconds > 0.2)
        let readOnly = try #require(try emulator.probe(1, order: .sequential, cache: .warm, seed: 1, computeScale: 0))
        #expect(readOnly.samplesPerSecond < 2 / 0.04 * 1.05)
    }

    /// A reader's error ends the probe with that error; nothing hangs.
    @Test func aReaderErrorEndsTheProbe() {
        let source = SlowSource(samples: 40, delay: 0.001, failAt: 3)
        let emulator = AcceleratorEmulator(settings: settings(compute: 0.005), first: source, files: []) { source }
        #expect(errorText { _ = try emulator.probe(2, order: .shuffle, cache: .warm, seed: 1) }.contains("slow.h5: chunk [3]: corrupt"))
    }

    /// A stop request ends a probe early (no result), with every thread released.
    @Test func aStopEndsTheProbeEarly() throws {
        let source = SlowSource(samples: 400, delay: 0.001)
        var s = settings(compute: 0.02)
        s.probeSeconds = 30
        let emulator = AcceleratorEmulator(settings: s, first: source, files: []) { source }
        let started = Date()
        let result = try emulator.probe(3, order: .shuffle, cache: .warm, seed: 1, stop: { Date().timeIntervalSince(started) > 0.2 })
        #expect(result == nil)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func tooFewSamplesForOneBatchEach() {
        let source = SlowSource(samples: 5, delay: 0)
        let emulator = AcceleratorEmulator(settings: settings(compute: 0.01), first: source, files: []) { source }
        #expect(errorText { _ = try emulator.probe(3, order: .shuffle, cache: .warm, seed: 1) }.contains("5 samples give 3 accelerators no full batch of 2"))
    }
}

@Suite(.serialized) struct EmulationRunTests {
    /// A whole emulate run on a tiny set: a search per backend, order and cache state,
    /// read-only probes, answers in accelerators.csv and the report, and the CSV reads back.
    @Test func tinyEmulateRunWritesAcceleratorsCSV() throws {
        let out = temporaryFile("out")
        let data = temporaryFile("data")
        let config = try BenchmarkConfig(yaml: """
            experiment: emu
            dataset: {name: t, generate: {samples: 256, shape: [2, 4, 4], classes: 3, seed: 5}}
            backends:
              - {name: raw, format: raw}
              - {name: memory, format: memory}
              - {name: h5, format: hdf5, files: 2, chunk: 16, compression: "gzip:1"}
              - {name: db, format: lmdb}
            orders: [shuffle]
            cache: [warm, cold]
            peers: false
            accelerators: {profile: custom, sample_shape: [2, 4, 4], batch_size: 8, compute_seconds: 0.01, au_threshold: 0.5,
                           probe_seconds: 0.1, max_accelerators: 4}
            data_dir: \(data)
            """)
        let runner = BenchmarkRunner(config: config, outputDirectory: out)
        runner.log = { _ in }
        #expect(try runner.run())
        let rows = try AcceleratorColumns.read(out + "/accelerators.csv")
        // Read back: the same rows (numbers kept to six significant digits).
        #expect(rows.map { "\($0.kind) \($0.backend) \($0.cache) \($0.accelerators) \($0.passed ?? false)" }
            == runner.acceleratorRows.map { "\($0.kind) \($0.backend) \($0.cache) \($0.accelerators) \($0.passed ?? false)" })
        let answers = rows.filter { $0.kind == .answer }
        // raw, h5, db warm and cold; memory warm only.
        #expect(answers.count == 7)
        #expect(Set(answers.map { "\($0.backend) \($0.cache.rawValue)" }) == ["raw warm", "raw cold", "memory warm", "h5 warm", "h5 cold", "db warm", "db cold"])
        for a in answers {
            #expect(a.accelerators >= 0 && a.accelerators <= 4)
            #expect(a.limit == 4 && a.predicted != nil && a.readOnlySamplesPerSecond != nil)
            #expect(a.demandSamplesPerSecond == 800)
            #expect(a.potentialCaching == (a.cache == .warm || (a.residentBefore ?? 0) > 0.05))
        }
        #expect(rows.filter { $0.kind == .readOnly }.count == 7)
        for p in rows where p.kind == .probe {
            #expect(p.passed == ((p.auMean ?? 0) >= 0.5))
            #expect(p.samples == p.accelerators * (p.steps ?? 0) * 8)
        }
        let cold = rows.filter { $0.kind == .probe && $0.cache == .cold }
        #expect(!cold.isEmpty && cold.allSatisfy { ($0.residentBefore ?? 1) < 0.5 })
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("Accelerators kept busy: custom (batch 8, 0.01 s per batch, AU ≥ 0.50)"))
        #expect(html.contains("<td class=\"l\">db</td>"))
    }
}
