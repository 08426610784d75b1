import Foundation
import Graph
import HDF5
import LMDB

/// What `feedbench inspect` prints: datasets, shapes, types, layout, chunking, filters,
/// and N per file, like h5ls.
public enum Inspector {
    /// The lines for a data set. For an HDF5 file, `keys` names the pair to summarise;
    /// `keysGiven` says the user named them, so a missing pair is an error rather than a note.
    public static func lines(for location: SourceLocation, keys: DatasetKeys = .caffe, keysGiven: Bool = false,
                             images: ImageOptions = .standard) throws -> [String] {
        if location.isHDF5, EncodedHDF5Source.holdsEncodedImages(location.path, keys: keys) {
            let source = try EncodedHDF5Source(path: location.path, keys: keys, images: images)
            var lines = location.kind == .hdf5File ? try fileLines(location.path, keys: keys, keysGiven: true, summary: false) : ["list \(location.path): \(source.files.count) files"]
            lines.append("  N \(source.sampleCount) encoded images (\(source.imageFormats.map(\.rawValue).joined(separator: ", ")), \(source.layout.rawValue) layout), "
                         + "decoded to \(describe(shape: source.sampleShape)), classes \(source.classes.map(String.init) ?? "unknown")"
                         + (source.skippedImages > 0 ? "; \(source.skippedImages) skipped" : ""))
            return lines
        }
        switch location.kind {
        case .hdf5File:
            return try fileLines(location.path, keys: keys, keysGiven: keysGiven)
        case .hdf5List:
            let entries = try ListFile.read(location.path)
            let source = try HDF5ListSource(path: location.path, keys: keys)
            var lines = [
                "list \(location.path): \(entries.count) file\(entries.count == 1 ? "" : "s"), \(source.sampleCount) samples, "
                    + "sample shape \(describe(shape: source.sampleShape)), classes \(source.classes.map(String.init) ?? "unknown") (HDF5 \(HDF5Library.version))",
            ]
            for (entry, member) in zip(entries, source.members) {
                lines.append("  \(entry.written): N \(member.rows), \(keys.data) \(datasetSummary(member.data))")
            }
            return lines
        case .raw:
            let raw = try RawSource(path: location.path)
            return ["raw folder \(location.path): \(raw.sampleCount) samples, sample shape \(describe(shape: raw.sampleShape)), "
                + "\(raw.elementType.rawValue), classes \(raw.classes.map(String.init) ?? "unknown"), "
                + "\(raw.sampleCount * raw.sampleElements * raw.elementType.size) data bytes"]
        case .lmdb:
            let source = try LMDBSource(path: location.path, images: images)
            let stats = try source.environment.statistics()
            var first = ""
            let txn = try source.environment.beginRead()
            _ = try txn.cursor().next { key, value in
                let datum = try DatumView(value)
                first = "first record \(LMDBSource.describe(key: key)): "
                    + (datum.encoded ? "encoded \(datum.data.flatMap { ImageFormat.detect($0)?.rawValue } ?? "image"), \(datum.data?.count ?? 0) bytes"
                                     : "channels \(datum.channels), height \(datum.height), width \(datum.width)") + ", label \(datum.label)"
            }
            return [
                "lmdb \(location.path) (\(lmdbVersion)): \(stats.entries) entries, map size \(stats.mapSize) bytes, "
                    + "page size \(stats.pageSize), depth \(stats.depth), pages \(stats.branchPages) branch / \(stats.leafPages) leaf / \(stats.overflowPages) overflow",
                "  samples \(source.sampleCount) of shape \(describe(shape: source.sampleShape)) \(source.elementType.rawValue), classes \(source.classes.map(String.init) ?? "unknown")"
                    + (source.imageFormats.isEmpty ? "" : " (encoded \(source.imageFormats.map(\.rawValue).joined(separator: ", ")), decoded to this shape)")
                    + (source.skippedImages > 0 ? "; \(source.skippedImages) skipped" : ""),
                "  \(first)",
            ]
        }
    }

    static func fileLines(_ path: String, keys: DatasetKeys, keysGiven: Bool, summary: Bool = true) throws -> [String] {
        let file: File
        do { file = try File.open(path) } catch let e as HDF5Error { throw DataSourceError(path, e.stack.last ?? "cannot open") }
        var lines = ["file \(path) (HDF5 \(HDF5Library.version))"]
        try walk(file.root, into: &lines)
        guard summary else { return lines }
        do {
            let source = try HDF5ListSource(path: path, keys: keys)
            lines.append("  N \(source.sampleCount) samples of shape \(describe(shape: source.sampleShape)) \(source.storedType?.rawValue ?? ""), "
                + "classes \(source.classes.map(String.init) ?? "unknown")" + (keys == .caffe ? "" : " (\(keys))"))
        } catch let error as DataSourceError where !keysGiven {
            // Not a data file under Caffe's names: say so in one line, after what it holds.
            lines.append("  no usable data/label pair: \(error.description.dropFirst(path.count + 2))")
        }
        return lines
    }

    private static func walk(_ group: Group, into lines: inout [String]) throws {
        for name in try group.memberNames() {
            if let dataset = try? group.dataset(name) {
                lines.append("  \(group.childPath(name))  \(datasetSummary(dataset))")
            } else if let sub = try? group.group(name) {
                lines.append("  \(sub.path)/  (group)")
                try walk(sub, into: &lines)
            }
        }
    }

    static func datasetSummary(_ d: Dataset) -> String {
        var text = "\(d.storedTypeName) \(describe(shape: d.shape)) \(d.layout.rawValue)"
        if let chunk = d.chunkShape { text += " \(describe(shape: chunk))" }
        if !d.filters.isEmpty {
            text += " " + d.filters.map(\.description).joined(separator: ",")
            // What compression saves: stored bytes against the elements' own bytes.
            let raw = d.shape.reduce(1, *) * (d.elementType?.size ?? 1)
            if raw > 0 { text += String(format: ", stored %d bytes (%.3f of %d)", d.storageSize, Double(d.storageSize) / Double(raw), raw) }
        }
        return text
    }
}
