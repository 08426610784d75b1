import Foundation

/// One measured epoch: a row of DIR/results.csv. Empty where a column does not apply.
public struct ResultRow: Sendable {
    public var experiment = "", backend = "", format = "", layout = "", dtype = "", order = "", cache = ""
    public var batchSize = 0, prefetch = 0, mode = "", repeatIndex = 0, samples = 0, storedBytes: Int?
    public var seconds: Double?, samplesPerSecond: Double?, mibPerSecond: Double?
    public var stepMsMedian: Double?, stepMsP95: Double?, waitSeconds: Double?, computeSeconds: Double?, au: Double?
    public var residentBefore: Double?, residentAfter: Double?, peakRSSMiB: Double?, ratioToRaw: Double?
    public var hdf5Version = "", lmdbVersion = "", blas = "", host = "", startedAt = ""

    public init() {}

    /// The configuration this row measures (every column a repeat shares).
    public var configuration: String {
        [experiment, backend, format, layout, dtype, order, cache, String(batchSize), String(prefetch), mode].joined(separator: "|")
    }
}

/// DIR/results.csv and DIR/summary.csv: fixed columns, written with CSV.swift, atomically.
public enum ResultsCSV {
    public static let columns = [
        "experiment", "backend", "format", "layout", "dtype", "order", "cache", "batch_size", "prefetch", "mode", "repeat",
        "samples", "stored_bytes", "seconds", "samples_per_s", "mib_per_s", "step_ms_median", "step_ms_p95", "wait_s",
        "compute_s", "au", "resident_before", "resident_after", "peak_rss_mib", "ratio_to_raw", "hdf5_version",
        "lmdb_version", "blas", "host", "started_at",
    ]

    static func number(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.6g", $0) : "" } ?? "" }

    public static func fields(_ r: ResultRow) -> [String] {
        [r.experiment, r.backend, r.format, r.layout, r.dtype, r.order, r.cache, String(r.batchSize), String(r.prefetch),
         r.mode, String(r.repeatIndex), String(r.samples), r.storedBytes.map(String.init) ?? "", number(r.seconds),
         number(r.samplesPerSecond), number(r.mibPerSecond), number(r.stepMsMedian), number(r.stepMsP95),
         number(r.waitSeconds), number(r.computeSeconds), number(r.au), number(r.residentBefore), number(r.residentAfter),
         number(r.peakRSSMiB), number(r.ratioToRaw), r.hdf5Version, r.lmdbVersion, r.blas, r.host, r.startedAt]
    }

    public static func write(_ rows: [ResultRow], to path: String) throws {
        try CSVTable.write(header: columns, rows: rows.map(fields), to: path)
    }

    /// Reads a results.csv back (for `feedbench report`).
    public static func read(_ path: String) throws -> [ResultRow] {
        let table = try CSVTable.read(path)
        guard table.header == columns else {
            throw TrainingError("\(path): not a FeedBench results.csv (its columns differ from \(columns.prefix(3).joined(separator: ", ")), …)")
        }
        return table.rows.map { f in
            var r = ResultRow()
            func d(_ i: Int) -> Double? { i < f.count ? Double(f[i]) : nil }
            (r.experiment, r.backend, r.format, r.layout, r.dtype, r.order, r.cache) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6])
            r.batchSize = Int(f[7]) ?? 0
            r.prefetch = Int(f[8]) ?? 0
            r.mode = f[9]
            r.repeatIndex = Int(f[10]) ?? 0
            r.samples = Int(f[11]) ?? 0
            r.storedBytes = Int(f[12])
            (r.seconds, r.samplesPerSecond, r.mibPerSecond, r.stepMsMedian, r.stepMsP95) = (d(13), d(14), d(15), d(16), d(17))
            (r.waitSeconds, r.computeSeconds, r.au, r.residentBefore, r.residentAfter) = (d(18), d(19), d(20), d(21), d(22))
            (r.peakRSSMiB, r.ratioToRaw) = (d(23), d(24))
            (r.hdf5Version, r.lmdbVersion, r.blas, r.host, r.startedAt) = (f[25], f[26], f[27], f[28], f[29])
            return r
        }
    }

    /// One summary line per configuration: median, min and max over its repeats.
    public struct SummaryRow: Sendable {
        public let first: ResultRow
        public let repeats: Int
        public let samplesPerSecond: (median: Double?, min: Double?, max: Double?)
        public let stepMs: (median: Double?, min: Double?, max: Double?)
        public let au: (median: Double?, min: Double?, max: Double?)
        public let ratioToRaw: Double?
        public let residentBefore: Double?
    }

    public static func summarize(_ rows: [ResultRow]) -> [SummaryRow] {
        var order: [String] = []
        var groups: [String: [ResultRow]] = [:]
        for r in rows {
            if groups[r.configuration] == nil { order.append(r.configuration) }
            groups[r.configuration, default: []].append(r)
        }
        func stats(_ values: [Double?]) -> (median: Double?, min: Double?, max: Double?) {
            let v = values.compactMap { $0 }.filter(\.isFinite).sorted()
            guard !v.isEmpty else { return (nil, nil, nil) }
            return (StepTimer.percentile(v, 0.5), v.first, v.last)
        }
        return order.map { key in
            let g = groups[key]!
            return SummaryRow(first: g[0], repeats: g.count, samplesPerSecond: stats(g.map(\.samplesPerSecond)),
                              stepMs: stats(g.map(\.stepMsMedian)), au: stats(g.map(\.au)),
                              ratioToRaw: stats(g.map(\.ratioToRaw)).median, residentBefore: stats(g.map(\.residentBefore)).median)
        }
    }

    public static let summaryColumns = [
        "experiment", "backend", "format", "layout", "dtype", "order", "cache", "batch_size", "prefetch", "mode", "repeats",
        "samples_per_s_median", "samples_per_s_min", "samples_per_s_max", "step_ms_median", "step_ms_min", "step_ms_max",
        "au_median", "au_min", "au_max", "ratio_to_raw_median", "resident_before_median",
    ]

    public static func writeSummary(_ rows: [ResultRow], to path: String) throws {
        let lines = summarize(rows).map { s -> [String] in
            let r = s.first
            return [r.experiment, r.backend, r.format, r.layout, r.dtype, r.order, r.cache, String(r.batchSize),
                    String(r.prefetch), r.mode, String(s.repeats),
                    number(s.samplesPerSecond.median), number(s.samplesPerSecond.min), number(s.samplesPerSecond.max),
                    number(s.stepMs.median), number(s.stepMs.min), number(s.stepMs.max),
                    number(s.au.median), number(s.au.min), number(s.au.max), number(s.ratioToRaw), number(s.residentBefore)]
        }
        try CSVTable.write(header: summaryColumns, rows: lines, to: path)
    }

    /// Fills `ratioToRaw` for every row with a throughput: its samples/s over the median of
    /// the raw backend's repeats in the same configuration (order, cache, batch, prefetch, mode).
    public static func fillRatios(_ rows: inout [ResultRow]) {
        var rawMedians: [String: Double] = [:]
        var rawValues: [String: [Double]] = [:]
        func key(_ r: ResultRow) -> String { [r.experiment, r.order, r.cache, String(r.batchSize), String(r.prefetch), r.mode].joined(separator: "|") }
        for r in rows where r.backend == "raw" { if let v = r.samplesPerSecond { rawValues[key(r), default: []].append(v) } }
        for (k, v) in rawValues { rawMedians[k] = StepTimer.percentile(v.sorted(), 0.5) }
        for i in rows.indices {
            if let raw = rawMedians[key(rows[i])], let v = rows[i].samplesPerSecond { rows[i].ratioToRaw = v / raw }
        }
    }
}

import Graph
