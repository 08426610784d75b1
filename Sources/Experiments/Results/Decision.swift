import DataSources
import Foundation

/// The report's answer to "which layout should I keep this data in?": per data set
/// (experiment), one row per stored layout with its size on disk, its read and training
/// figures per order and cache state, the accelerators it sustained, the peers beside it, and
/// a verdict computed from those figures. A figure whose repeats spread more than
/// `spreadLimit` (max ÷ min) or whose epochs are shorter than `floorSeconds` is marked noisy
/// and no comparison rests on it.
public struct Decision: Sendable {
    /// An order and a cache state: one column group of the table.
    public struct Slot: Hashable, Sendable, Comparable {
        public var order: SampleOrder
        public var cache: CacheState
        public var label: String { "\(order.rawValue) \(cache.rawValue)" }
        public init(order: SampleOrder, cache: CacheState) {
            self.order = order
            self.cache = cache
        }
        var rank: Int {
            (SampleOrder.allCases.firstIndex(of: order) ?? 0) * 2 + (cache == .warm ? 0 : 1)
        }
        public static func < (a: Slot, b: Slot) -> Bool { a.rank < b.rank }
    }

    /// A median over repeats, with whether it is too noisy to compare.
    public struct Figure: Sendable {
        public var value: Double
        public var mibPerSecond: Double?
        public var noisy: Bool
        /// max ÷ min over repeats (1 for one repeat).
        public var spread: Double
    }

    /// FeedBench's throughput over a peer's on the same files, order and cache.
    public struct PeerRatio: Sendable {
        public var peer: String
        public var mode: BenchmarkMode
        public var slot: Slot
        /// FeedBench ÷ the peer.
        public var ratio: Double
    }

    public struct Row: Sendable {
        public var backend: String
        public var format: Format
        public var layout: String
        public var layoutID: String
        public var storedBytes: Int?
        public var sizeToRaw: Double?
        /// Read samples/s.
        public var read: [Slot: Figure] = [:]
        /// Training samples/s.
        public var train: [Slot: Figure] = [:]
        /// Training samples/s ÷ the fastest steady training measured in the same order and
        /// batch (what the compute allows in this run).
        public var trainToMemory: [Slot: Double] = [:]
        /// Accelerators sustained (emulate mode's answers).
        public var accelerators: [Slot: Int] = [:]
        /// Slots whose accelerator figure could have been served from memory (a cold probe
        /// that found its files resident is not a cold figure).
        public var acceleratorsCached: Set<Slot> = []
        /// FeedBench's ratio to each peer that read these files (empty for a peer's own row).
        public var peers: [PeerRatio] = []
        public var isPeer: Bool { format.role == .peer }
        public var isCandidate: Bool { [.raw, .hdf5, .lmdb].contains(format) }
        public var verdict = ""
    }

    public var experiment: String
    public var rows: [Row]
    /// The order × cache column groups that have read figures, in a fixed order.
    public var slots: [Slot]
    /// The layout to keep (nil when no layout could be compared).
    public var choice: String?
    /// One sentence: the layout to keep and why, or why none can be named.
    public var recommendation: String
    /// Figures marked noisy, over all figures.
    public var noisyFigures: Int
    public var figures: Int

    /// Training that reaches this share of the fastest training measured keeps up.
    public static let keepsUp = 0.9
}

public enum DecisionMaker {
    /// Repeats spreading more than this (max ÷ min) mark a figure noisy.
    public static let spreadLimit = 1.10
    /// Epochs shorter than this (seconds, median) mark a figure noisy.
    public static let floorSeconds = 0.2

    /// Whether a configuration's repeats are too noisy to compare on.
    public static func isNoisy(_ s: ResultsCSV.SummaryRow, floor: Double = floorSeconds, spread limit: Double = spreadLimit) -> Bool {
        if let seconds = s.seconds.median, seconds < floor { return true }
        return (s.samplesPerSecond.spreadRatio ?? 1) > limit
    }

    public static func decide(_ rows: [ResultRow], accelerators: [AcceleratorRow] = [],
                              floor: Double = floorSeconds, spread: Double = spreadLimit) -> [Decision] {
        let summary = ResultsCSV.summarize(rows)
        var experiments: [String] = []
        for s in summary where !experiments.contains(s.first.experiment) { experiments.append(s.first.experiment) }
        for a in accelerators where a.kind == .answer && !experiments.contains(a.experiment) { experiments.append(a.experiment) }
        return experiments.map { experiment in
            decide(experiment: experiment, summary: summary.filter { $0.first.experiment == experiment },
                   answers: accelerators.filter { $0.kind == .answer && $0.experiment == experiment }, floor: floor, spread: spread)
        }
    }

    static func decide(experiment: String, summary: [ResultsCSV.SummaryRow], answers: [AcceleratorRow],
                       floor: Double, spread: Double) -> Decision {
        typealias Slot = Decision.Slot
        var table: [Decision.Row] = []
        func index(backend: String, format: Format, layout: String, layoutID: String) -> Int {
            if let i = table.firstIndex(where: { $0.backend == backend && $0.layout == layout }) { return i }
            table.append(Decision.Row(backend: backend, format: format, layout: layout, layoutID: layoutID))
            return table.count - 1
        }
        // What "keeps up" is measured against, per order and batch: the fastest steady training
        // measured in this run — from memory, raw or any layout. On a two-core machine the
        // step itself drifts between runs of the same network (the BLAS threads share the
        // cores with readers), so one baseline's figure can be a slow draw; the fastest is
        // what the compute allowed.
        var memoryTrain: [String: Double] = [:]
        for s in summary where s.first.mode == .train && !isNoisy(s, floor: floor, spread: spread)
            && s.first.format.role != .peer {
            guard let v = s.samplesPerSecond.median else { continue }
            let key = "\(s.first.order.rawValue)|\(s.first.batchSize)"
            memoryTrain[key] = max(memoryTrain[key] ?? 0, v)
        }
        var figures = 0, noisyFigures = 0
        for s in summary where s.first.format != .memory && s.first.format != .decodeLimit && s.first.format != .torch {
            let r = s.first
            guard r.mode == .read || r.mode == .train, let value = s.samplesPerSecond.median else { continue }
            let i = index(backend: r.backend, format: r.format, layout: r.layout, layoutID: r.layoutID)
            if let bytes = r.storedBytes, table[i].storedBytes == nil { table[i].storedBytes = bytes }
            let noisy = isNoisy(s, floor: floor, spread: spread)
            figures += 1
            if noisy { noisyFigures += 1 }
            let figure = Decision.Figure(value: value, mibPerSecond: s.mibPerSecond.median, noisy: noisy, spread: s.samplesPerSecond.spreadRatio ?? 1)
            let slot = Slot(order: r.order, cache: r.cache)
            // Several batch sizes or prefetch depths: the best of them stands for the layout.
            if r.mode == .read {
                if let old = table[i].read[slot], !better(figure, than: old) { continue }
                table[i].read[slot] = figure
            } else {
                if let old = table[i].train[slot], !better(figure, than: old) { continue }
                table[i].train[slot] = figure
                // The ratio of the figure kept (its own batch size's memory baseline).
                if let memory = memoryTrain["\(r.order.rawValue)|\(r.batchSize)"], memory > 0, !noisy {
                    table[i].trainToMemory[slot] = value / memory
                } else {
                    table[i].trainToMemory[slot] = nil
                }
            }
        }
        for a in answers where a.format != .memory {
            let i = index(backend: a.backend, format: a.format, layout: a.layout, layoutID: a.layoutID)
            if table[i].storedBytes == nil, a.format != .dlio { table[i].storedBytes = a.storedBytes }
            table[i].accelerators[Slot(order: a.order, cache: a.cache)] = a.accelerators
            if a.potentialCaching { table[i].acceleratorsCached.insert(Slot(order: a.order, cache: a.cache)) }
        }
        // Sizes against the raw flat file of the same samples.
        let rawBytes = table.first { $0.format == .raw }?.storedBytes
        for i in table.indices {
            if let b = table[i].storedBytes, let raw = rawBytes, raw > 0, !table[i].isPeer { table[i].sizeToRaw = Double(b) / Double(raw) }
        }
        // FeedBench against every peer that read the same files in the same order and cache.
        for p in table.indices where table[p].isPeer {
            for f in table.indices where !table[f].isPeer && table[f].isCandidate && table[f].layoutID == table[p].layoutID && !table[f].layoutID.isEmpty {
                for (mode, ours, theirs) in [(BenchmarkMode.read, table[f].read, table[p].read), (.train, table[f].train, table[p].train)] {
                    for (slot, peer) in theirs.sorted(by: { $0.key < $1.key }) {
                        guard let mine = ours[slot], !mine.noisy, !peer.noisy, peer.value > 0 else { continue }
                        table[f].peers.append(Decision.PeerRatio(peer: table[p].backend, mode: mode, slot: slot, ratio: mine.value / peer.value))
                    }
                }
            }
        }
        // Stored layouts first (raw, HDF5, LMDB, then by name), each peer after them in the
        // order of the layout it read; interleaved runs meet configurations in any order.
        func rank(_ r: Decision.Row) -> Int { [Format.raw, .hdf5, .lmdb].firstIndex(of: r.format) ?? 3 }
        let layouts = table.filter { !$0.isPeer }.sorted { (rank($0), $0.backend, $0.layout) < (rank($1), $1.backend, $1.layout) }
        func home(_ r: Decision.Row) -> Int { layouts.firstIndex { $0.layoutID == r.layoutID && !r.layoutID.isEmpty } ?? layouts.count }
        let peers = table.filter(\.isPeer).sorted { (home($0), $0.backend, $0.layout) < (home($1), $1.backend, $1.layout) }
        table = layouts + peers
        var slots = Set<Slot>()
        for r in table { slots.formUnion(r.read.keys) }
        var decision = Decision(experiment: experiment, rows: table, slots: slots.sorted(), choice: nil, recommendation: "",
                                noisyFigures: noisyFigures, figures: figures)
        recommend(&decision)
        return decision
    }

    /// A figure replaces another of the same slot when it is steady and the other is not, or
    /// faster with the same steadiness.
    static func better(_ a: Decision.Figure, than b: Decision.Figure) -> Bool {
        a.noisy != b.noisy ? !a.noisy : a.value > b.value
    }

    /// Whether `a` is no larger than `b`, reads at least as fast in every slot both measured
    /// steadily (at least one), and is either more than 2 % faster somewhere or smaller.
    static func dominates(_ a: Decision.Row, _ b: Decision.Row) -> Bool {
        guard let sa = a.storedBytes, let sb = b.storedBytes, sa <= sb else { return false }
        var common = 0, strictlyFaster = false
        for (slot, fb) in b.read where !fb.noisy {
            guard let fa = a.read[slot], !fa.noisy else { continue }
            common += 1
            if fa.value < fb.value { return false }
            if fa.value > fb.value * 1.02 { strictlyFaster = true }
        }
        return common > 0 && (strictlyFaster || sa < sb)
    }

    /// Shuffled slots: what training reads.
    static func shuffled(_ slot: Decision.Slot) -> Bool { slot.order != .sequential }

    /// The verdict per row and the recommendation.
    static func recommend(_ d: inout Decision) {
        let candidates = d.rows.indices.filter { d.rows[$0].isCandidate }
        let smallest = candidates.compactMap { d.rows[$0].storedBytes }.min()
        // The best steady read figure per slot among the candidates.
        var best: [Decision.Slot: Double] = [:]
        for i in candidates {
            for (slot, f) in d.rows[i].read where !f.noisy { best[slot] = max(best[slot] ?? 0, f.value) }
        }
        let trained = candidates.contains { !d.rows[$0].train.isEmpty }
        let emulated = candidates.contains { !d.rows[$0].accelerators.isEmpty }
        for i in d.rows.indices {
            let r = d.rows[i]
            var parts: [String] = []
            if r.isPeer {
                let ours = d.rows.filter { !$0.isPeer && $0.layoutID == r.layoutID && !$0.layoutID.isEmpty }.map(\.backend)
                parts.append(ours.isEmpty ? "peer" : "peer on the files of \(ours.joined(separator: ", "))")
                d.rows[i].verdict = parts.joined(separator: "; ")
                continue
            }
            guard r.isCandidate else { continue }
            if let bytes = r.storedBytes {
                let size = r.sizeToRaw.map { String(format: "%.2f × raw", $0) } ?? Numbers.bytes(Double(bytes))
                parts.append(bytes == smallest ? "smallest on disk (\(size))" : "\(size) on disk")
            }
            let steady = r.read.filter { !$0.value.noisy && shuffled($0.key) }
            if let winner = candidates.first(where: { $0 != i && dominates(d.rows[$0], r) }) {
                parts.append("beaten by \(d.rows[winner].backend) (no larger, at least as fast in every order measured)")
            } else if !steady.isEmpty && steady.allSatisfy({ $0.value.value >= (best[$0.key] ?? 0) * 0.98 }) {
                parts.append("fastest shuffled reads")
            }
            if !r.train.isEmpty {
                let up = r.trainToMemory.filter { $0.value >= Decision.keepsUp }.keys.sorted()
                let all = r.train.keys.filter { !(r.train[$0]?.noisy ?? true) }
                if !up.isEmpty && up.count == all.count {
                    parts.append("keeps up with training")
                } else if !up.isEmpty {
                    parts.append("keeps up with training only in " + up.map(\.label).joined(separator: ", "))
                } else if let top = r.trainToMemory.values.max() {
                    parts.append(String(format: "does not keep up with training (%.2f × the fastest at best)", top))
                }
            }
            if let (slot, n) = sustained(r) {
                let cached = r.acceleratorsCached.contains(slot)
                parts.append("keeps \(n) accelerator\(n == 1 ? "" : "s") busy (\(slot.label)\(cached ? ", could be page cache" : ""))")
            }
            let falseCold = r.acceleratorsCached.filter { $0.cache == .cold }.sorted()
            if !falseCold.isEmpty {
                parts.append("files stayed resident in " + falseCold.map(\.label).joined(separator: ", ") + ": not a cold figure")
            }
            let noisy = r.read.values.filter(\.noisy).count + r.train.values.filter(\.noisy).count
            if noisy > 0 { parts.append("\(noisy) noisy figure\(noisy == 1 ? "" : "s") not compared") }
            d.rows[i].verdict = parts.joined(separator: "; ")
        }
        // Layouts no other layout beats outright.
        let open = candidates.filter { i in !candidates.contains { $0 != i && dominates(d.rows[$0], d.rows[i]) } }
        func bytes(_ i: Int) -> Int { d.rows[i].storedBytes ?? .max }
        func name(_ i: Int) -> String {
            let r = d.rows[i]
            guard r.format != .raw else { return "\(r.backend) (the flat file)" }
            return r.sizeToRaw.map { String(format: "%@ (%.2f × raw on disk)", r.backend, $0) } ?? r.backend
        }
        if trained {
            // The smallest layout whose training keeps up in a shuffled order.
            let keeping = open.filter { i in d.rows[i].trainToMemory.contains { shuffled($0.key) && $0.value >= Decision.keepsUp } }
            if let pick = keeping.min(by: { bytes($0) < bytes($1) || (bytes($0) == bytes($1) && d.rows[$0].backend < d.rows[$1].backend) }) {
                let slots = d.rows[pick].trainToMemory.filter { shuffled($0.key) && $0.value >= Decision.keepsUp }.keys.sorted().map(\.label)
                d.choice = d.rows[pick].backend
                d.recommendation = "Keep \(name(pick)): the smallest layout whose training keeps up (≥ \(Int(Decision.keepsUp * 100)) % of the fastest training measured) in \(slots.joined(separator: ", "))."
                return
            }
            func bestShuffled(_ i: Int) -> Double? { d.rows[i].trainToMemory.filter { shuffled($0.key) }.values.max() }
            let closest = candidates.max { (bestShuffled($0) ?? 0) < (bestShuffled($1) ?? 0) }
            if let c = closest, let top = bestShuffled(c) {
                d.choice = d.rows[c].backend
                d.recommendation = String(format: "No layout keeps up with the fastest training measured in a shuffled order; %@ comes closest (%.2f ×).", name(c), top)
                return
            }
        }
        if emulated {
            // Compare on figures that measured the storage when any layout has one.
            let genuine = open.contains { sustained(d.rows[$0], genuineOnly: true) != nil }
            func figure(_ i: Int) -> (Decision.Slot, Int)? { sustained(d.rows[i], genuineOnly: genuine) }
            let pick = open.filter { figure($0) != nil }.max { a, b in
                let na = figure(a)!.1, nb = figure(b)!.1
                return na != nb ? na < nb : bytes(a) > bytes(b)
            }
            if let pick, let (slot, n) = figure(pick) {
                d.choice = d.rows[pick].backend
                let tied = open.filter { $0 != pick && figure($0)?.1 == n }.map { d.rows[$0].backend }
                d.recommendation = "Keep \(name(pick)): it keeps the most emulated accelerators busy (\(n), \(slot.label))" +
                    (tied.isEmpty ? "" : ", the smallest of the \(tied.count + 1) layouts that sustain \(n)") +
                    (d.rows[pick].acceleratorsCached.contains(slot) ? "; the page cache may have served it." : ".")
                return
            }
        }
        // Reads only: the fastest shuffled reader, the smaller of those within 10 % of it.
        func score(_ i: Int) -> Double? {
            let values = d.rows[i].read.filter { !$0.value.noisy && shuffled($0.key) }.compactMap { slot, f in best[slot].flatMap { $0 > 0 ? f.value / $0 : nil } }
            return values.isEmpty ? nil : exp(values.map(log).reduce(0, +) / Double(values.count))
        }
        let scored = open.compactMap { i in score(i).map { (i, $0) } }
        guard let top = scored.map(\.1).max() else {
            let noisyShuffled = candidates.contains { d.rows[$0].read.contains { shuffled($0.key) && $0.value.noisy } }
            d.recommendation = noisyShuffled
                ? "No layout can be named: every shuffled figure is noisy (see the marks below and README, \"Steadier figures\")."
                : "No layout can be named: no shuffled reads of a stored layout were measured."
            return
        }
        guard let pick = scored.filter({ $0.1 >= top * 0.9 }).min(by: { bytes($0.0) < bytes($1.0) })?.0 else {
            d.recommendation = "No layout can be named: no shuffled read was measured above zero samples/s."
            return
        }
        d.choice = d.rows[pick].backend
        d.recommendation = String(format: "Keep %@: %@ shuffled reads of the layouts measured%@.", name(pick),
                                  (score(pick) ?? 0) >= 0.98 ? "the fastest" : String(format: "within %.0f %% of the fastest", (1 - (score(pick) ?? 0)) * 100),
                                  bytes(pick) == candidates.map(bytes).min() ? ", and the smallest" : ", and the smallest of those within 10 %")
    }

    /// The most accelerators the row sustained: cold figures whose files were really dropped
    /// first (they measure the storage).
    static func sustained(_ r: Decision.Row, genuineOnly: Bool = false) -> (Decision.Slot, Int)? {
        let cold = r.accelerators.filter { $0.key.cache == .cold && !r.acceleratorsCached.contains($0.key) }
        let pool = cold.isEmpty && !genuineOnly ? r.accelerators : cold
        return pool.sorted { $0.key < $1.key }.max { $0.value < $1.value }.map { ($0.key, $0.value) }
    }
}
