import DataSources

/// One thing the benchmark measures an epoch at a time: a reader (a FeedBench backend, a peer
/// on a backend's files, or PyTorch's step) in one mode, cache state, order, batch size and
/// prefetch depth.
public struct BenchmarkCase: Sendable {
    public enum Reader: Sendable {
        /// A FeedBench backend.
        case backend(BenchmarkConfig.Backend)
        /// A Python peer reading the files of a backend.
        case peer(BenchmarkConfig.Peer, on: BenchmarkConfig.Backend)
        /// PyTorch's training step of the same network, on data in memory.
        case torch
        /// A compressed layout's stored chunks decoded from memory: its physical limit.
        case decodeLimit(on: BenchmarkConfig.Backend)
    }

    /// Index into the config's data sets.
    public let dataset: Int
    public let reader: Reader
    public let mode: BenchmarkMode
    public let cache: CacheState
    public let order: SampleOrder
    public let batchSize: Int
    public let prefetch: Int
    public let phase: Int

    /// The backend whose files the case reads, if any.
    public var backend: BenchmarkConfig.Backend? {
        switch reader {
        case .backend(let b), .peer(_, on: let b), .decodeLimit(on: let b): return b
        case .torch: return nil
        }
    }

    /// Whether the case is a baseline (raw, memory, a decode limit), which `--only` always keeps.
    public var isBaseline: Bool {
        switch reader {
        case .backend(let b): return b.kind == .raw || b.kind == .memory
        case .decodeLimit: return true
        default: return false
        }
    }

    /// What `--only` patterns are matched against: "backend, layout, order".
    public var label: String {
        switch reader {
        case .backend(let b): return "\(b.name), \(b.layout), \(order.rawValue)"
        case .peer(let p, on: let b): return "\(p.rawValue), \(b.layout), \(order.rawValue)"
        case .torch: return "torch, step, \(order.rawValue)"
        case .decodeLimit(on: let b): return "decode-limit, \(b.layout)"
        }
    }
}

/// Turns a config into its cases: every backend × mode × cache × order × batch size ×
/// prefetch depth, then the peers on the layouts they can read.
public enum BenchmarkMatrix {
    /// The cases of `config`, keeping only those whose label contains one of `only` (and the
    /// baselines, so that ratios exist). `folder` tells which backends share their files.
    public static func cases(_ config: BenchmarkConfig, only: [String] = [],
                             folder: (BenchmarkConfig.Backend, BenchmarkConfig.DataSet) -> String) -> [BenchmarkCase] {
        var cases: [BenchmarkCase] = []
        for d in config.datasets.indices {
            for backend in config.backends {
                // Emulation searches run on their own (EmulationStage).
                for mode in config.modes where mode != .emulate && (mode != .write || backend.kind == .hdf5) {
                    // Data in memory has no cold state: its cold cases are left out.
                    for cache in config.caches where !(backend.kind == .memory && cache == .cold) {
                        for order in config.orders {
                            for batch in config.batchSizes {
                                for depth in config.prefetch {
                                    // Writing has no order, cache state or prefetching: one case.
                                    if mode == .write && (order != config.orders[0] || cache != config.caches[0] || depth != config.prefetch[0]) { continue }
                                    cases.append(BenchmarkCase(dataset: d, reader: .backend(backend), mode: mode,
                                                               cache: mode == .write ? .warm : cache, order: mode == .write ? .sequential : order,
                                                               batchSize: batch, prefetch: mode == .write ? 0 : depth, phase: backend.phase))
                                }
                            }
                        }
                    }
                }
            }
            cases += peerCases(config, dataset: d, folder: folder)
        }
        guard !only.isEmpty else { return cases }
        return cases.filter { c in c.isBaseline || only.contains { c.label.contains($0) } }
    }

    /// Peers read each distinct stored layout once per cache, order and batch size (a
    /// backend that only reads the same files differently adds no peer case).
    private static func peerCases(_ config: BenchmarkConfig, dataset d: Int,
                                  folder: (BenchmarkConfig.Backend, BenchmarkConfig.DataSet) -> String) -> [BenchmarkCase] {
        var cases: [BenchmarkCase] = []
        var seen = Set<String>()
        let dataset = config.datasets[d]
        for backend in config.backends where config.modes.contains(.write) && backend.kind == .hdf5 && config.peers.contains(.h5py) {
            for batch in config.batchSizes {
                cases.append(BenchmarkCase(dataset: d, reader: .peer(.h5py, on: backend), mode: .write, cache: .warm,
                                           order: .sequential, batchSize: batch, prefetch: 0, phase: backend.phase))
            }
        }
        for backend in config.backends where config.modes.contains(.read) {
            let kind: SourceLocation.Kind?
            let place: String
            switch backend.kind {
            case .hdf5: (kind, place) = (.hdf5List, folder(backend, dataset))
            case .lmdb: (kind, place) = (.lmdb, folder(backend, dataset) + "|\(backend.readahead)")
            case .existing:
                let path = backend.source ?? dataset.source ?? ""
                kind = try? SourceLocation(parsing: path).kind
                place = path + "|\(backend.keys ?? dataset.keys)|\(backend.readahead)"
            case .raw, .memory: continue
            }
            guard let kind, seen.insert(place).inserted else { continue }
            // The decode limit of every layout FeedBench may decode (an existing file that
            // turns out unfiltered drops its case when opened).
            if backend.writer.encoding != nil || (kind != .lmdb && (backend.kind == .existing || backend.writer.filtered))
                || (kind == .lmdb && backend.kind == .existing) {
                cases.append(BenchmarkCase(dataset: d, reader: .decodeLimit(on: backend), mode: .read, cache: .warm,
                                           order: .sequential, batchSize: config.batchSizes[0], prefetch: 0, phase: backend.phase))
            }
            let peers: [BenchmarkConfig.Peer] = kind == .lmdb ? [.pyLMDB] : [.h5py, .h5pyGetitem]
            for peer in peers where config.peers.contains(peer) {
                for cache in config.caches {
                    // The per-sample loop stands for shuffled reads only.
                    for order in config.orders where peer != .h5pyGetitem || order == .shuffle {
                        for batch in config.batchSizes {
                            cases.append(BenchmarkCase(dataset: d, reader: .peer(peer, on: backend), mode: .read, cache: cache,
                                                       order: order, batchSize: batch, prefetch: 0, phase: backend.phase))
                        }
                    }
                }
            }
        }
        if config.modes.contains(.train) && config.peers.contains(.torch) {
            for batch in config.batchSizes {
                cases.append(BenchmarkCase(dataset: d, reader: .torch, mode: .train, cache: .warm, order: .shuffle,
                                           batchSize: batch, prefetch: 0, phase: 1))
            }
        }
        return cases
    }
}
