import CSV
import DataSources
import Foundation

/// CSV files written through yaslab/CSV.swift, atomically (temporary name, then rename).
public enum CSVTable {
    /// An existing file is replaced only when it starts with the same first column (a CSV
    /// FeedBench wrote), or with `overwrite`.
    public static func write(header: [String], rows: [[String]], to path: String, overwrite: Bool = false) throws {
        try AtomicFile.write(to: path, own: header.first.map { .text(firstLine: $0) }, overwrite: overwrite) { temporary in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw DataSourceError(path, "cannot write: \(String(cString: strerror(errno)))") }
            close(fd)
            guard let stream = OutputStream(toFileAtPath: temporary, append: false) else {
                throw DataSourceError(path, "cannot open for writing")
            }
            stream.open()
            defer { stream.close() }
            let csv = try CSVWriter(stream: stream)
            try csv.write(row: header)
            for row in rows { try csv.write(row: row) }
            csv.stream.close()
        }
    }

    /// Reads a CSV with a header row: the header and the rows.
    public static func read(_ path: String) throws -> (header: [String], rows: [[String]]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw DataSourceError(path, "cannot read") }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw DataSourceError(path, "empty, or not a CSV file with a header row (\(error))")
        }
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        return (reader.headerRow ?? [], rows)
    }
}
