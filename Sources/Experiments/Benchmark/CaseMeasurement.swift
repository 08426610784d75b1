import DataSources
import Foundation
import Graph
import HDF5
import LMDB
import Ranks

/// A case ready to measure: its layout open, its row template filled, its trainer built.
public final class PreparedCase {
    public let spec: BenchmarkCase
    let template: ResultRow
    let layout: StoredLayout?
    let measureEpoch: (_ epoch: Int, _ row: inout ResultRow, _ stop: () -> Bool) throws -> Bool
    /// Drops the layout's files from memory, through every open source that maps them.
    var evict: () -> Void = {}
    /// The ranks measuring together (one without mpirun).
    var ranks: Ranks = .single

    init(spec: BenchmarkCase, template: ResultRow, layout: StoredLayout?,
         measureEpoch: @escaping (Int, inout ResultRow, () -> Bool) throws -> Bool) {
        self.spec = spec
        self.template = template
        self.layout = layout
        self.measureEpoch = measureEpoch
    }

    var phase: Int { spec.phase }
    var describe: String {
        "\(template.experiment) \(template.backend) \(template.mode.rawValue) \(template.order.rawValue) \(template.cache.rawValue) batch \(template.batchSize)"
    }

    /// Warm-up epochs before the repeats: none for cold epochs (each starts from storage).
    func warmups(_ configured: Int) -> Int { spec.cache == .cold ? 0 : configured }

    /// Measures one epoch: drops the files first when cold, reads them in first when warm and
    /// something evicted them, records residency before and after, the figures, and peak RSS.
    /// Nil when `stop` cut the epoch short (not a measurement).
    ///
    /// Over ranks, one rank per host drops (or reads in) the host's files, every rank starts
    /// the epoch at a barrier, and the row holds every rank's samples over the slowest rank's
    /// epoch, the slowest step and wait, the mean and lowest AU, the highest residency.
    func measure(epoch: Int, stop: () -> Bool) throws -> ResultRow? {
        var row = template
        if let files = layout?.files {
            if spec.cache == .cold {
                // Every rank lets go of its own mappings of the files (pages another process
                // maps cannot be dropped); then one rank per host drops the host's pages.
                evict()
                if ranks.size > 1 {
                    try ranks.barrier()
                    if ranks.leadsNode { evict() }
                }
            } else if ranks.leadsNode, PageCache.residency(files.files) < 0.999 {
                PageCache.warm(files.files)
            }
            try ranks.barrier()
            row.residentBefore = PageCache.residency(files.files)
        }
        try ranks.barrier()
        // Ctrl-C cannot end one rank's epoch alone: over ranks, epochs run to their end.
        guard try measureEpoch(epoch, &row, ranks.size > 1 ? { false } : stop) else { return nil }
        if let files = layout?.files { row.residentAfter = PageCache.residency(files.files) }
        row.peakRSSMiB = Self.peakRSSMiB()
        if ranks.size > 1 { try combineRanks(&row) }
        if let seconds = row.seconds, seconds > 0 {
            row.samplesPerSecond = Double(row.samples) / seconds
            if let bytes = row.storedBytes, let count = layout?.source.sampleCount, count > 0 {
                row.mibPerSecond = Double(bytes) * Double(row.samples) / Double(count) / 1_048_576 / seconds
            }
        }
        return row
    }

    /// Every rank's figures of one epoch, reduced into the row (on every rank).
    private func combineRanks(_ row: inout ResultRow) throws {
        let n = Double(ranks.size)
        let local = [Double(row.samples), row.seconds ?? 0, row.waitSeconds ?? 0, row.computeSeconds ?? 0, row.stepMsMedian ?? 0,
                     row.stepMsP95 ?? 0, row.au ?? 0, row.residentBefore ?? 0, row.residentAfter ?? 0, row.peakRSSMiB ?? 0]
        let sum = try ranks.allreduce(local, .sum), most = try ranks.allreduce(local, .max), least = try ranks.allreduce(local, .min)
        // Training reduces its samples over ranks itself (every rank steps on the global batch).
        if spec.mode != .train { row.samples = Int(sum[0]) }
        row.seconds = row.seconds.map { _ in most[1] }
        row.waitSeconds = row.waitSeconds.map { _ in most[2] }
        row.computeSeconds = row.computeSeconds.map { _ in sum[3] / n }
        row.stepMsMedian = row.stepMsMedian.map { _ in most[4] }
        row.stepMsP95 = row.stepMsP95.map { _ in most[5] }
        if row.au != nil {
            row.au = sum[6] / n
            row.auMin = least[6]
        }
        row.residentBefore = row.residentBefore.map { _ in most[7] }
        row.residentAfter = row.residentAfter.map { _ in most[8] }
        row.peakRSSMiB = most[9]
    }

    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Prepares cases: opens each backend's layout once per data set, builds one network per
/// data set for training, and gives every case its epoch — FeedBench's reads and training go
/// through `TimedEpoch`, peers through the worker.
final class CaseMeasurement {
    let config: BenchmarkConfig
    let store: LayoutStore
    let peers: PeerWorker?
    private var bases: [Int: any DataSource] = [:]
    private var layouts: [String: StoredLayout] = [:]
    private var networks: [Int: (graph: Graph<Float>, sgd: SGD<Float>)] = [:]
    private var torchBuiltFor: [Int]?
    /// The ranks measuring together (one without mpirun).
    let ranks: Ranks
    let startedAt = ISO8601DateFormatter().string(from: Date())
    let host = ProcessInfo.processInfo.hostName
    /// The config's text as run, hashed (results.csv's config_hash).
    lazy var configHash: String = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in config.text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }()
    /// Steps PyTorch's step is timed for in one epoch of its case.
    static let torchStepsPerEpoch = 40

    init(config: BenchmarkConfig, store: LayoutStore, peers: PeerWorker?, ranks: Ranks = .single) {
        self.ranks = ranks
        self.config = config
        self.store = store
        self.peers = peers
    }

    /// The data set every layout of `d` is written from.
    func baseSource(_ d: Int) throws -> any DataSource { try base(d) }

    private func base(_ d: Int) throws -> any DataSource {
        if let b = bases[d] { return b }
        let b = try store.baseSource(config.datasets[d])
        bases[d] = b
        return b
    }

    func layout(_ backend: BenchmarkConfig.Backend, dataset d: Int) throws -> StoredLayout {
        let key = "\(d)|\(backend.name)"
        if let l = layouts[key] { return l }
        let l = try store.open(backend, dataset: config.datasets[d], base: { try self.base(d) })
        layouts[key] = l
        return l
    }

    private func network(_ d: Int) throws -> (graph: Graph<Float>, sgd: SGD<Float>) {
        if let n = networks[d] { return n }
        let b = try base(d)
        let spec = config.networkSpec ?? .mlp(inputShape: b.sampleShape, hidden: config.hidden, classes: b.classes ?? 10)
        let graph: Graph<Float>
        do { graph = try Graph<Float>(spec: spec, seed: 1) } catch { throw TrainingError("\(config.networkSpecPath ?? "network"): \(error)") }
        let n = (graph, SGD<Float>(learningRate: config.learningRate, momentum: config.momentum))
        networks[d] = n
        return n
    }

    /// The rows' experiment: the config's, with the data set's name when there are several.
    func experimentName(dataset d: Int) -> String {
        config.datasets.count > 1 ? "\(config.experiment)/\(config.datasets[d].name)" : config.experiment
    }

    /// The rows' `blas` column: the library and the kernels it runs.
    static var blas: String { "OpenBLAS \(BLASKernels.coreName)" }

    private func template(_ c: BenchmarkCase) -> ResultRow {
        var row = ResultRow()
        row.experiment = experimentName(dataset: c.dataset)
        row.order = c.order
        row.cache = c.cache
        row.batchSize = c.batchSize
        row.prefetch = c.prefetch
        row.mode = c.mode
        row.phase = c.phase
        row.hdf5Version = HDF5Library.version
        row.lmdbVersion = lmdbVersion
        row.blas = Self.blas
        row.host = host
        row.startedAt = startedAt
        row.toolVersion = FeedBenchVersion.current
        row.configHash = configHash
        row.ranks = ranks.size
        return row
    }

    /// Drops the pages of every open layout that maps one of `files`.
    func evictLayouts(sharing files: [String]) {
        for other in layouts.values {
            guard let theirs = other.files, !Set(theirs.files).isDisjoint(with: files) else { continue }
            theirs.evictFromPageCache()
        }
    }

    /// The case ready to run, or nil when it does not apply after all (the decode limit of
    /// an existing file that holds no compressed chunks).
    func prepare(_ c: BenchmarkCase) throws -> PreparedCase? {
        guard let prepared = try prepareCase(c) else { return nil }
        prepared.ranks = ranks
        if let files = prepared.layout?.files?.files {
            // Every open source that maps one of these files must drop its pages too, or the
            // kernel keeps them (a phase-2 backend reads the files of a phase-1 one).
            prepared.evict = { [unowned self] in
                for other in layouts.values {
                    guard let theirs = other.files, !Set(theirs.files).isDisjoint(with: files) else { continue }
                    theirs.evictFromPageCache()
                }
            }
        }
        return prepared
    }

    /// The source as a set of encoded images, when it is one.
    static func encodedImages(_ source: any DataSource) -> (any EncodedImageSource)? {
        if let lmdb = source as? LMDBSource { return lmdb.imageFormats.isEmpty ? nil : lmdb }
        return source as? EncodedHDF5Source
    }

    private func prepareCase(_ c: BenchmarkCase) throws -> PreparedCase? {
        var row = template(c)
        switch c.reader {
        case .backend(let backend):
            let layout = try layout(backend, dataset: c.dataset)
            row.backend = backend.name
            row.format = layout.format
            row.layout = layout.layout
            row.dtype = layout.dtype
            row.storedBytes = layout.files?.storedBytes
            row.layoutID = layout.id
            if c.mode == .write {
                return PreparedCase(spec: c, template: row, layout: nil, measureEpoch: try writeEpoch(c, backend, layout))
            }
            return PreparedCase(spec: c, template: row, layout: layout, measureEpoch: try feedbenchEpoch(c, layout))
        case .decodeLimit(on: let backend):
            let layout = try layout(backend, dataset: c.dataset)
            // Compressed chunks, or encoded images: the same bytes decoded from memory.
            let run: () throws -> (samples: Int, seconds: Double)
            let samples: Int
            if let hdf5 = layout.source as? HDF5ListSource, hdf5.decodesChunks {
                let limit = try DecodeLimit(hdf5)
                (run, samples) = (limit.run, hdf5.sampleCount)
            } else if let images = Self.encodedImages(layout.source) {
                let limit = try ImageDecodeLimit(images)
                (run, samples) = (limit.run, images.sampleCount)
            } else {
                return nil
            }
            row.backend = "\(backend.name) decode limit"
            row.format = .decodeLimit
            row.layout = layout.layout
            row.dtype = layout.dtype
            row.storedBytes = layout.files?.storedBytes
            row.layoutID = layout.id
            return PreparedCase(spec: c, template: row, layout: nil) { _, row, _ in
                let result = try run()
                row.samples = result.samples
                row.seconds = result.seconds
                if let bytes = row.storedBytes, result.seconds > 0 {
                    row.mibPerSecond = Double(bytes) * Double(result.samples) / Double(max(samples, 1)) / 1_048_576 / result.seconds
                }
                return true
            }
        case .peer(let peer, on: let backend) where c.mode == .write:
            let layout = try layout(backend, dataset: c.dataset)
            guard let peers, let location = layout.location else { throw PeerError("h5py: no peer worker") }
            row.backend = "h5py"
            row.format = .h5py
            row.layout = "\(layout.layout), h5py writing"
            row.dtype = layout.dtype
            row.layoutID = layout.id
            let target = "\(config.dataDirectory)/.peer-write-\(getpid())"
            let w = backend.writer
            _ = peer
            return PreparedCase(spec: c, template: row, layout: nil) { _, row, _ in
                try? FileManager.default.removeItem(atPath: target)
                defer { try? FileManager.default.removeItem(atPath: target) }
                let result = try peers.writeSet(from: location, to: target, files: w.files, chunkRows: w.chunkRows,
                                                compression: w.compression.description, shuffle: w.shuffle, fletcher32: w.fletcher32)
                row.samples = result.samples
                row.seconds = result.seconds
                row.storedBytes = result.bytes
                return true
            }
        case .peer(let peer, on: let backend):
            let layout = try layout(backend, dataset: c.dataset)
            guard let peers, let location = layout.location else { throw PeerError("\(peer.rawValue): no peer worker") }
            row.backend = peer.rawValue
            row.format = peer == .pyLMDB ? .pyLMDB : .h5py
            row.layout = "\(layout.layout), \(Self.method(peer, c.order))"
            row.dtype = layout.dtype
            row.storedBytes = layout.files?.storedBytes
            row.layoutID = layout.id
            let readahead = backend.readahead == .on, maxSamples = config.peerSamples
            let transform = Self.encodedImages(layout.source) == nil ? nil : config.transform
            if transform != nil { row.layout += ", Pillow decoding" }
            try peers.prepare(peer: peer.rawValue, location: location)
            return PreparedCase(spec: c, template: row, layout: layout) { epoch, row, _ in
                let result = try peers.readEpoch(peer: peer.rawValue, location: location, keys: layout.keys, order: c.order,
                                                 batchSize: c.batchSize, seed: UInt64(epoch + 1), maxSamples: maxSamples,
                                                 readahead: readahead, transform: transform)
                row.samples = result.samples
                row.seconds = result.seconds
                return true
            }
        case .torch:
            guard let peers else { throw PeerError("torch: no peer worker") }
            let b = try base(c.dataset)
            let sizes = [b.sampleElements] + config.hidden + [b.classes ?? 10]
            row.backend = "torch"
            row.format = .torch
            row.layout = "float32 in RAM, " + (config.networkSpecPath.map { "network \($0)" } ?? "MLP " + sizes.map(String.init).joined(separator: "-"))
            row.dtype = "float32"
            let spec = config.networkSpec
            return PreparedCase(spec: c, template: row, layout: nil) { [self] _, row, _ in
                if torchBuiltFor != sizes + [c.batchSize] {
                    if let spec {  // the same network, built by the worker from the spec
                        try peers.buildTorchStep(spec: spec.text, batchSize: c.batchSize, threads: 2)
                    } else {
                        try peers.buildTorchStep(sizes: sizes, batchSize: c.batchSize, threads: 2)
                    }
                    torchBuiltFor = sizes + [c.batchSize]
                }
                let times = try peers.torchSteps(Self.torchStepsPerEpoch).sorted()
                row.samples = Self.torchStepsPerEpoch * c.batchSize
                row.seconds = times.reduce(0, +) / 1000
                row.stepMsMedian = StepTimer.percentile(times, 0.5)
                row.stepMsP95 = StepTimer.percentile(times, 0.95)
                row.computeSeconds = row.seconds
                row.waitSeconds = 0
                row.au = 1
                return true
            }
        }
    }

    /// This rank's share of a source's epochs, over several ranks (the rule `feedbench train` uses).
    func rankShard(_ source: any DataSource) -> RankShard? {
        ranks.size > 1 ? RankShard(files: source.segments.fileSizes.count, rank: ranks.rank, ranks: ranks.size) : nil
    }

    /// How a peer reads an order, for its layout column.
    static func method(_ peer: BenchmarkConfig.Peer, _ order: SampleOrder) -> String {
        switch (peer, order) {
        case (.pyLMDB, .sequential): return "cursor"
        case (.pyLMDB, _): return "get by key"
        case (.h5pyGetitem, _): return "per-sample __getitem__"
        case (_, .sequential): return "slicing"
        case (_, .shuffle): return "sorted fancy indexing"
        case (_, .chunkShuffle): return "chunk slices"
        case (_, .fileShuffle): return "whole-file slices"
        }
    }

    /// One epoch of a FeedBench backend, in read or train mode, through `TimedEpoch`.
    private func feedbenchEpoch(_ c: BenchmarkCase, _ layout: StoredLayout) throws -> (Int, inout ResultRow, () -> Bool) throws -> Bool {
        let source = layout.source
        let shard = rankShard(source)
        switch c.mode {
        case .read:
            return { epoch, row, stop in
                let reader: any DataSource = c.prefetch > 0 ? PrefetchingSource(source, depth: c.prefetch) : source
                var options = EpochOptions(batchSize: c.batchSize, order: c.order, seed: UInt64(epoch + 1))
                options.rankShard = shard
                let iterator = try reader.makeIterator(options)
                let timing = try TimedEpoch.run(iterator, stop: stop) { _ in }
                if timing.stopped { return false }  // an epoch cut short by Ctrl-C is not a measurement
                row.samples = timing.samples
                row.seconds = timing.seconds
                row.waitSeconds = timing.waitSeconds
                row.readAmplification = iterator.statistics?.readAmplification
                return true
            }
        case .train:
            let (graph, sgd) = try network(c.dataset)
            var options = TrainingOptions()
            options.epochs = 1
            options.batchSize = c.batchSize
            options.order = c.order
            options.prefetch = c.prefetch
            let trainer = try Trainer(graph: graph, optimizer: sgd, train: source, test: nil, options: options, ranks: ranks)
            return { epoch, row, stop in
                let m = try trainer.runEpoch(epoch + 1, stop: stop)
                if m.stopped { return false }
                row.samples = m.samples
                row.seconds = m.seconds
                let steps = m.stepMilliseconds.sorted()
                row.stepMsMedian = StepTimer.percentile(steps, 0.5)
                row.stepMsP95 = StepTimer.percentile(steps, 0.95)
                row.waitSeconds = m.waitSeconds
                row.computeSeconds = m.computeSeconds
                row.au = m.seconds > 0 ? m.computeSeconds / m.seconds : nil
                row.readAmplification = m.readAmplification
                return true
            }
        case .write:
            throw PeerError("write mode is measured by writeEpoch")
        case .emulate:
            throw PeerError("emulate mode is measured by EmulationStage")
        }
    }

    private var memories: [Int: StoredMemorySource] = [:]

    /// Data set `d` held in memory in its stored element type (loaded once).
    func storedMemory(_ d: Int) throws -> StoredMemorySource {
        if let m = memories[d] { return m }
        let m = try StoredMemorySource(loading: base(d))
        memories[d] = m
        return m
    }

    /// One epoch of writing: the layout written again from the data held in memory in its
    /// stored type (uint8 images as a numpy array would hold them), into a scratch folder
    /// removed afterwards.
    private func writeEpoch(_ c: BenchmarkCase, _ backend: BenchmarkConfig.Backend, _ layout: StoredLayout) throws
        -> (Int, inout ResultRow, () -> Bool) throws -> Bool {
        let memory = try storedMemory(c.dataset)
        var options = backend.writer
        options.type = options.type ?? layout.source.storedType
        let target = "\(config.dataDirectory)/.write-\(getpid())"
        return { _, row, _ in
            try? FileManager.default.removeItem(atPath: target)
            defer { try? FileManager.default.removeItem(atPath: target) }
            let writer = try SourceLocation(kind: .hdf5List, path: target + "/set.txt").writer(options)
            let clock = ContinuousClock()
            let start = clock.now
            let files = try writer.write(memory)
            let d = clock.now - start
            row.samples = memory.sampleCount
            row.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            row.storedBytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
            return true
        }
    }
}
