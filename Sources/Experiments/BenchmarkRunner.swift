import DataSources
import Foundation
import Graph
import HDF5
import LMDB
import Synchronization

/// Runs an experiment: writes each layout once (reused while the config is unchanged),
/// then measures every backend × mode × cache × order × batch size × prefetch depth,
/// warm-up epochs first, then the repeats. Rows go to DIR/results.csv, DIR/summary.csv and
/// DIR/report.html after every configuration, so an interrupted run keeps what it measured.
public final class BenchmarkRunner {
    /// Set by the SIGINT handler; the run stops after the epoch in progress.
    public static let interrupted = Atomic<Bool>(false)

    public let config: BenchmarkConfig
    public let outputDirectory: String
    public private(set) var rows: [ResultRow] = []
    /// Lines for the user (stdout).
    public var log: (String) -> Void = { print($0) }
    /// The progress line (stderr; the command draws it only on a terminal).
    public var progress: (String) -> Void = { _ in }
    private let startedAt = ISO8601DateFormatter().string(from: Date())
    private let host = ProcessInfo.processInfo.hostName

    public init(config: BenchmarkConfig, outputDirectory: String) {
        self.config = config
        self.outputDirectory = outputDirectory
    }

    /// Runs everything; returns false when interrupted (the rows so far are written).
    @discardableResult
    public func run() throws -> Bool {
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let total = config.datasets.count * config.backends.count * config.modes.count * config.caches.count
            * config.orders.count * config.batchSizes.count * config.prefetch.count
        var done = 0
        for dataset in config.datasets {
            let base = try baseSource(dataset)
            let classes = base.classes ?? 10
            let graph = try Graph<Float>(spec: .mlp(inputShape: base.sampleShape, hidden: config.hidden, classes: classes), seed: 1)
            let sgd = SGD<Float>(learningRate: config.learningRate, momentum: config.momentum)
            for backend in config.backends {
                let source = try open(backend, dataset: dataset, base: base)
                for mode in config.modes {
                    for cache in config.caches {
                        for order in config.orders {
                            for batch in config.batchSizes {
                                for depth in config.prefetch {
                                    done += 1
                                    progress("[\(done)/\(total)] \(dataset.name) \(backend.name) \(mode.rawValue) \(order.rawValue) \(cache.rawValue) batch \(batch) prefetch \(depth)")
                                    var template = ResultRow()
                                    template.experiment = config.datasets.count > 1 ? "\(config.experiment)/\(dataset.name)" : config.experiment
                                    template.backend = backend.name
                                    template.format = backend.format.rawValue
                                    template.layout = backend.layout
                                    template.dtype = backend.format == .memory ? "float32" : backend.dtype.rawValue
                                    template.order = order.rawValue
                                    template.cache = cache.rawValue
                                    template.batchSize = batch
                                    template.prefetch = depth
                                    template.mode = mode.rawValue
                                    template.storedBytes = backend.format == .memory ? nil : source.storedBytes
                                    template.hdf5Version = HDF5Library.version
                                    template.lmdbVersion = lmdbVersion
                                    template.blas = "OpenBLAS \(BLASKernels.coreName)"
                                    template.host = host
                                    template.startedAt = startedAt
                                    let measured = try measure(source, template: template, cache: cache, order: order, batch: batch,
                                                               prefetch: depth, mode: mode, graph: graph, sgd: sgd)
                                    rows += measured
                                    if let last = measured.last { log(describe(last, repeats: measured)) }
                                    try writeOutputs()
                                    if Self.interrupted.load(ordering: .relaxed) { return false }
                                }
                            }
                        }
                    }
                }
            }
            if config.peers { try runPeers(dataset: dataset, base: base) }
        }
        try writeOutputs()
        return true
    }

    // MARK: Data

    private func baseSource(_ dataset: BenchmarkConfig.DataSet) throws -> any DataSource {
        if let source = dataset.source { return try SourceLocation(parsing: source).open() }
        return try SyntheticSource(samples: dataset.samples, shape: dataset.shape, classes: dataset.classes, seed: dataset.seed)
    }

    /// The folder a layout lives in: keyed by everything that changes its bytes.
    func layoutFolder(_ backend: BenchmarkConfig.Backend, dataset: BenchmarkConfig.DataSet) -> String {
        var description = "\(backend.format.rawValue)|\(backend.files)|\(backend.dtype.rawValue)|\(backend.chunk ?? 0)|\(backend.gzip ?? -1)|"
        if let source = dataset.source {
            let modified = (try? FileManager.default.attributesOfItem(atPath: source)[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            description += "source \(source) \(modified)"
        } else {
            description += "generate \(dataset.samples) \(dataset.shape) \(dataset.classes) \(dataset.seed)"
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in description.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "\(config.dataDirectory)/\(dataset.name)-\(backend.format.rawValue)-\(String(hash, radix: 16))"
    }

    private func open(_ backend: BenchmarkConfig.Backend, dataset: BenchmarkConfig.DataSet, base: any DataSource) throws -> any DataSource {
        let folder = layoutFolder(backend, dataset: dataset)
        let write: () throws -> Void, open: () throws -> any DataSource
        switch backend.format {
        case .memory:
            return try MemorySource(loading: base)
        case .hdf5:
            let list = "\(folder)/set/train.txt"
            write = {
                try HDF5SetWriter(options: .init(files: backend.files, dtype: backend.dtype, chunkRows: backend.chunk, gzipLevel: backend.gzip))
                    .write(base, to: list)
            }
            open = { try HDF5ListSource(path: list, readPath: backend.readPath, batchSizeHint: self.config.batchSizes.max() ?? 128) }
        case .lmdb:
            write = { try LMDBWriter.write(base, to: "\(folder)/lmdb", dtype: backend.dtype) }
            open = { try LMDBSource(path: "\(folder)/lmdb") }
        case .raw:
            write = { try RawSource.write(base, to: "\(folder)/raw", dtype: backend.dtype) }
            open = { try RawSource(path: "\(folder)/raw") }
        }
        let stamp = "\(folder)/complete"
        if !FileManager.default.fileExists(atPath: stamp) {
            log("writing \(dataset.name) as \(backend.name) (\(backend.layout)) under \(folder)")
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try write()
            FileManager.default.createFile(atPath: stamp, contents: Data())
        }
        return try open()
    }

    // MARK: Measuring

    private func measure(
        _ source: any DataSource, template: ResultRow, cache: BenchmarkConfig.Cache, order: SampleOrder, batch: Int,
        prefetch: Int, mode: BenchmarkConfig.Mode, graph: Graph<Float>, sgd: SGD<Float>
    ) throws -> [ResultRow] {
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = batch
        options.order = order
        options.prefetch = prefetch
        let trainer = mode == .train ? try Trainer(graph: graph, optimizer: sgd, train: source, test: nil, options: options) : nil
        var result: [ResultRow] = []
        let warmups = cache == .warm ? config.warmup : 0
        for epoch in 0..<(warmups + config.repeats) {
            if Self.interrupted.load(ordering: .relaxed) { break }
            var row = template
            if cache == .cold {
                source.evictFromPageCache()
                row.residentBefore = PageCache.residency(source.files)
            } else if !source.files.isEmpty {
                row.residentBefore = PageCache.residency(source.files)
            }
            if let trainer {
                let m = try trainer.runEpoch(epoch + 1)
                row.samples = m.samples
                row.seconds = m.seconds
                let steps = m.stepMilliseconds.sorted()
                row.stepMsMedian = StepTimer.percentile(steps, 0.5)
                row.stepMsP95 = StepTimer.percentile(steps, 0.95)
                row.waitSeconds = m.waitSeconds
                row.computeSeconds = m.computeSeconds
                row.au = m.seconds > 0 ? m.computeSeconds / m.seconds : nil
            } else {
                let reader: any DataSource = prefetch > 0 ? PrefetchingSource(source, depth: prefetch) : source
                let iterator = try reader.makeIterator(EpochOptions(batchSize: batch, order: order, seed: UInt64(epoch + 1)))
                let start = ContinuousClock.now
                var count = 0
                while let b = try iterator.next() {
                    count += b.count
                    if Self.interrupted.load(ordering: .relaxed) { break }
                }
                let d = ContinuousClock.now - start
                // An epoch cut short by Ctrl-C is not a measurement.
                if Self.interrupted.load(ordering: .relaxed) { break }
                row.samples = count
                row.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            }
            if let seconds = row.seconds, seconds > 0 {
                row.samplesPerSecond = Double(row.samples) / seconds
                if let bytes = row.storedBytes, source.sampleCount > 0 {
                    row.mibPerSecond = Double(bytes) * Double(row.samples) / Double(source.sampleCount) / 1_048_576 / seconds
                }
            }
            if !source.files.isEmpty { row.residentAfter = PageCache.residency(source.files) }
            row.peakRSSMiB = peakRSSMiB()
            if epoch >= warmups {
                row.repeatIndex = epoch - warmups + 1
                result.append(row)
            }
        }
        return result
    }

    private func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    private func describe(_ row: ResultRow, repeats: [ResultRow]) -> String {
        let rates = repeats.compactMap(\.samplesPerSecond).sorted()
        var text = String(format: "%@ %@ %@ %@ %@ batch %d prefetch %d: %.0f samples/s", row.experiment, row.backend, row.mode,
                          row.order, row.cache, row.batchSize, row.prefetch, StepTimer.percentile(rates, 0.5))
        if row.mode == "train", let step = row.stepMsMedian, let au = row.au { text += String(format: ", step %.2f ms, AU %.2f", step, au) }
        if row.cache == "cold", let before = row.residentBefore { text += String(format: ", resident before %.0f%%", before * 100) }
        return text
    }

    // MARK: Peers

    private func runPeers(dataset: BenchmarkConfig.DataSet, base: any DataSource) throws {
        var template = ResultRow()
        template.experiment = config.datasets.count > 1 ? "\(config.experiment)/\(dataset.name)" : config.experiment
        template.cache = "warm"
        template.host = host
        template.startedAt = startedAt
        template.blas = ""
        let batch = config.batchSizes.first ?? 128
        template.batchSize = batch
        var skipped: [String] = []
        for backend in config.backends where backend.format == .hdf5 || backend.format == .lmdb {
            let folder = layoutFolder(backend, dataset: dataset)
            for order in config.orders where order == .sequential || order == .shuffle {
                var row = template
                row.format = backend.format.rawValue
                row.layout = backend.layout
                row.dtype = backend.dtype.rawValue
                row.order = order.rawValue
                row.mode = "read"
                row.repeatIndex = 1
                let rate: Double?
                if backend.format == .hdf5 {
                    guard backend.gzip == nil, backend.readPath == .auto else { continue }
                    row.backend = "h5py"
                    let mode = order == .sequential ? "slice" : "fancy"
                    rate = PythonPeer.samplesPerSecond(script: "h5py_read.py", ["\(folder)/set/train.txt", "--mode", mode, "--batch",
                                                                                 String(batch), "--epochs", "3", "--max-samples", "20000"])
                } else {
                    row.backend = "py-lmdb"
                    rate = PythonPeer.samplesPerSecond(script: "py_lmdb_read.py", ["\(folder)/lmdb", "--mode", order.rawValue,
                                                                                    "--batch", String(batch), "--epochs", "3"])
                }
                guard let rate else { skipped.append(row.backend); continue }
                row.samplesPerSecond = rate
                row.samples = min(20_000, base.sampleCount)
                rows.append(row)
                log(String(format: "%@ %@ (%@) read %@: %.0f samples/s", row.experiment, row.backend, row.layout, row.order, rate))
            }
        }
        if config.modes.contains(.train) {
            let sizes = [base.sampleElements] + config.hidden + [base.classes ?? 10]
            if let torch = TorchStepWorker(sizes: sizes, batch: batch, threads: 2) {
                let times = try torch.steps(60).sorted()
                var row = template
                row.backend = "torch"
                row.format = "memory"
                row.layout = "float32 in RAM"
                row.dtype = "float32"
                row.order = "shuffle"
                row.mode = "train"
                row.repeatIndex = 1
                row.samples = 60 * batch
                row.stepMsMedian = StepTimer.percentile(times, 0.5)
                row.stepMsP95 = StepTimer.percentile(times, 0.95)
                row.samplesPerSecond = Double(batch) / (row.stepMsMedian! / 1000)
                rows.append(row)
                log(String(format: "%@ torch train step (MLP %@): %.2f ms", row.experiment, sizes.map(String.init).joined(separator: "-"), row.stepMsMedian!))
            } else {
                skipped.append("torch")
            }
        }
        if !skipped.isEmpty {
            log("peers skipped: \(Set(skipped).sorted().joined(separator: ", ")) (python3 or a package is missing; `make peers` installs them)")
        }
        try writeOutputs()
    }

    // MARK: Output

    /// Writes results.csv, summary.csv and report.html from the rows so far.
    public func writeOutputs() throws {
        var all = rows
        ResultsCSV.fillRatios(&all)
        rows = all
        try ResultsCSV.write(all, to: "\(outputDirectory)/results.csv")
        try ResultsCSV.writeSummary(all, to: "\(outputDirectory)/summary.csv")
        let html = HTMLReport.render(all, title: config.experiment)
        try AtomicFile.write(to: "\(outputDirectory)/report.html") { try html.write(toFile: $0, atomically: false, encoding: .utf8) }
    }
}
