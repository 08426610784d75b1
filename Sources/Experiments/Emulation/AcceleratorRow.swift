import DataSources
import Foundation

/// One row of DIR/accelerators.csv: a probe (N accelerators for whole epochs), a read-only
/// probe (the same readers with no compute: what the layout can deliver), or a
/// configuration's answer (the most accelerators it sustained).
public struct AcceleratorRow: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case probe
        case readOnly = "read-only"
        case answer
    }

    public var experiment = ""
    public var profile = ""
    public var backend = ""
    public var format = Format.raw
    public var layout = ""
    public var order = SampleOrder.sequential
    public var cache = CacheState.warm
    public var kind = Kind.probe
    /// Accelerators probed (the answer row: the most sustained).
    public var accelerators = 0
    public var epochs: Int?
    /// Steps each accelerator took.
    public var steps: Int?
    public var seconds: Double?
    public var samples: Int?
    public var samplesPerSecond: Double?
    public var mibPerSecond: Double?
    public var auMean: Double?
    public var auMin: Double?
    public var auThreshold = 0.0
    /// The profile's batch size and compute seconds per batch.
    public var batchSize = 0
    public var computeSeconds = 0.0
    /// Whether the mean AU reached the threshold (the answer row: at its N).
    public var passed: Bool?
    public var waitSeconds: Double?
    public var residentBefore: Double?
    /// The data could have been served from memory: a warm run of a data set smaller than the
    /// machine's memory, or files found resident when an epoch started.
    public var potentialCaching = false
    /// Samples per second one accelerator consumes when storage keeps up.
    public var demandSamplesPerSecond = 0.0
    /// The answer row: what the layout delivered with no compute, and the accelerators that
    /// predicts (read-only samples/s ÷ demand, rounded down).
    public var readOnlySamplesPerSecond: Double?
    public var predicted: Int?
    /// The most the search could probe, and what set it.
    public var limit: Int?
    public var limitReason = ""
    public var readerThreads = 1
    public var prefetch = 0
    public var synchronous = true
    public var storedBytes: Int?
    public var layoutID = ""
    public var peakRSSMiB: Double?
    public var blas = ""
    public var host = ""
    public var startedAt = ""
    /// The MPI ranks the accelerators were spread over (1 without mpirun).
    public var ranks = 1

    public init() {}
}

/// The columns of accelerators.csv, in order (appended to only).
public enum AcceleratorColumns {
    typealias Column = (name: String, write: @Sendable (AcceleratorRow) -> String, read: @Sendable (inout AcceleratorRow, String) -> Void)

    static func number(_ x: Double?) -> String { ResultColumn.format(x) }
    /// A number read back; non-finite text (nan, inf) reads as absent.
    static func finite(_ text: String) -> Double? { Double(text).flatMap { $0.isFinite ? $0 : nil } }

    static let all: [Column] = [
        ("experiment", { $0.experiment }, { $0.experiment = $1 }),
        ("profile", { $0.profile }, { $0.profile = $1 }),
        ("backend", { $0.backend }, { $0.backend = $1 }),
        ("format", { $0.format.rawValue }, { $0.format = Format(rawValue: $1) ?? .raw }),
        ("layout", { $0.layout }, { $0.layout = $1 }),
        ("order", { $0.order.rawValue }, { $0.order = SampleOrder(rawValue: $1) ?? .sequential }),
        ("cache", { $0.cache.rawValue }, { $0.cache = CacheState(rawValue: $1) ?? .warm }),
        ("kind", { $0.kind.rawValue }, { $0.kind = AcceleratorRow.Kind(rawValue: $1) ?? .probe }),
        ("accelerators", { String($0.accelerators) }, { $0.accelerators = Int($1) ?? 0 }),
        ("epochs", { $0.epochs.map(String.init) ?? "" }, { $0.epochs = Int($1) }),
        ("steps", { $0.steps.map(String.init) ?? "" }, { $0.steps = Int($1) }),
        ("seconds", { number($0.seconds) }, { $0.seconds = finite($1) }),
        ("samples", { $0.samples.map(String.init) ?? "" }, { $0.samples = Int($1) }),
        ("samples_per_s", { number($0.samplesPerSecond) }, { $0.samplesPerSecond = finite($1) }),
        ("mib_per_s", { number($0.mibPerSecond) }, { $0.mibPerSecond = finite($1) }),
        ("au_mean", { number($0.auMean) }, { $0.auMean = finite($1) }),
        ("au_min", { number($0.auMin) }, { $0.auMin = finite($1) }),
        ("au_threshold", { number($0.auThreshold) }, { $0.auThreshold = finite($1) ?? 0 }),
        ("passed", { $0.passed.map { $0 ? "true" : "false" } ?? "" }, { $0.passed = $1.isEmpty ? nil : $1 == "true" }),
        ("wait_s", { number($0.waitSeconds) }, { $0.waitSeconds = finite($1) }),
        ("resident_before", { number($0.residentBefore) }, { $0.residentBefore = finite($1) }),
        ("potential_caching", { $0.potentialCaching ? "true" : "false" }, { $0.potentialCaching = $1 == "true" }),
        ("demand_samples_per_s", { number($0.demandSamplesPerSecond) }, { $0.demandSamplesPerSecond = finite($1) ?? 0 }),
        ("read_only_samples_per_s", { number($0.readOnlySamplesPerSecond) }, { $0.readOnlySamplesPerSecond = finite($1) }),
        ("predicted", { $0.predicted.map(String.init) ?? "" }, { $0.predicted = Int($1) }),
        ("limit", { $0.limit.map(String.init) ?? "" }, { $0.limit = Int($1) }),
        ("limit_reason", { $0.limitReason }, { $0.limitReason = $1 }),
        ("reader_threads", { String($0.readerThreads) }, { $0.readerThreads = Int($1) ?? 1 }),
        ("prefetch", { String($0.prefetch) }, { $0.prefetch = Int($1) ?? 0 }),
        ("synchronous", { $0.synchronous ? "true" : "false" }, { $0.synchronous = $1 != "false" }),
        ("stored_bytes", { $0.storedBytes.map(String.init) ?? "" }, { $0.storedBytes = Int($1) }),
        ("layout_id", { $0.layoutID }, { $0.layoutID = $1 }),
        ("peak_rss_mib", { number($0.peakRSSMiB) }, { $0.peakRSSMiB = finite($1) }),
        ("blas", { $0.blas }, { $0.blas = $1 }),
        ("host", { $0.host }, { $0.host = $1 }),
        ("started_at", { $0.startedAt }, { $0.startedAt = $1 }),
        ("batch_size", { String($0.batchSize) }, { $0.batchSize = Int($1) ?? 0 }),
        ("compute_seconds", { number($0.computeSeconds) }, { $0.computeSeconds = finite($1) ?? 0 }),
        ("ranks", { String($0.ranks) }, { $0.ranks = Int($1) ?? 1 }),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func write(_ rows: [AcceleratorRow], to path: String, overwrite: Bool = false) throws {
        try CSVTable.write(header: names, rows: rows.map { row in all.map { $0.write(row) } }, to: path, overwrite: overwrite)
    }

    /// Reads accelerators.csv back (columns found by name, so older files with fewer read too).
    public static func read(_ path: String) throws -> [AcceleratorRow] {
        let (header, rows) = try CSVTable.read(path)
        guard header.contains("accelerators") && header.contains("kind") else {
            throw DataSourceError(path, "not an accelerators.csv (no 'accelerators' and 'kind' columns)")
        }
        let index = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return rows.map { cells in
            var row = AcceleratorRow()
            for column in all {
                if let i = index[column.name], i < cells.count { column.read(&row, cells[i]) }
            }
            return row
        }
    }
}
