import DataSources
import Foundation

/// One column of results.csv: its name, how a row writes it, how it is read back. The one
/// table `ResultColumns.all` drives results.csv, reading it back (`feedbench report`) and the
/// identity columns of summary.csv.
public struct ResultColumn: Sendable {
    public let name: String
    /// Whether the repeats of one configuration share this value (summary.csv groups by these).
    public let identifiesConfiguration: Bool
    let write: @Sendable (ResultRow) -> String
    let read: @Sendable (inout ResultRow, String) throws -> Void
    /// Whether the value is a number (JSON lines write it unquoted).
    var numeric = false

    /// A text column.
    static func text(_ name: String, _ key: WritableKeyPath<ResultRow, String> & Sendable, identity: Bool = false) -> ResultColumn {
        ResultColumn(name: name, identifiesConfiguration: identity, write: { $0[keyPath: key] }, read: { $0[keyPath: key] = $1 })
    }

    /// An integer column (empty reads as `empty`: a column appended later is empty in older files).
    static func integer(_ name: String, _ key: WritableKeyPath<ResultRow, Int> & Sendable, identity: Bool = false, empty: Int = 0) -> ResultColumn {
        ResultColumn(name: name, identifiesConfiguration: identity, write: { String($0[keyPath: key]) }, read: { row, text in
            guard let value = text.isEmpty ? empty : Int(text) else { throw ResultsError("column '\(name)': '\(text)' is not an integer") }
            row[keyPath: key] = value
        }, numeric: true)
    }

    /// An optional integer column.
    static func optionalInteger(_ name: String, _ key: WritableKeyPath<ResultRow, Int?> & Sendable) -> ResultColumn {
        ResultColumn(name: name, identifiesConfiguration: false, write: { $0[keyPath: key].map(String.init) ?? "" }, read: { row, text in
            row[keyPath: key] = text.isEmpty ? nil : Int(text)
        }, numeric: true)
    }

    /// An optional number column, written with six significant digits.
    static func number(_ name: String, _ key: WritableKeyPath<ResultRow, Double?> & Sendable) -> ResultColumn {
        ResultColumn(name: name, identifiesConfiguration: false, write: { ResultColumn.format($0[keyPath: key]) }, read: { row, text in
            row[keyPath: key] = text.isEmpty ? nil : Double(text)
        }, numeric: true)
    }

    /// A column holding one of an enum's raw values.
    static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ key: WritableKeyPath<ResultRow, T> & Sendable, identity: Bool = true
    ) -> ResultColumn where T.RawValue == String {
        ResultColumn(name: name, identifiesConfiguration: identity, write: { $0[keyPath: key].rawValue }, read: { row, text in
            guard let value = T(rawValue: text) else {
                throw ResultsError("column '\(name)': '\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            row[keyPath: key] = value
        })
    }

    /// How numbers are written: six significant digits, empty when absent or not finite.
    public static func format(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.6g", $0) : "" } ?? "" }
}

/// The columns of results.csv, in order. Columns are only ever appended (README lists them),
/// so scripts that read a column by position keep working.
public enum ResultColumns {
    public static let all: [ResultColumn] = [
        .text("experiment", \.experiment, identity: true),
        .text("backend", \.backend, identity: true),
        .choice("format", \.format),
        .text("layout", \.layout, identity: true),
        .text("dtype", \.dtype, identity: true),
        .choice("order", \.order),
        .choice("cache", \.cache),
        .integer("batch_size", \.batchSize, identity: true),
        .integer("prefetch", \.prefetch, identity: true),
        .choice("mode", \.mode),
        .integer("repeat", \.repeatIndex),
        .integer("samples", \.samples),
        .optionalInteger("stored_bytes", \.storedBytes),
        .number("seconds", \.seconds),
        .number("samples_per_s", \.samplesPerSecond),
        .number("mib_per_s", \.mibPerSecond),
        .number("step_ms_median", \.stepMsMedian),
        .number("step_ms_p95", \.stepMsP95),
        .number("wait_s", \.waitSeconds),
        .number("compute_s", \.computeSeconds),
        .number("au", \.au),
        .number("resident_before", \.residentBefore),
        .number("resident_after", \.residentAfter),
        .number("peak_rss_mib", \.peakRSSMiB),
        .number("ratio_to_raw", \.ratioToRaw),
        .text("hdf5_version", \.hdf5Version),
        .text("lmdb_version", \.lmdbVersion),
        .text("blas", \.blas),
        .text("host", \.host),
        .text("started_at", \.startedAt),
        // Appended after the first release's 30 columns.
        .integer("phase", \.phase, identity: true),
        .number("read_amplification", \.readAmplification),
        .number("ratio_to_limit", \.ratioToLimit),
        .text("layout_id", \.layoutID, identity: true),
        .text("tool_version", \.toolVersion),
        .text("config_hash", \.configHash),
        // Over MPI ranks (`mpirun`): how many measured together, and the lowest rank's AU
        // (`au` is then the mean over ranks).
        .integer("ranks", \.ranks, identity: true, empty: 1),
        .number("au_min", \.auMin),
    ]

    /// The column names, in order.
    public static var names: [String] { all.map(\.name) }

    /// A row as one JSON object on one line: results.csv's columns by name, numbers as
    /// numbers, empty columns left out.
    public static func jsonLine(_ row: ResultRow) -> String {
        JSONLine.object(all.compactMap { c -> (name: String, value: String, numeric: Bool)? in
            let value = c.write(row)
            return value.isEmpty ? nil : (c.name, value, c.numeric)
        })
    }

    /// The first release's columns: a results.csv with only these still reads back.
    static let firstRelease = 30
}

/// A results file that cannot be read back.
public struct ResultsError: FeedBenchError {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// JSON lines for scripts (`--json`): one object per line.
public enum JSONLine {
    /// Fields in order; numeric ones unquoted when they parse as finite numbers.
    public static func object(_ fields: [(name: String, value: String, numeric: Bool)]) -> String {
        "{" + fields.map { f in
            let value = f.numeric && Double(f.value).map(\.isFinite) == true ? f.value : quote(f.value)
            return quote(f.name) + ":" + value
        }.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
