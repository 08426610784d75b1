import DataSources

/// What a benchmark case does with its batches.
public enum BenchmarkMode: String, Sendable, CaseIterable {
    /// Batches only: read throughput.
    case read
    /// Forward, backward and update of the network, fed by the source.
    case train
    /// Writing the layout from data in memory (HDF5 layouts).
    case write
    /// Emulated accelerators: how many each layout keeps busy (rows in accelerators.csv).
    case emulate
}

/// Whether the files are in the page cache when an epoch starts.
public enum CacheState: String, Sendable, CaseIterable {
    case warm, cold
}

/// The reader a row measured: one of FeedBench's backends, a baseline, or a peer (what users
/// run today). Every ratio is found by format, never by a backend's display name.
public enum Format: String, Sendable, CaseIterable {
    /// One flat file read by memory copy: the physical limit of an uncompressed layout.
    case raw
    /// Data already in memory as float32: storage costs nothing.
    case memory
    case hdf5
    case lmdb
    /// h5py reading the same HDF5 files, as PyTorch users do.
    case h5py
    /// py-lmdb with protobuf reading the same LMDB.
    case pyLMDB = "py-lmdb"
    /// PyTorch's training step on the same network.
    case torch
    /// A compressed layout's stored chunks decoded from memory on all cores: its physical limit.
    case decodeLimit = "decode-limit"
    /// DLIO (MLPerf Storage's benchmark) on its own files of the same sample size (emulate mode).
    case dlio

    /// What the row stands for in comparisons.
    public enum Role: Sendable { case measured, baseline, peer }

    public var role: Role {
        switch self {
        case .raw, .memory, .decodeLimit: return .baseline
        case .h5py, .pyLMDB, .torch, .dlio: return .peer
        case .hdf5, .lmdb: return .measured
        }
    }

    /// The storage format a FeedBench source reads.
    public init(_ kind: SourceLocation.Kind) {
        switch kind {
        case .hdf5List, .hdf5File: self = .hdf5
        case .lmdb: self = .lmdb
        case .raw: self = .raw
        }
    }
}

/// One measured epoch: a row of DIR/results.csv. Optional figures are empty in the CSV
/// where they do not apply.
public struct ResultRow: Sendable, Equatable {
    public var experiment = ""
    /// The backend's name in the config (a display label, never parsed back).
    public var backend = ""
    public var format = Format.raw
    /// The layout in words: `4 files, chunk 64, gzip 4`, `Datum records`, …
    public var layout = ""
    public var dtype = ""
    public var order = SampleOrder.sequential
    public var cache = CacheState.warm
    public var batchSize = 0
    public var prefetch = 0
    public var mode = BenchmarkMode.read
    public var repeatIndex = 0
    public var samples = 0
    public var storedBytes: Int?
    public var seconds: Double?
    public var samplesPerSecond: Double?
    public var mibPerSecond: Double?
    public var stepMsMedian: Double?
    public var stepMsP95: Double?
    public var waitSeconds: Double?
    public var computeSeconds: Double?
    public var au: Double?
    public var residentBefore: Double?
    public var residentAfter: Double?
    public var peakRSSMiB: Double?
    /// samples/s over the median of the `raw` format's repeats in the same configuration.
    public var ratioToRaw: Double?
    public var hdf5Version = ""
    public var lmdbVersion = ""
    public var blas = ""
    public var host = ""
    public var startedAt = ""
    /// Cases run in phases, one after another; ratios compare rows of the same phase.
    public var phase = 1
    /// Decoded chunk bytes over the bytes the epoch's samples hold (1: each chunk decoded
    /// once for the samples it holds); empty where nothing was decoded.
    public var readAmplification: Double?
    /// samples/s over the physical limit of the layout read: its decode limit for a
    /// compressed layout, the raw baseline otherwise.
    public var ratioToLimit: Double?
    /// Which stored files the row read (FeedBench, its peers and its decode limit share it).
    public var layoutID = ""
    /// The FeedBench release that measured the row.
    public var toolVersion = ""
    /// FNV-1a 64 of the config's text as run (DIR/config.yaml beside the results).
    public var configHash = ""
    /// The ranks that measured the row together (1 without mpirun): samples are every rank's,
    /// seconds the slowest rank's epoch, the step time the slowest rank's median.
    public var ranks = 1
    /// Over ranks: the lowest rank's AU (`au` is the mean over ranks).
    public var auMin: Double?

    public init() {}

    /// The configuration this row measures: the columns its repeats share.
    public var configuration: String {
        ResultColumns.all.filter(\.identifiesConfiguration).map { $0.write(self) }.joined(separator: "|")
    }
}
