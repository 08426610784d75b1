import Foundation

/// A Caffe-style list file: one HDF5 path a line; blank lines and lines starting with `#`
/// are skipped. A relative path is looked up beside the list file first, then in the
/// working directory (where Caffe looks).
public enum ListFile {
    /// One entry: the path as written, where it was found, and its line number.
    public struct Entry: Sendable, Equatable {
        public let written: String
        public let resolved: String
        public let line: Int
    }

    public static func read(_ path: String) throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataSourceError(path, "no such file") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DataSourceError(path, "cannot read the list file (not UTF-8 text?)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        var entries: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            entries.append(Entry(written: line, resolved: resolve(line, beside: directory), line: index + 1))
        }
        guard !entries.isEmpty else { throw DataSourceError(path, "the list names no HDF5 files") }
        return entries
    }

    /// Writes a list file atomically (temporary name, then rename).
    public static func write(_ paths: [String], to path: String) throws {
        let text = paths.joined(separator: "\n") + "\n"
        try AtomicFile.write(to: path) { temporary in try text.write(toFile: temporary, atomically: false, encoding: .utf8) }
    }

    static func resolve(_ written: String, beside directory: URL) -> String {
        if written.hasPrefix("/") { return written }
        let beside = directory.appendingPathComponent(written).path
        if FileManager.default.fileExists(atPath: beside) { return beside }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(written).path
        return FileManager.default.fileExists(atPath: cwd) ? cwd : beside
    }
}

/// Writes through a temporary name and renames on success, so that an interrupted run never
/// leaves a half-written file under the final name.
public enum AtomicFile {
    /// A temporary name beside `path`.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
    }

    /// Calls `body` with a temporary path beside `path`, then renames it to `path`; removes
    /// the temporary file when `body` throws.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let temporary = temporaryPath(for: path)
        do {
            try body(temporary)
            try commit(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Renames `temporary` to `path`, replacing what is there.
    public static func commit(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else {
            throw DataSourceError(path, "cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
        }
    }
}
