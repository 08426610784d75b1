import DataSources
import Foundation
import Graph
import HDF5
import LMDB
import Ranks
import Synchronization

/// Runs an experiment: the matrix's cases (`BenchmarkMatrix`), on layouts written once
/// (`LayoutStore`), each epoch measured by `CaseMeasurement`, peers through `PeerWorker`,
/// rows written by `BenchmarkOutputs` after every configuration (or every round when
/// interleaved), so an interrupted run keeps what it measured.
public final class BenchmarkRunner {
    /// Set by the SIGINT handler; the run stops after the epoch in progress.
    public static let interrupted = Atomic<Bool>(false)

    public let config: BenchmarkConfig
    public let outputDirectory: String
    public private(set) var rows: [ResultRow] = []
    /// Peers that could not run, and why.
    public private(set) var skippedPeers: [String: String] = [:]
    /// Keeps only the cases whose "backend, layout, order" contains one of these (and the
    /// baselines); empty keeps every case.
    public var only: [String] = []
    /// Lines for the user (stdout).
    public var log: (String) -> Void = { print($0) }
    /// The progress line (stderr; the command draws it only on a terminal).
    public var progress: (String) -> Void = { _ in }
    /// The ranks measuring together under mpirun: each reads (or trains on) its share of
    /// every configuration at the same time; rank 0 writes the outputs.
    public var ranks: Ranks = .single

    /// Replace output files of FeedBench's names in the output folder that FeedBench did not write.
    public var overwrite = false

    public init(config: BenchmarkConfig, outputDirectory: String) {
        self.config = config
        self.outputDirectory = outputDirectory
    }

    /// Ctrl-C ends a run of one rank after the epoch in progress; over ranks mpirun ends
    /// them all (a rank cannot stop alone without leaving the others in a collective).
    private var stopRequested: Bool { ranks.size == 1 && Self.interrupted.load(ordering: .relaxed) }

    // The progress line's clock: epochs to run, epochs run, since when.
    private var epochsTotal = 0, epochsDone = 0
    private let started = Date()
    private var epochClock = Date()

    /// Shows `text` with the time so far and, once an epoch has run, an estimate of the time
    /// left (the mean epoch so far times the epochs left; emulation, after them, not counted).
    private func status(_ text: String) {
        let elapsed = Date().timeIntervalSince(started)
        func clock(_ t: Double) -> String { String(format: "%d:%02d", Int(t) / 60, Int(t) % 60) }
        var line = "\(clock(elapsed)) elapsed"
        if epochsDone > 0 && epochsTotal > epochsDone {
            let perEpoch = Date().timeIntervalSince(epochClock) / Double(epochsDone)
            line += ", about \(clock(perEpoch * Double(epochsTotal - epochsDone))) left"
        }
        progress("\(line) · \(text)")
    }

    /// Runs everything; returns false when interrupted (the rows so far are written).
    @discardableResult
    public func run() throws -> Bool {
        let outputs = ranks.isRoot ? try BenchmarkOutputs(directory: outputDirectory, config: config, overwrite: overwrite) : nil
        let store = LayoutStore(dataDirectory: config.dataDirectory, batchSizeHint: config.batchSizes.max() ?? 128,
                                log: ranks.isRoot ? log : { _ in })
        store.transform = config.transform
        var cases = BenchmarkMatrix.cases(config, only: only, folder: store.folder)
        if ranks.size > 1 { dropCasesNotRunOverRanks(&cases) }
        let peers = try startPeers(for: &cases)
        let measurement = CaseMeasurement(config: config, store: store, peers: peers, ranks: ranks)
        // Rank 0 writes the layouts that are missing; the other ranks open them after it.
        let prepared = try ranks.rootFirst { try cases.compactMap { try measurement.prepare($0) } }
        // Within a phase, warm cases run before cold ones: a cold epoch evicts files that a warm
        // epoch beside it would otherwise find missing.
        let groups = Set(prepared.map(\.phase)).sorted().flatMap { phase in
            CacheState.allCases.map { cache in prepared.filter { $0.phase == phase && $0.spec.cache == cache } }
        }.filter { !$0.isEmpty }
        epochsTotal = prepared.reduce(0) { $0 + $1.warmups(config.warmup) + config.repeats }
        epochClock = Date()
        for group in groups {
            let finished = config.interleave ? try runInterleaved(group, outputs: outputs) : try runInTurn(group, outputs: outputs)
            if !finished {
                try outputs?.write(&rows, skippedPeers: skippedPeers)
                return false
            }
        }
        if config.modes.contains(.emulate), let settings = config.accelerators {
            var dlio: DLIOPeer?
            if config.peers.contains(.dlio) && ranks.size > 1 {
                // DLIO launches its own mpirun, which cannot start inside this one.
                skippedPeers["dlio"] = "not run over MPI ranks (it starts its own mpirun); run emulate mode without mpirun for it"
                log("peer skipped: dlio (\(skippedPeers["dlio"]!))")
            } else if config.peers.contains(.dlio) {
                let started = DLIOPeer.start()
                dlio = started.peer
                if let reason = started.reason {
                    skippedPeers["dlio"] = reason
                    log("peer skipped: dlio (\(reason))")
                }
            }
            let stage = EmulationStage(config: config, settings: settings, measurement: measurement, only: only, dlio: dlio,
                                       log: log, progress: progress, stop: { Self.interrupted.load(ordering: .relaxed) })
            let finished = try stage.run { accelerators in
                outputs?.accelerators = accelerators
                try outputs?.write(&rows, skippedPeers: skippedPeers)
            }
            acceleratorRows = stage.rows
            if !finished { return false }
        }
        try outputs?.write(&rows, skippedPeers: skippedPeers)
        return true
    }

    /// Over several ranks, FeedBench's own reads and training are measured; the cases that
    /// run in one process of their own (the Python peers, PyTorch's step, the decode limit,
    /// writing) are left out and named in the report.
    private func dropCasesNotRunOverRanks(_ cases: inout [BenchmarkCase]) {
        let why = "not measured over MPI ranks yet; run it without mpirun"
        cases.removeAll { c in
            let name: String?
            switch c.reader {
            case .backend: name = c.mode == .write ? "write mode" : nil
            case .peer(let p, _): name = p.rawValue
            case .torch: name = BenchmarkConfig.Peer.torch.rawValue
            case .decodeLimit: name = "decode limit"
            }
            if let name { skippedPeers[name] = why }
            return name != nil
        }
        if !skippedPeers.isEmpty {
            log("not measured over \(ranks.size) ranks: " + skippedPeers.keys.sorted().joined(separator: ", ") + " (run them without mpirun)")
        }
    }

    /// Emulate mode's rows (also in DIR/accelerators.csv).
    public private(set) var acceleratorRows: [AcceleratorRow] = []

    /// Starts the peer worker when a case needs it; drops (and notes) the cases of peers that
    /// cannot run here.
    private func startPeers(for cases: inout [BenchmarkCase]) throws -> PeerWorker? {
        func peerName(_ c: BenchmarkCase) -> String? {
            switch c.reader {
            case .backend: return nil
            case .peer(let p, _): return p.rawValue
            case .torch: return BenchmarkConfig.Peer.torch.rawValue
            case .decodeLimit: return nil
            }
        }
        let wanted = Set(cases.compactMap(peerName))
        guard !wanted.isEmpty else { return nil }
        let worker = PeerWorker()
        for name in wanted.sorted() {
            if let reason = worker == nil ? PeerWorker.lastFailure : worker!.unavailable[name] { skippedPeers[name] = reason }
        }
        if !skippedPeers.isEmpty {
            log("peers skipped: " + skippedPeers.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: "; "))
        }
        cases.removeAll { peerName($0).map { skippedPeers[$0] != nil } ?? false }
        return worker
    }

    /// Each case runs its warm-up and repeats in turn; a line per configuration.
    private func runInTurn(_ group: [PreparedCase], outputs: BenchmarkOutputs?) throws -> Bool {
        for (k, c) in group.enumerated() {
            status("[\(k + 1)/\(group.count)] \(c.describe)")
            var measured: [ResultRow] = []
            for epoch in 0..<(c.warmups(config.warmup) + config.repeats) {
                guard let row = try c.measure(epoch: epoch, stop: { self.stopRequested }) else { break }
                epochsDone += 1
                if epoch >= c.warmups(config.warmup) {
                    var row = row
                    row.repeatIndex = epoch - c.warmups(config.warmup) + 1
                    measured.append(row)
                }
            }
            rows += measured
            if let summary = Self.line(measured) { log(summary) }
            try outputs?.write(&rows, skippedPeers: skippedPeers)
            if stopRequested { return false }
        }
        return true
    }

    /// Every case reads one epoch per round, in a new seeded order of cases each round.
    private func runInterleaved(_ group: [PreparedCase], outputs: BenchmarkOutputs?) throws -> Bool {
        let rounds = config.warmup + config.repeats
        var generator = SeededGenerator(seed: 7, stream: "interleave")
        var measured = [[ResultRow]](repeating: [], count: group.count)
        for round in 0..<rounds {
            for (n, i) in group.indices.shuffled(using: &generator).enumerated() {
                let c = group[i]
                // Cold cases have no warm-up: their rounds start after the others' warm-up.
                let epoch = round - (config.warmup - c.warmups(config.warmup))
                guard epoch >= 0 else { continue }
                status("round \(round + 1)/\(rounds) [\(n + 1)/\(group.count)] \(c.describe)")
                guard let row = try c.measure(epoch: epoch, stop: { self.stopRequested }) else { return false }
                epochsDone += 1
                if round >= config.warmup {
                    var row = row
                    row.repeatIndex = round - config.warmup + 1
                    measured[i].append(row)
                    rows.append(row)
                }
            }
            if round >= config.warmup { try outputs?.write(&rows, skippedPeers: skippedPeers) }
            log("round \(round + 1) of \(rounds) done\(round < config.warmup ? " (warm-up)" : "")")
        }
        for m in measured { if let summary = Self.line(m) { log(summary) } }
        return true
    }

    /// A configuration's line for the console: its median figures.
    static func line(_ repeats: [ResultRow]) -> String? {
        guard let row = repeats.last else { return nil }
        let rates = repeats.compactMap(\.samplesPerSecond).sorted()
        var text = String(format: "%@ %@ %@ %@ %@ batch %d", row.experiment, row.backend, row.mode.rawValue, row.order.rawValue,
                          row.cache.rawValue, row.batchSize)
        if row.format.role != .peer { text += " prefetch \(row.prefetch)" }
        if !rates.isEmpty { text += String(format: ": %.0f samples/s", StepTimer.percentile(rates, 0.5)) }
        if row.mode == .train, let step = row.stepMsMedian { text += String(format: ", step %.2f ms", step) }
        if row.mode == .train, let au = row.au { text += String(format: ", AU %.2f", au) }
        if row.cache == .cold, let before = row.residentBefore { text += String(format: ", resident before %.0f%%", before * 100) }
        return text
    }
}
