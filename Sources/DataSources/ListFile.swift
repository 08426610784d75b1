import Foundation
import HDF5

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
        try InputFile.requireRegular(path)
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

    /// The HDF5 files `path` names — a list file's entries, or a `.h5` / `.hdf5` / `.hdf`
    /// file itself — each with how to name it in messages.
    public static func members(of path: String) throws -> [(path: String, context: String)] {
        guard !isHDF5File(path) else { return [(path, path)] }
        return try read(path).map { ($0.resolved, "\(path): line \($0.line): \($0.resolved)") }
    }

    /// Whether `path` names one HDF5 file rather than a list.
    public static func isHDF5File(_ path: String) -> Bool {
        path.hasSuffix(".h5") || path.hasSuffix(".hdf5") || path.hasSuffix(".hdf")
    }

    /// Writes a list file atomically (temporary name, then rename).
    public static func write(_ paths: [String], to path: String, overwrite: Bool = false) throws {
        let text = paths.joined(separator: "\n") + "\n"
        try AtomicFile.write(to: path, own: .listFile, overwrite: overwrite) { temporary in try text.write(toFile: temporary, atomically: false, encoding: .utf8) }
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
    /// A temporary name beside `path`. Partial outputs for the same name left by processes
    /// that no longer run (a SIGKILL, a power cut, Ctrl-C during a write) are removed first.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        removeStalePartials(of: url)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        PartialOutputs.register(temporary)
        return temporary
    }

    /// Removes a temporary output that will not be renamed into place (its write failed).
    public static func discard(_ temporary: String) {
        try? FileManager.default.removeItem(atPath: temporary)
        PartialOutputs.unregister(temporary)
    }

    /// Removes `.NAME.partial-PID` beside `url` whose PID is not a running process.
    static func removeStalePartials(of url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent).partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }

    /// Calls `body` with a temporary path beside `path`, then renames it to `path`; removes
    /// the temporary file when `body` throws.
    public static func write(to path: String, own: OwnOutput? = nil, overwrite: Bool = false, _ body: (String) throws -> Void) throws {
        try checkReplaceable(path, as: .file, overwrite: overwrite, own: own)
        let temporary = temporaryPath(for: path)
        do {
            try body(temporary)
            try commit(temporary, to: path)
        } catch {
            discard(temporary)
            throw Self.named(error, path)
        }
    }

    /// What an output is: one file (CSV, HDF5, a snapshot, a report) or a folder (LMDB, raw).
    public enum OutputKind: Sendable { case file, folder }

    /// Refuses to replace what is at `path` unless it is of the kind being written: a device,
    /// FIFO or socket never (renaming over `/dev/full` would destroy the node), a folder
    /// where a file is written or a file where a folder is written only with `overwrite`
    /// (`convert --to lmdb:data.h5` must not delete the HDF5 file). Nothing there is fine.
    ///
    /// With `own`, an existing file or folder of the right kind is replaced without
    /// `overwrite` only when it is recognisably FeedBench's own output of that kind (a second
    /// run of the same command); anything else there is a user's and is kept.
    public static func checkReplaceable(_ path: String, as kind: OutputKind, overwrite: Bool = false, own: OwnOutput? = nil) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there (or a dangling link)
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard stat(path, &info) == 0 else { return }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            if kind == .folder && !overwrite {
                throw DataSourceError(path, "is an existing file; writing a folder there would delete it (give --overwrite to replace it)")
            }
            if kind == .file && !overwrite, let own, !own.recognises(path) {
                throw DataSourceError(path, "exists and is not \(own.what) FeedBench wrote; give --overwrite to replace it")
            }
        case S_IFDIR:
            if kind == .file {
                throw DataSourceError(path, "is a folder; give a file name")
            }
            if !overwrite, let own, !own.recognises(path) {
                throw DataSourceError(path, "is an existing folder that is not \(own.what) FeedBench wrote; give --overwrite to replace it")
            }
        case S_IFCHR, S_IFBLK: throw DataSourceError(path, "is a device, not a file: refusing to write over it")
        case S_IFIFO: throw DataSourceError(path, "is a FIFO, not a file: refusing to write over it")
        case S_IFSOCK: throw DataSourceError(path, "is a socket, not a file: refusing to write over it")
        default: throw DataSourceError(path, "is not a regular file or folder: refusing to write over it")
        }
    }

    /// An error from writing `path`, as one line naming it: FeedBench's own errors pass
    /// through; others (Foundation's, a CSV library's) get the path and their description.
    public static func named(_ error: Error, _ path: String) -> Error {
        if error is FeedBenchError { return error }
        let text = (error as NSError).domain == NSCocoaErrorDomain
            ? (error as NSError).localizedDescription : String(describing: error)
        return DataSourceError(path, "cannot write: \(text)")
    }

    /// Renames `temporary` to `path`, replacing what is there (a file by a file; never a
    /// device, FIFO or socket — see `checkReplaceable`).
    public static func commit(_ temporary: String, to path: String) throws {
        var isFolder: ObjCBool = false
        let kind: OutputKind = FileManager.default.fileExists(atPath: temporary, isDirectory: &isFolder) && isFolder.boolValue ? .folder : .file
        // A folder output has already been checked (and its old folder removed) by its writer.
        if kind == .file { try checkReplaceable(path, as: .file) }
        guard rename(temporary, path) == 0 else {
            throw DataSourceError(path, "cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
        }
        PartialOutputs.unregister(temporary)
    }
}

/// How FeedBench recognises an output it wrote, so that running a command again replaces
/// its own output but never a user's file of the same name.
public enum OwnOutput: Sendable {
    /// An HDF5 file with the root attribute `OwnOutput.hdf5Attribute` (data sets, snapshots).
    case hdf5
    /// A text file whose first line starts with this (a CSV header's first column).
    case text(firstLine: String)
    /// A text file holding this within its first 4 KB (FeedBench's HTML reports).
    case marked(String)
    /// A list file naming the files FeedBench writes for it (`NAME-000.h5`, …).
    case listFile
    /// An LMDB folder with `OwnOutput.lmdbMarker` in it.
    case lmdb
    /// A raw folder: `meta.json`, FeedBench's own format.
    case raw

    /// The root attribute FeedBench's HDF5 writers set.
    public static let hdf5Attribute = "feedbench"
    /// The file FeedBench's LMDB writer leaves beside `data.mdb` (Caffe reads only the database).
    public static let lmdbMarker = "feedbench.txt"

    var what: String {
        switch self {
        case .hdf5: "an HDF5 file"
        case .text, .marked: "a file"
        case .listFile: "a list file"
        case .lmdb: "an LMDB folder"
        case .raw: "a raw folder"
        }
    }

    func recognises(_ path: String) -> Bool {
        func head() -> String? {
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            return (try? handle.read(upToCount: 4096)).map { String(decoding: $0, as: UTF8.self) }
        }
        switch self {
        case .hdf5:
            guard let file = try? File.open(path) else { return false }
            return (try? file.root.stringAttribute(Self.hdf5Attribute)) != nil
        case .text(let first): return head()?.hasPrefix(first) ?? false
        case .marked(let mark): return head()?.contains(mark) ?? false
        case .listFile:
            // FeedBench names a list's files after it: train.txt lists train-000.h5, train-001.h5, …
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
            let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            let entries = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            return !entries.isEmpty && entries.enumerated().allSatisfy { i, entry in entry == String(format: "%@-%03ld.h5", stem, i) }
        case .lmdb: return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(Self.lmdbMarker))
        case .raw: return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("meta.json"))
        }
    }
}

/// The temporary outputs this process is writing, so that an interrupted run (Ctrl-C,
/// SIGTERM) removes them before it ends instead of leaving `.NAME.partial-PID` behind.
public enum PartialOutputs {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []
    nonisolated(unsafe) private static var closing = false

    static func register(_ path: String) {
        lock.lock()
        if closing {
            // The process is ending: no new partial output may start after the clean-up.
            lock.unlock()
            while true { pause() }
        }
        paths.insert(path)
        lock.unlock()
    }

    static func unregister(_ path: String) {
        lock.withLock { _ = paths.remove(path) }
    }

    /// The partial outputs now being written.
    public static var current: [String] { lock.withLock { paths.sorted() } }

    /// Removes every partial output (files and folders) and lets no new one start; returns
    /// the ones removed. For the end of an interrupted process only.
    public static func removeAll() -> [String] {
        let all: [String] = lock.withLock {
            closing = true
            return paths.sorted()
        }
        var removed: [String] = []
        for path in all where FileManager.default.fileExists(atPath: path) {
            // A writer may still be adding a file to a folder being removed: try again.
            for attempt in 0..<5 {
                if (try? FileManager.default.removeItem(atPath: path)) != nil || !FileManager.default.fileExists(atPath: path) {
                    removed.append(path)
                    break
                }
                usleep(useconds_t(20_000 * (attempt + 1)))
            }
        }
        return removed
    }
}
