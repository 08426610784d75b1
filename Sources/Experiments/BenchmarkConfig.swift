import DataSources
import Foundation
import Graph
import HDF5
import Yams

/// An experiment: which data, stored how, read in which orders and cache states, with
/// which batch sizes and prefetch depths, how often, and the network for training runs.
/// Parsed from YAML; every key is checked before any work starts.
public struct BenchmarkConfig: Sendable {
    public struct DataSet: Sendable {
        public var name: String
        /// A generated set, or an existing SRC.
        public var samples = 0, shape: [Int] = [], classes = 10, seed: UInt64 = 1
        public var source: String?
    }

    public struct Backend: Sendable {
        public enum Format: String, Sendable, CaseIterable { case hdf5, lmdb, raw, memory }
        public var name: String
        public var format: Format
        public var files = 1
        public var dtype = ElementType.uint8
        public var chunk: Int?
        public var gzip: Int?
        /// `h5dread` reads HDF5 through the library only (for comparison).
        public var readPath = HDF5ListSource.ReadPath.auto

        /// The layout in words, for the CSV's `layout` column.
        public var layout: String {
            switch format {
            case .hdf5:
                var parts = ["\(files) file\(files == 1 ? "" : "s")", chunk.map { "chunk \($0)" } ?? "contiguous"]
                if let gzip { parts.append("gzip \(gzip)") }
                if readPath == .library { parts.append("H5Dread") }
                return parts.joined(separator: ", ")
            case .lmdb: return "Datum records"
            case .raw: return "flat file"
            case .memory: return "float32 in RAM"
            }
        }
    }

    public enum Cache: String, Sendable, CaseIterable { case warm, cold }
    public enum Mode: String, Sendable, CaseIterable { case read, train }

    public var experiment: String
    public var datasets: [DataSet]
    public var backends: [Backend]
    public var orders: [SampleOrder] = [.sequential, .shuffle]
    public var caches: [Cache] = [.warm]
    public var batchSizes = [128]
    public var prefetch = [4]
    public var modes: [Mode] = [.read, .train]
    public var repeats = 3
    public var warmup = 1
    public var hidden = [512]
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var peers = false
    /// Where generated layouts are kept between runs.
    public var dataDirectory = ".bench-data"

    /// Parses a config file; errors name the file, the key and the line.
    public init(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DataSourceError(path, FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        do {
            try self.init(yaml: text)
        } catch let e as SpecError {
            throw DataSourceError(path, e.description)
        }
    }

    public init(yaml: String) throws {
        let root: Yams.Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw SpecError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")") }
        guard let root, let top = root.mapping else { throw SpecError("a benchmark config must be a YAML mapping") }
        let known = ["experiment", "dataset", "datasets", "backends", "orders", "cache", "batch_sizes", "prefetch",
                     "modes", "repeats", "warmup", "network", "peers", "data_dir"]
        for (key, _) in top where !known.contains(key.string ?? "") {
            throw SpecError("unknown key '\(key.string ?? "?")' (expected \(known.joined(separator: ", ")))", at: key)
        }
        experiment = top["experiment"]?.string ?? "experiment"
        var sets: [DataSet] = []
        if let one = top["dataset"] { sets.append(try Self.dataSet(one, index: nil)) }
        if let many = top["datasets"] {
            guard let list = many.sequence else { throw SpecError("'datasets' must be a list", at: many) }
            sets += try list.enumerated().map { try Self.dataSet($1, index: $0) }
        }
        guard !sets.isEmpty else { throw SpecError("missing key 'dataset' (what to store and read)", at: root) }
        datasets = sets
        guard let backendList = top["backends"]?.sequence, !backendList.isEmpty else {
            throw SpecError("'backends' must be a non-empty list", at: top["backends"] ?? root)
        }
        backends = try backendList.enumerated().map { try Self.backend($1, index: $0) }
        if let n = top["orders"] { orders = try Self.list(n, "orders") { SampleOrder(rawValue: $0) } }
        if let n = top["cache"] { caches = try Self.list(n, "cache") { Cache(rawValue: $0) } }
        if let n = top["modes"] { modes = try Self.list(n, "modes") { Mode(rawValue: $0) } }
        if let n = top["batch_sizes"] { batchSizes = try Self.list(n, "batch_sizes") { Int($0).flatMap { $0 >= 1 ? $0 : nil } } }
        if let n = top["prefetch"] { prefetch = try Self.list(n, "prefetch") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } }
        if let n = top["repeats"] { repeats = try Self.integer(n, "repeats", minimum: 1) }
        if let n = top["warmup"] { warmup = try Self.integer(n, "warmup", minimum: 0) }
        if let n = top["peers"] {
            guard let b = n.bool else { throw SpecError("'peers' must be true or false", at: n) }
            peers = b
        }
        if let n = top["data_dir"] {
            guard let s = n.string, !s.isEmpty else { throw SpecError("'data_dir' must be a folder", at: n) }
            dataDirectory = s
        }
        if let net = top["network"] {
            guard let fields = net.mapping else { throw SpecError("'network' must be {hidden, learning_rate, momentum}", at: net) }
            for (k, v) in fields {
                switch k.string ?? "" {
                case "hidden": hidden = try Self.list(v, "network.hidden") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
                case "learning_rate":
                    guard let x = v.float, x > 0 else { throw SpecError("network.learning_rate must be a positive number", at: v) }
                    learningRate = Float(x)
                case "momentum":
                    guard let x = v.float, x >= 0, x < 1 else { throw SpecError("network.momentum must be in [0, 1)", at: v) }
                    momentum = Float(x)
                default: throw SpecError("network: unknown key '\(k.string ?? "?")' (expected hidden, learning_rate, momentum)", at: k)
                }
            }
        }
        // Combinations that cannot run.
        for (i, b) in backends.enumerated() where b.format == .memory && caches.contains(.cold) {
            throw SpecError("backends[\(i)] '\(b.name)': cache 'cold' does not apply to data held in memory; drop 'cold' or the memory backend",
                            at: top["cache"])
        }
        var names = Set<String>()
        for b in backends where !names.insert(b.name).inserted { throw SpecError("two backends are named '\(b.name)'", at: top["backends"]) }
    }

    private static func dataSet(_ node: Yams.Node, index: Int?) throws -> DataSet {
        let key = index.map { "datasets[\($0)]" } ?? "dataset"
        guard let fields = node.mapping else { throw SpecError("'\(key)' must be {generate: {...}} or {source: SRC}", at: node) }
        var set = DataSet(name: fields["name"]?.string ?? "data\(index.map { "\($0)" } ?? "")")
        for (k, v) in fields {
            switch k.string ?? "" {
            case "name": break
            case "source":
                guard let s = v.string else { throw SpecError("\(key).source must be a path", at: v) }
                set.source = s
            case "generate":
                guard let g = v.mapping else { throw SpecError("\(key).generate must be {samples, shape, classes, seed}", at: v) }
                for (gk, gv) in g {
                    switch gk.string ?? "" {
                    case "samples": set.samples = try integer(gv, "\(key).generate.samples", minimum: 1)
                    case "shape": set.shape = try list(gv, "\(key).generate.shape") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
                    case "classes": set.classes = try integer(gv, "\(key).generate.classes", minimum: 1)
                    case "seed": set.seed = UInt64(try integer(gv, "\(key).generate.seed", minimum: 0))
                    default: throw SpecError("\(key).generate: unknown key '\(gk.string ?? "?")' (expected samples, shape, classes, seed)", at: gk)
                    }
                }
                guard set.samples >= 1, !set.shape.isEmpty else { throw SpecError("\(key).generate needs samples and shape", at: v) }
            default: throw SpecError("\(key): unknown key '\(k.string ?? "?")' (expected name, generate, source)", at: k)
            }
        }
        guard (set.source == nil) != set.shape.isEmpty else { throw SpecError("\(key) needs exactly one of generate and source", at: node) }
        return set
    }

    private static func backend(_ node: Yams.Node, index: Int) throws -> Backend {
        guard let fields = node.mapping else { throw SpecError("backends[\(index)] must be {name, format, …}", at: node) }
        guard let formatNode = fields["format"], let formatName = formatNode.string else {
            throw SpecError("backends[\(index)] has no format (hdf5, lmdb, raw or memory)", at: node)
        }
        guard let format = Backend.Format(rawValue: formatName) else {
            throw SpecError("backends[\(index)]: unknown format '\(formatName)' (expected hdf5, lmdb, raw or memory)", at: formatNode)
        }
        var b = Backend(name: fields["name"]?.string ?? formatName, format: format)
        for (k, v) in fields {
            let key = k.string ?? ""
            let hdf5Only = ["files", "chunk", "compression", "read"]
            if hdf5Only.contains(key) && format != .hdf5 {
                throw SpecError("backends[\(index)] '\(b.name)': '\(key)' applies to hdf5 only, not \(formatName)", at: k)
            }
            switch key {
            case "name", "format": break
            case "files": b.files = try integer(v, "backends[\(index)].files", minimum: 1)
            case "chunk": b.chunk = try integer(v, "backends[\(index)].chunk", minimum: 1)
            case "dtype":
                guard let t = v.string.flatMap(ElementType.init(rawValue:)), t == .uint8 || t == .float32 else {
                    throw SpecError("backends[\(index)].dtype must be uint8 or float32", at: v)
                }
                b.dtype = t
            case "compression":
                let text = v.string ?? ""
                if text == "none" { b.gzip = nil } else if text == "gzip" { b.gzip = 4 } else if text.hasPrefix("gzip:"), let l = Int(text.dropFirst(5)), (0...9).contains(l) {
                    b.gzip = l
                } else {
                    throw SpecError("backends[\(index)].compression must be none, gzip or gzip:LEVEL", at: v)
                }
            case "read":
                guard let s = v.string, ["auto", "h5dread"].contains(s) else { throw SpecError("backends[\(index)].read must be auto or h5dread", at: v) }
                b.readPath = s == "h5dread" ? .library : .auto
            default:
                throw SpecError("backends[\(index)]: unknown key '\(key)' (expected name, format, files, dtype, chunk, compression, read)", at: k)
            }
        }
        if b.gzip != nil && b.chunk == nil { b.chunk = 64 }
        return b
    }

    private static func integer(_ node: Yams.Node, _ key: String, minimum: Int) throws -> Int {
        guard let v = node.int, v >= minimum else { throw SpecError("'\(key)' must be an integer ≥ \(minimum)", at: node) }
        return v
    }

    private static func list<T>(_ node: Yams.Node, _ key: String, _ parse: (String) -> T?) throws -> [T] {
        let items = node.sequence.map(Array.init) ?? [node]
        let values = try items.map { item -> T in
            guard let s = item.string, let v = parse(s) else { throw SpecError("'\(key)': '\(item.string ?? "?")' is not allowed", at: item) }
            return v
        }
        guard !values.isEmpty else { throw SpecError("'\(key)' must not be empty", at: node) }
        return values
    }
}
