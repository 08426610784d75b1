import DataSources
import Foundation
import Graph
import Ranks

/// Emulate mode: for every backend × order × cache state, the most accelerators of the
/// config's profile that the layout keeps at AU ≥ the threshold (`AcceleratorSearch`, each
/// probe an `AcceleratorEmulator` run). Searches advance one probe per round, rounds in a
/// seeded shuffled order, so drift in the machine's speed falls on every layout alike. After
/// its search, each configuration runs one read-only probe (the same readers, no compute):
/// the accelerators its read throughput predicts. Rows go to DIR/accelerators.csv after
/// every round.
final class EmulationStage {
    let config: BenchmarkConfig
    let settings: EmulationSettings
    let measurement: CaseMeasurement
    let only: [String]
    let log: (String) -> Void
    let progress: (String) -> Void
    let stop: @Sendable () -> Bool
    let dlio: DLIOPeer?
    private(set) var rows: [AcceleratorRow] = []
    private let rings = RingPool()

    /// One configuration's search.
    final class Target {
        let dataset: Int
        let label: String
        let order: SampleOrder
        let cache: CacheState
        let template: AcceleratorRow
        var search: AcceleratorSearch
        let limitReason: String
        /// FeedBench's emulator, or DLIO.
        let emulator: AcceleratorEmulator?
        let dlio: DLIOPeer.Workload?
        var probes: [Int: AcceleratorRow] = [:]
        var finished = false
        var isMemory: Bool { template.format == .memory }

        init(dataset: Int, label: String, order: SampleOrder, cache: CacheState, template: AcceleratorRow, limit: Int, limitReason: String,
             emulator: AcceleratorEmulator?, dlio: DLIOPeer.Workload?) {
            self.dataset = dataset
            self.label = label
            self.order = order
            self.cache = cache
            self.template = template
            search = AcceleratorSearch(limit: limit)
            self.limitReason = limitReason
            self.emulator = emulator
            self.dlio = dlio
        }
    }

    init(config: BenchmarkConfig, settings: EmulationSettings, measurement: CaseMeasurement, only: [String], dlio: DLIOPeer?,
         log: @escaping (String) -> Void, progress: @escaping (String) -> Void, stop: @escaping @Sendable () -> Bool) {
        self.config = config
        self.settings = settings
        self.measurement = measurement
        self.only = only
        self.dlio = dlio
        self.log = log
        self.progress = progress
        self.stop = stop
    }

    private var profile: AcceleratorProfile { settings.profile }
    /// Over MPI ranks, every rank runs the same searches in step; a probe of N per rank runs
    /// N · ranks accelerators, and its figures are reduced over the ranks.
    private var ranks: Ranks { measurement.ranks }

    /// The searches of every configuration, layouts written and opened.
    func targets() throws -> [Target] {
        var targets: [Target] = []
        for d in config.datasets.indices {
            let set = config.datasets[d]
            var noted = false
            for backend in config.backends {
                // The calibration: the data held in memory as stored (uint8 images stay uint8),
                // converted per batch as the file layouts are, with no storage at all.
                let layout: StoredLayout
                if backend.kind == .memory {
                    let stored = try measurement.storedMemory(d)
                    layout = StoredLayout(source: stored, files: nil, format: .memory, layout: "\(stored.rowType.rawValue) in RAM (as stored)",
                                          dtype: stored.rowType.rawValue, location: nil, keys: .caffe, id: "memory")
                } else {
                    layout = try measurement.layout(backend, dataset: d)
                }
                let source = layout.source
                if source.sampleShape != profile.sampleShape && !noted {
                    noted = true
                    log("note: \(set.name) samples are \(source.sampleShape.map(String.init).joined(separator: "×")), the \(profile.name) profile's \(profile.sampleShape.map(String.init).joined(separator: "×")); demand is counted in samples")
                }
                let files = layout.files?.files ?? []
                let emulator = AcceleratorEmulator(settings: settings, first: source, files: files, rings: rings,
                                                   rank: ranks.rank, ranks: ranks.size, evictOthers: { [measurement] in measurement.evictLayouts(sharing: files) },
                                                   open: layout.reopen ?? { source })
                let (limit, reason) = try limits(emulator, name: source.name)
                for cache in config.caches where !(backend.kind == .memory && cache == .cold) {
                    for order in config.orders {
                        let label = "\(backend.name), \(layout.layout), \(order.rawValue)"
                        guard only.isEmpty || backend.kind == .memory || backend.kind == .raw || only.contains(where: { label.contains($0) }) else { continue }
                        var row = template(d, cache: cache, order: order)
                        row.backend = backend.name
                        row.format = layout.format
                        row.layout = layout.layout
                        row.storedBytes = layout.files?.storedBytes ?? (backend.kind == .memory ? source.sampleCount * source.sampleElements * (source.storedType?.size ?? 4) : nil)
                        row.layoutID = layout.id
                        targets.append(Target(dataset: d, label: label, order: order, cache: cache, template: row, limit: limit,
                                              limitReason: reason, emulator: emulator, dlio: nil))
                    }
                }
            }
            if let dlio {
                // DLIO's own files: as many samples, each as many bytes (uint8) as the data set's.
                let base = try measurement.baseSource(d)
                let workload = try dlio.workload(name: set.name, samples: base.sampleCount,
                                                 recordBytes: base.sampleElements * (base.storedType?.size ?? 1), profile: profile,
                                                 settings: settings, dataDirectory: config.dataDirectory, log: log)
                let limit = min(settings.maxAccelerators ?? DLIOPeer.defaultLimit, workload.samples / profile.batchSize)
                for cache in config.caches {
                    for order in config.orders {
                        var row = template(d, cache: cache, order: order)
                        row.backend = "dlio"
                        row.format = .dlio
                        row.layout = workload.layout
                        row.storedBytes = workload.storedBytes
                        row.layoutID = workload.id
                        targets.append(Target(dataset: d, label: "dlio, \(workload.layout), \(order.rawValue)", order: order, cache: cache,
                                              template: row, limit: limit,
                                              limitReason: settings.maxAccelerators != nil ? "max_accelerators" : "DLIO probes at most \(DLIOPeer.defaultLimit) ranks on this machine",
                                              emulator: nil, dlio: workload))
                    }
                }
            }
        }
        return targets
    }

    /// The most accelerators per rank a search may probe, and what sets it.
    private func limits(_ emulator: AcceleratorEmulator, name: String) throws -> (Int, String) {
        guard emulator.dataLimit >= 1 else {
            throw DataSourceError(name, "\(emulator.sampleCount) samples hold no full batch of \(profile.batchSize) (the \(profile.name) profile's batch size)")
        }
        let each = settings.bytesPerAccelerator(sampleElements: emulator.sampleElements)
        var memory = settings.memoryLimit(sampleElements: emulator.sampleElements)
        if let available = Self.availableMemory() { memory = min(memory, Int(Double(available) * 0.8) / max(each, 1)) }
        var candidates: [(Int, String)] = [
            (emulator.dataLimit, "data set: \(emulator.sampleCount) samples give at most \(emulator.dataLimit) accelerators a batch of \(profile.batchSize) per epoch"),
            (max(memory, 1), String(format: "memory: %.0f MiB of batch buffers per accelerator", Double(each) / 1_048_576)),
        ]
        // max_accelerators counts every rank's accelerators; the search runs per rank, so it
        // is rounded down to a multiple of the ranks (at least one per rank).
        if let m = settings.maxAccelerators {
            candidates.append((max(1, m / ranks.size), m >= ranks.size ? "max_accelerators"
                : "max_accelerators (\(m)) is below the \(ranks.size) ranks: one accelerator per rank"))
        }
        // Each accelerator runs its reader threads and one consumer thread; stay well inside
        // what the process may start (a thread that cannot start would leave a probe waiting).
        let threads = Self.threadBudget() / (settings.readerThreads + 1)
        candidates.append((max(threads, 1), "threads: \(settings.readerThreads + 1) per accelerator within \(Self.threadBudget())"))
        return candidates.min { $0.0 < $1.0 }!
    }

    /// Threads a probe may start: half of what the process and the kernel allow, at most 4,096.
    static func threadBudget() -> Int {
        var budget = 4096
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            budget = min(budget, Int(clamping: limit.rlim_cur / 2))
        }
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/threads-max", encoding: .utf8),
           let max = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            budget = min(budget, max / 2)
        }
        return Swift.max(budget, 2)
    }

    /// MemAvailable from /proc/meminfo, in bytes.
    static func availableMemory() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kib = UInt64(parts[1]) { return kib * 1024 }
        }
        return nil
    }

    private func template(_ d: Int, cache: CacheState, order: SampleOrder) -> AcceleratorRow {
        var row = AcceleratorRow()
        row.experiment = measurement.experimentName(dataset: d)
        row.profile = profile.name
        row.order = order
        row.cache = cache
        row.auThreshold = profile.auThreshold
        row.batchSize = profile.batchSize
        row.computeSeconds = profile.computeSeconds
        row.demandSamplesPerSecond = profile.demandSamplesPerSecond
        row.readerThreads = settings.readerThreads
        row.prefetch = settings.prefetch
        row.synchronous = settings.synchronous
        row.blas = CaseMeasurement.blas
        row.host = measurement.host
        row.startedAt = measurement.startedAt
        row.ranks = ranks.size
        return row
    }

    /// Runs every search to its answer; false when interrupted (rows so far are kept).
    func run(write: ([AcceleratorRow]) throws -> Void) throws -> Bool {
        // Rank 0 writes the layouts that are missing; the other ranks open them after it.
        let targets: [Target] = try ranks.rootFirst { try self.targets() }
        guard !targets.isEmpty else { return true }
        if ranks.size > 1 {
            // Each rank's limits come from its own memory and thread budget: every rank
            // searches up to the lowest, so all probe the same accelerator counts.
            let lowest = try ranks.allreduce(targets.map { Double($0.search.limit) }, .min)
            for (t, limit) in zip(targets, lowest) where Int(limit) < t.search.limit { t.search = AcceleratorSearch(limit: Int(limit)) }
        }
        log(String(format: "emulating %@: batch %d, %.4g s compute per batch (sd %.3g), AU ≥ %.2f; %d reader thread%@ and %d batches ahead per accelerator%@",
                   profile.name, profile.batchSize, profile.computeSeconds, profile.computeSD, profile.auThreshold, settings.readerThreads,
                   settings.readerThreads == 1 ? "" : "s", settings.prefetch, settings.synchronous ? ", synchronous steps" : ""))
        var generator = SeededGenerator(seed: 11, stream: "emulate")
        var round = 0
        while targets.contains(where: { !$0.finished }) {
            round += 1
            let open = targets.indices.filter { !targets[$0].finished }
            for (k, i) in open.shuffled(using: &generator).enumerated() {
                let t = targets[i]
                progress("emulate round \(round) [\(k + 1)/\(open.count)] \(t.template.experiment) \(t.label) \(t.cache.rawValue)")
                guard try step(t, round: round) else {
                    try write(rows)
                    return false
                }
            }
            try write(rows)
        }
        return true
    }

    /// The target's next probe, or its read-only probe and answer when the search is done.
    private func step(_ t: Target, round: Int) throws -> Bool {
        if let n = t.search.next {
            guard var row = try probe(t, n, computeScale: 1) else { return false }
            row.passed = (row.auMean ?? 0) >= profile.auThreshold
            t.search.record(n, passed: row.passed!)
            t.probes[n] = row
            rows.append(row)
            return true
        }
        // The search is over: what the readers deliver with no compute, at the answer's N.
        let n = max(t.search.answer, 1)
        var readOnly: AcceleratorRow?
        if t.emulator != nil {
            guard var r = try probe(t, n, computeScale: 0) else { return false }
            r.kind = .readOnly
            rows.append(r)
            readOnly = r
        }
        var answer = t.probes[t.search.answer] ?? t.probes[1] ?? t.template
        answer.kind = .answer
        answer.accelerators = t.search.answer * (t.emulator != nil ? ranks.size : 1)
        answer.passed = t.search.answer >= 1
        answer.limit = t.search.limit * (t.emulator != nil ? ranks.size : 1)
        answer.limitReason = t.search.reachedLimit ? "reached: " + t.limitReason : t.limitReason
        if let r = readOnly?.samplesPerSecond {
            answer.readOnlySamplesPerSecond = r
            answer.predicted = Int(r / profile.demandSamplesPerSecond)
        }
        rows.append(answer)
        t.finished = true
        log(Self.line(answer))
        return true
    }

    private func probe(_ t: Target, _ n: Int, computeScale: Double) throws -> AcceleratorRow? {
        var row = t.template
        row.accelerators = n
        let seed = UInt64(n) &* 1_000_003 &+ UInt64(SampleOrder.allCases.firstIndex(of: t.order) ?? 0)
        var probed: ProbeResult?
        if let emulator = t.emulator {
            try ranks.barrier()  // every rank's accelerators start together
            // The same seed on every rank: one epoch order, shared out between all accelerators.
            let alone = ranks.size == 1, interrupted = stop
            let stop: @Sendable () -> Bool = { alone && interrupted() }  // Ctrl-C cannot end one rank's probe alone
            guard var result = try emulator.probe(n, order: t.order, cache: t.cache, seed: seed, computeScale: computeScale, stop: stop) else {
                return nil
            }
            if ranks.size > 1 {
                result = try combineRanks(result)
                row.accelerators = result.accelerators
            }
            probed = result
            row.waitSeconds = result.waitSeconds  // DLIO reports no wait of its own
        } else if let workload = t.dlio, let dlio {
            probed = try dlio.probe(workload, accelerators: n, order: t.order, cache: t.cache, probeSeconds: settings.probeSeconds)
        }
        if let result = probed {
            row.epochs = result.epochs
            row.steps = result.steps
            row.seconds = result.seconds
            row.samples = result.samples
            row.samplesPerSecond = result.samplesPerSecond
            row.residentBefore = result.residentBefore
            if computeScale > 0 {  // a read-only probe has no AU
                row.auMean = result.auMean
                row.auMin = result.auMin
            }
        }
        if let rate = row.samplesPerSecond, let bytes = row.storedBytes, let total = sampleCount(t), total > 0 {
            row.mibPerSecond = rate * Double(bytes) / Double(total) / 1_048_576
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        row.potentialCaching = (t.cache == .warm && Double(row.storedBytes ?? 0) < memory) || (row.residentBefore ?? 0) > 0.05
            || t.template.format == .memory
        row.peakRSSMiB = PreparedCase.peakRSSMiB()
        if computeScale > 0 {
            log(String(format: "  %@ %@ %@: %d accelerator%@, AU %.3f (min %.3f), %.0f samples/s%@", t.template.experiment, t.label, t.cache.rawValue, n,
                       n == 1 ? "" : "s", row.auMean ?? 0, row.auMin ?? 0, row.samplesPerSecond ?? 0,
                       (row.auMean ?? 0) >= profile.auThreshold ? "" : " — below \(profile.auThreshold)"))
        }
        return row
    }

    /// One probe's figures from every rank: every accelerator's AU, all samples, the last
    /// rank's end, the mean wait, the highest residency.
    private func combineRanks(_ local: ProbeResult) throws -> ProbeResult {
        var result = local
        result.au = try ranks.allgather(local.au).flatMap { $0 }
        result.accelerators = local.accelerators * ranks.size
        let sums = try ranks.allreduce([Double(local.samples), local.waitSeconds])
        let most = try ranks.allreduce([local.seconds, local.residentBefore ?? -1], .max)
        result.samples = Int(sums[0])
        result.waitSeconds = sums[1] / Double(ranks.size)
        result.seconds = most[0]
        result.residentBefore = most[1] >= 0 ? most[1] : nil
        return result
    }

    private func sampleCount(_ t: Target) -> Int? {
        if let e = t.emulator { return e.sampleCount }
        return t.dlio?.samples
    }

    /// The console line for a configuration's answer.
    static func line(_ r: AcceleratorRow) -> String {
        var text = String(format: "%@ %@ (%@) %@ %@: %d accelerator%@ at AU ≥ %.2f", r.experiment, r.backend, r.layout, r.order.rawValue,
                          r.cache.rawValue, r.accelerators, r.accelerators == 1 ? "" : "s", r.auThreshold)
        if r.accelerators >= 1, let rate = r.samplesPerSecond { text += String(format: ", %.0f samples/s", rate) }
        if let mib = r.mibPerSecond, r.accelerators >= 1 { text += String(format: ", %.0f MiB/s", mib) }
        if let p = r.predicted { text += ", read-only predicts \(p)" }
        if r.limitReason.hasPrefix("reached") { text += " (search stopped at its limit: \(r.limitReason.dropFirst(9)))" }
        if r.potentialCaching { text += " [potential caching]" }
        return text
    }
}
