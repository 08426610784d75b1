import DataSources
import Foundation
import Graph

/// DIR/results.csv and DIR/summary.csv, both from the column table `ResultColumns`, written
/// with CSV.swift atomically.
public enum ResultsCSV {
    public static func write(_ rows: [ResultRow], to path: String, overwrite: Bool = false) throws {
        try CSVTable.write(header: ResultColumns.names, rows: rows.map { r in ResultColumns.all.map { $0.write(r) } }, to: path, overwrite: overwrite)
    }

    /// Reads a results.csv back (for `feedbench report`). Files of an earlier release, which
    /// lack the columns appended since, read with those columns at their defaults.
    public static func read(_ path: String) throws -> [ResultRow] {
        let table = try CSVTable.read(path)
        let known = ResultColumns.names
        guard table.header.count >= ResultColumns.firstRelease,
              Array(table.header.prefix(ResultColumns.firstRelease)) == Array(known.prefix(ResultColumns.firstRelease)) else {
            throw DataSourceError(path, "not a FeedBench results.csv (its columns differ from \(known.prefix(3).joined(separator: ", ")), …)")
        }
        let columns = table.header.map { name in ResultColumns.all.first { $0.name == name } }
        return try table.rows.enumerated().map { index, fields in
            var row = ResultRow()
            for (column, field) in zip(columns, fields) {
                guard let column else { continue }  // a column appended by a later release
                do {
                    try column.read(&row, field)
                } catch let error as ResultsError {
                    throw DataSourceError(path, "row \(index + 2): \(error.description)")
                }
            }
            return row
        }
    }

    /// A statistic over a configuration's repeats.
    public struct Spread: Sendable {
        public let median: Double?
        public let min: Double?
        public let max: Double?

        init(_ values: [Double?]) {
            let v = values.compactMap { $0 }.filter(\.isFinite).sorted()
            median = v.isEmpty ? nil : StepTimer.percentile(v, 0.5)
            min = v.first
            max = v.last
        }

        /// max ÷ min (nil without a positive minimum).
        public var spreadRatio: Double? {
            guard let lo = min, let hi = max, lo > 0 else { return nil }
            return hi / lo
        }
    }

    /// One configuration: its repeats, with median, min and max of each figure.
    public struct SummaryRow: Sendable {
        /// The first repeat (its identity columns are the configuration's).
        public let first: ResultRow
        public let rows: [ResultRow]
        public var repeats: Int { rows.count }
        public var samplesPerSecond: Spread { Spread(rows.map(\.samplesPerSecond)) }
        public var mibPerSecond: Spread { Spread(rows.map(\.mibPerSecond)) }
        public var seconds: Spread { Spread(rows.map(\.seconds)) }
        public var stepMs: Spread { Spread(rows.map(\.stepMsMedian)) }
        public var au: Spread { Spread(rows.map(\.au)) }
        public var waitShare: Spread { Spread(rows.map { r in r.waitSeconds.flatMap { w in r.seconds.map { w / $0 } } }) }
        public var ratioToRaw: Double? { Spread(rows.map(\.ratioToRaw)).median }
        public var residentBefore: Double? { Spread(rows.map(\.residentBefore)).median }
    }

    /// The configurations in the order they first appear.
    public static func summarize(_ rows: [ResultRow]) -> [SummaryRow] {
        var order: [String] = []
        var groups: [String: [ResultRow]] = [:]
        for r in rows {
            if groups[r.configuration] == nil { order.append(r.configuration) }
            groups[r.configuration, default: []].append(r)
        }
        return order.map { SummaryRow(first: groups[$0]![0], rows: groups[$0]!) }
    }

    /// summary.csv's columns: the identity columns of the first release, `repeats`, the
    /// statistics, then identity columns appended since.
    public static var summaryColumns: [String] {
        let identity = ResultColumns.all.enumerated().filter { $0.element.identifiesConfiguration }
        let original = identity.filter { $0.offset < ResultColumns.firstRelease }.map(\.element.name)
        let appended = identity.filter { $0.offset >= ResultColumns.firstRelease }.map(\.element.name)
        return original + ["repeats"] + statistics.map(\.name) + appended
    }

    private static let statistics: [(name: String, value: @Sendable (SummaryRow) -> Double?)] = [
        ("samples_per_s_median", { $0.samplesPerSecond.median }), ("samples_per_s_min", { $0.samplesPerSecond.min }),
        ("samples_per_s_max", { $0.samplesPerSecond.max }),
        ("step_ms_median", { $0.stepMs.median }), ("step_ms_min", { $0.stepMs.min }), ("step_ms_max", { $0.stepMs.max }),
        ("au_median", { $0.au.median }), ("au_min", { $0.au.min }), ("au_max", { $0.au.max }),
        ("ratio_to_raw_median", { $0.ratioToRaw }), ("resident_before_median", { $0.residentBefore }),
    ]

    public static func writeSummary(_ rows: [ResultRow], to path: String, overwrite: Bool = false) throws {
        let identity = ResultColumns.all.enumerated().filter { $0.element.identifiesConfiguration }
        let lines = summarize(rows).map { s -> [String] in
            let original = identity.filter { $0.offset < ResultColumns.firstRelease }.map { $0.element.write(s.first) }
            let appended = identity.filter { $0.offset >= ResultColumns.firstRelease }.map { $0.element.write(s.first) }
            return original + [String(s.repeats)] + statistics.map { ResultColumn.format($0.value(s)) } + appended
        }
        try CSVTable.write(header: summaryColumns, rows: lines, to: path, overwrite: overwrite)
    }

    /// Fills `ratioToRaw` for every row with a throughput: its samples/s over the median of
    /// the `raw` format's repeats in the same experiment, phase, order, cache, batch size and
    /// mode — at the same prefetch depth when raw ran at it, else over all of raw's depths.
    public static func fillRatios(_ rows: inout [ResultRow]) {
        func key(_ r: ResultRow, prefetch: Bool) -> String {
            [r.experiment, String(r.phase), r.order.rawValue, r.cache.rawValue, String(r.batchSize), r.mode.rawValue,
             prefetch ? String(r.prefetch) : "*"].joined(separator: "|")
        }
        var values: [String: [Double]] = [:]
        for r in rows where r.format == .raw {
            guard let v = r.samplesPerSecond else { continue }
            values[key(r, prefetch: true), default: []].append(v)
            values[key(r, prefetch: false), default: []].append(v)
        }
        let medians = values.mapValues { StepTimer.percentile($0.sorted(), 0.5) }
        // A compressed layout's decode limit, by experiment, phase and stored files.
        func limitKey(_ r: ResultRow) -> String { [r.experiment, String(r.phase), r.layoutID].joined(separator: "|") }
        var limitValues: [String: [Double]] = [:]
        for r in rows where r.format == .decodeLimit {
            if let v = r.samplesPerSecond { limitValues[limitKey(r), default: []].append(v) }
        }
        let limits = limitValues.mapValues { StepTimer.percentile($0.sorted(), 0.5) }
        for i in rows.indices {
            rows[i].ratioToRaw = nil
            rows[i].ratioToLimit = nil
            guard let v = rows[i].samplesPerSecond else { continue }
            if let raw = medians[key(rows[i], prefetch: true)] ?? medians[key(rows[i], prefetch: false)], raw > 0 {
                rows[i].ratioToRaw = v / raw
            }
            // A read or training epoch against the physical limit of what it read.
            guard rows[i].mode != .write, rows[i].format != .decodeLimit else { continue }
            if !rows[i].layoutID.isEmpty, let limit = limits[limitKey(rows[i])], limit > 0 {
                rows[i].ratioToLimit = v / limit
            } else {
                rows[i].ratioToLimit = rows[i].ratioToRaw
            }
        }
    }
}
