import DataSources
import Foundation
import Graph
import NetworkSpecs
import Yams

/// An experiment: which data, stored how, read in which orders and cache states, with which
/// batch sizes and prefetch depths, how often, and the network for training runs. Parsed
/// from YAML; every key is checked before any work starts. README lists the keys.
public struct BenchmarkConfig: Sendable {
    /// A data set: generated, or an existing SRC (converted into each backend's layout).
    public struct DataSet: Sendable {
        public var name: String
        public var samples = 0, shape: [Int] = [], classes = 10, seed: UInt64 = 1
        /// What generated samples look like (photos for 3×H×W, digits otherwise, by default).
        public var content: SampleContent?
        public var source: String?
        /// The datasets read from `source` when it is HDF5.
        public var keys = DatasetKeys.caffe
    }

    /// One way of storing and reading the data.
    public struct Backend: Sendable {
        public enum Kind: String, Sendable, CaseIterable {
            case hdf5, lmdb, raw, memory
            /// The data set's source (or `source`) read as it is stored, without converting it.
            case existing
        }
        public var name: String
        public var kind: Kind
        /// How the layout is written: element type (the data set's when not given), and for
        /// hdf5 files, chunks and compression.
        public var writer = WriterOptions()
        /// hdf5: `h5dread` reads through the library only (for comparison).
        public var readPath = HDF5ListSource.ReadPath.auto
        /// lmdb: the record decoder.
        public var decoder = LMDBSource.Decoder.view
        /// lmdb: read-ahead on or off.
        public var readahead = LMDBSource.Readahead.on
        /// existing: what to read (default: the data set's source) and its dataset keys.
        public var source: String?
        public var keys: DatasetKeys?
        /// Phases run one after another; cases interleave within a phase and ratios compare
        /// rows of the same phase.
        public var phase = 1
        /// hdf5 and existing: threads compressed chunks are decoded on (one per core).
        public var decodeThreads: Int?
        /// hdf5 and existing: bytes of decoded chunks an epoch keeps at most (a quarter of memory).
        public var decodedCacheBytes: Int?

        /// The layout in words, for the CSV's `layout` column (an existing source's layout is
        /// described when it is opened).
        public var layout: String {
            switch kind {
            case .hdf5:
                var parts = ["\(writer.files) file\(writer.files == 1 ? "" : "s")", writer.chunkRows.map { "chunk \($0)" } ?? "contiguous"]
                if writer.shuffle { parts.append("shuffle") }
                if writer.compression != .none { parts.append(writer.compression.description.replacingOccurrences(of: ":", with: " ")) }
                if writer.fletcher32 { parts.append("fletcher32") }
                if readPath == .library { parts.append("H5Dread") }
                if let encoding = writer.encoding {
                    return "\(writer.files) file\(writer.files == 1 ? "" : "s"), \(encoding.description.replacingOccurrences(of: ":", with: " ")) images, \(writer.encodedLayout.rawValue)"
                }
                return parts.joined(separator: ", ")
            case .lmdb:
                var parts = [writer.encoding.map { "Datum records, \($0.description.replacingOccurrences(of: ":", with: " ")) images" } ?? "Datum records"]
                if decoder == .swiftProtobuf { parts.append("swift-protobuf") }
                if readahead == .off { parts.append("no read-ahead") }
                return parts.joined(separator: ", ")
            case .raw: return "flat file"
            case .memory: return "float32 in RAM"
            case .existing: return "as stored"
            }
        }
    }

    /// The Python peers that read the same files (or train the same network).
    public enum Peer: String, Sendable, CaseIterable {
        /// h5py on every HDF5 layout: slicing for sequential epochs, sorted fancy indexing
        /// for shuffled ones, chunk slices for chunk-shuffle.
        case h5py
        /// h5py one sample at a time (a `Dataset.__getitem__` loop), shuffled epochs.
        case h5pyGetitem = "h5py-getitem"
        /// py-lmdb and protobuf on every LMDB layout.
        case pyLMDB = "py-lmdb"
        /// PyTorch's training step of the same MLP.
        case torch
        /// DLIO (MLPerf Storage's benchmark) running the same accelerator profile on its own
        /// HDF5 files of the same sample size (emulate mode).
        case dlio
    }

    public var experiment: String
    public var datasets: [DataSet]
    public var backends: [Backend]
    public var orders: [SampleOrder] = [.sequential, .shuffle]
    public var caches: [CacheState] = [.warm]
    public var batchSizes = [128]
    public var prefetch = [4]
    public var modes: [BenchmarkMode] = [.read, .train]
    public var repeats = 3
    public var warmup = 1
    /// Each case reads one epoch per round, rounds in a seeded shuffled case order, so drift in
    /// the machine's speed falls on every case alike. Otherwise each case runs its epochs in turn.
    public var interleave = false
    public var hidden = [512]
    /// `network: {spec: PATH}`: train this network spec instead of the MLP (its path as
    /// written, relative to the working directory).
    public var networkSpec: NetworkSpec?
    public var networkSpecPath: String?
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    /// The peers to run (those whose packages are missing are skipped with a note).
    public var peers: [Peer] = Peer.allCases
    /// Samples a peer reads per epoch at most (slow readers are cut short, and their rows
    /// say how many samples they read).
    public var peerSamples = 20_000
    /// Where generated layouts are kept between runs.
    public var dataDirectory = ".bench-data"
    /// The config as written (copied beside the results).
    public var text = ""
    /// Emulate mode: the accelerator profile and how it is emulated.
    public var accelerators: EmulationSettings?
    /// How encoded images are decoded into batches (Caffe's transform_param): `transform:
    /// {resize: [H, W], crop_size: N, mirror: true, mean_value: [..]}`; crops are random in
    /// FeedBench's reads (as in training), centred in the peers'.
    public var transform = ImageTransform.none

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
        text = yaml
        try Self.checkKeys(top, "", ["experiment", "dataset", "datasets", "backends", "orders", "cache", "batch_sizes", "prefetch",
                                     "modes", "repeats", "warmup", "interleave", "network", "peers", "peer_samples", "data_dir",
                                     "accelerators", "transform"])
        if let n = top["transform"] { transform = try Self.transform(n) }
        experiment = top["experiment"]?.string ?? "experiment"
        if let n = top["accelerators"] { accelerators = try EmulationSettings.parse(n) }
        var sets: [DataSet] = []
        let profileShape = accelerators?.profile.sampleShape
        if let one = top["dataset"] { sets.append(try Self.dataSet(one, index: nil, defaultShape: profileShape)) }
        if let many = top["datasets"] {
            guard let list = many.sequence else { throw SpecError("'datasets' must be a list", at: many) }
            sets += try list.enumerated().map { try Self.dataSet($1, index: $0, defaultShape: profileShape) }
        }
        guard !sets.isEmpty else { throw SpecError("missing key 'dataset' (what to store and read)", at: root) }
        datasets = sets
        guard let backendList = top["backends"]?.sequence, !backendList.isEmpty else {
            throw SpecError("'backends' must be a non-empty list", at: top["backends"] ?? root)
        }
        backends = try backendList.enumerated().map { try Self.backend($1, index: $0) }
        if let n = top["orders"] { orders = try Self.list(n, "orders") { SampleOrder(rawValue: $0) } }
        if let n = top["cache"] { caches = try Self.list(n, "cache") { CacheState(rawValue: $0) } }
        if let n = top["modes"] {
            modes = try Self.list(n, "modes") { BenchmarkMode(rawValue: $0) }
        } else if accelerators != nil {
            modes = [.emulate]
        }
        if let n = top["batch_sizes"] { batchSizes = try Self.list(n, "batch_sizes") { Int($0).flatMap { $0 >= 1 ? $0 : nil } } }
        if let n = top["prefetch"] { prefetch = try Self.list(n, "prefetch") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } }
        if let n = top["repeats"] {
            repeats = try Self.integer(n, "repeats", minimum: 1)
            guard repeats <= 10_000 else { throw SpecError("'repeats' must be at most 10,000 (got \(repeats))", at: n) }
        }
        if let n = top["warmup"] { warmup = try Self.integer(n, "warmup", minimum: 0) }
        if let n = top["interleave"] { interleave = try Self.boolean(n, "interleave") }
        if let n = top["peer_samples"] { peerSamples = try Self.integer(n, "peer_samples", minimum: 1) }
        if let n = top["peers"] {
            if let b = n.bool {
                peers = b ? Peer.allCases : []
            } else {
                peers = try Self.list(n, "peers") { Peer(rawValue: $0) }
            }
        }
        if let n = top["data_dir"] {
            guard let s = n.string, !s.isEmpty else { throw SpecError("'data_dir' must be a folder", at: n) }
            dataDirectory = s
        }
        if let net = top["network"] {
            guard let fields = net.mapping else { throw SpecError("'network' must be {hidden or spec, learning_rate, momentum}", at: net) }
            try Self.checkKeys(fields, "network.", ["hidden", "spec", "learning_rate", "momentum"])
            if let v = fields["spec"] {
                guard fields["hidden"] == nil else { throw SpecError("network: give hidden (an MLP) or spec (a network spec file), not both", at: v) }
                guard let path = v.string, !path.isEmpty else { throw SpecError("network.spec must be the path of a network spec (YAML)", at: v) }
                do {
                    networkSpec = try NetworkSpec(contentsOf: URL(fileURLWithPath: path))
                } catch {
                    throw SpecError("network.spec: \(path): \(error)", at: v)
                }
                networkSpecPath = path
            }
            if let v = fields["hidden"] { hidden = try Self.list(v, "network.hidden") { Int($0).flatMap { $0 >= 1 ? $0 : nil } } }
            if let v = fields["learning_rate"] {
                guard let x = v.float, x > 0 else { throw SpecError("network.learning_rate must be a positive number", at: v) }
                learningRate = Float(x)
            }
            if let v = fields["momentum"] {
                guard let x = v.float, x >= 0, x < 1 else { throw SpecError("network.momentum must be in [0, 1)", at: v) }
                momentum = Float(x)
            }
        }
        // Combinations that cannot run.
        if modes.contains(.emulate) {
            guard let accelerators else {
                throw SpecError("mode 'emulate' needs an 'accelerators' section (a profile: \(AcceleratorProfile.presetNames.joined(separator: ", ")) or custom)",
                                at: top["modes"])
            }
            for set in datasets where set.source == nil {
                try accelerators.checkMemory(sampleElements: set.shape.reduce(1, *), at: top["accelerators"])
            }
        } else if accelerators != nil {
            throw SpecError("'accelerators' is set but 'modes' does not include emulate", at: top["modes"])
        }
        // Data in memory has no cold state: the matrix leaves its cold cases out (the memory
        // baseline of a cold case is its warm figure).
        for (i, b) in backends.enumerated() where b.kind == .existing && b.source == nil {
            guard datasets.allSatisfy({ $0.source != nil }) else {
                throw SpecError("backends[\(i)] '\(b.name)': format 'existing' reads a source as stored; give it 'source: SRC' or give every data set a source",
                                at: top["backends"])
            }
        }
        var names = Set<String>()
        for b in backends where !names.insert(b.name).inserted { throw SpecError("two backends are named '\(b.name)'", at: top["backends"]) }
        try checkMemory(at: root)
    }

    /// The memory a run holds at once, estimated before anything is written or read, for
    /// generated sets (a `source:` set is checked when it is loaded): the data the memory
    /// backend holds as float32 and write mode's copy in the stored type (uint8), plus the
    /// largest read-ahead ring (prefetch + 2 batches of float32). Above three quarters of
    /// the machine's memory the config is refused with the figures.
    func checkMemory(at node: Yams.Node) throws {
        let limit = SizeLimits.memory / 4 * 3
        let memoryBackends = backends.filter { $0.kind == .memory }.count
        for set in datasets where set.source == nil {
            let elements = set.shape.reduce(1, *)
            var parts: [(String, Int?)] = []
            if memoryBackends > 0 { parts.append(("the memory backend", SizeLimits.product([set.samples, elements, 4, memoryBackends]))) }
            if modes.contains(.write) { parts.append(("write mode's copy", SizeLimits.product([set.samples, elements]))) }
            parts.append(("read-ahead", SizeLimits.product([(prefetch.max() ?? 0) + 2, batchSizes.max() ?? 1, elements, 4])))
            let total = SizeLimits.sum(parts.map(\.1))
            guard let total, total <= limit else {
                let figures = parts.map { "\($0.0) \($0.1.map(SizeLimits.gib) ?? "more than 2⁶³ bytes")" }.joined(separator: ", ")
                throw SpecError("data set '\(set.name)' needs about \(total.map(SizeLimits.gib) ?? "more than 2⁶³ bytes") of memory (\(figures)), "
                                + "more than three quarters of the machine's \(SizeLimits.gib(SizeLimits.memory)); use fewer samples or leave out the memory backend and write mode", at: node)
            }
        }
    }

    // MARK: Parsing

    private static func transform(_ node: Yams.Node) throws -> ImageTransform {
        guard let fields = node.mapping else { throw SpecError("'transform' must be {resize, crop_size, mirror, mean_value}", at: node) }
        try checkKeys(fields, "transform.", ["resize", "crop_size", "mirror", "mean_value"])
        var t = ImageTransform()
        if let v = fields["resize"] {
            let sizes = try list(v, "transform.resize") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
            guard sizes.count == 2 else { throw SpecError("transform.resize must be [HEIGHT, WIDTH]", at: v) }
            t.resize = sizes
        }
        if let v = fields["crop_size"] {
            t.cropSize = try integer(v, "transform.crop_size", minimum: 1)
            t.randomCrop = true
        }
        if let v = fields["mirror"] { t.mirror = try boolean(v, "transform.mirror") }
        if let v = fields["mean_value"] {
            t.meanValues = try v.float.map { [Float($0)] } ?? list(v, "transform.mean_value") { Float($0).flatMap { $0.isFinite ? $0 : nil } }
        }
        do { try t.check(channels: t.meanValues.count == 1 ? 3 : max(t.meanValues.count, 1)) } catch { throw SpecError("transform: \(error)", at: node) }
        return t
    }

    private static func checkKeys(_ fields: Yams.Node.Mapping, _ prefix: String, _ known: [String]) throws {
        for (key, _) in fields where !known.contains(key.string ?? "") {
            throw SpecError("\(prefix)unknown key '\(key.string ?? "?")' (expected \(known.joined(separator: ", ")))", at: key)
        }
    }

    private static func dataSet(_ node: Yams.Node, index: Int?, defaultShape: [Int]?) throws -> DataSet {
        let key = index.map { "datasets[\($0)]" } ?? "dataset"
        guard let fields = node.mapping else { throw SpecError("'\(key)' must be {generate: {...}} or {source: SRC}", at: node) }
        try checkKeys(fields, "\(key): ", ["name", "generate", "source", "data_key", "label_key"])
        var set = DataSet(name: fields["name"]?.string ?? "data\(index.map { "\($0)" } ?? "")")
        if let v = fields["source"] {
            guard let s = v.string, !s.isEmpty else { throw SpecError("\(key).source must be a path", at: v) }
            set.source = s
        }
        set.keys = try keys(fields, key) ?? .caffe
        if let v = fields["generate"] {
            guard let g = v.mapping else { throw SpecError("\(key).generate must be {samples, shape, classes, seed, content}", at: v) }
            try checkKeys(g, "\(key).generate: ", ["samples", "shape", "classes", "seed", "content"])
            if let n = g["content"] {
                guard let c = n.string.flatMap(SampleContent.init(rawValue:)) else {
                    throw SpecError("\(key).generate.content must be \(SampleContent.allCases.map(\.rawValue).joined(separator: ", "))", at: n)
                }
                set.content = c
            }
            if let n = g["samples"] { set.samples = try integer(n, "\(key).generate.samples", minimum: 1) }
            if let n = g["shape"] { set.shape = try list(n, "\(key).generate.shape") { Int($0).flatMap { $0 >= 1 ? $0 : nil } } }
            if let n = g["classes"] { set.classes = try integer(n, "\(key).generate.classes", minimum: 1) }
            if let n = g["seed"] { set.seed = UInt64(try integer(n, "\(key).generate.seed", minimum: 0)) }
            if set.shape.isEmpty, let defaultShape { set.shape = defaultShape }  // the accelerator profile's sample
            guard set.samples >= 1, !set.shape.isEmpty else { throw SpecError("\(key).generate needs samples and shape", at: v) }
            // float32 as the largest it is stored: at most 1 TiB, counted without overflow.
            guard let bytes = SizeLimits.product([set.samples, 4] + set.shape), bytes <= 1 << 40 else {
                throw SpecError("\(key).generate: \(set.samples) samples of shape \(describe(shape: set.shape)) are more than 1 TiB", at: v)
            }
        }
        guard (set.source == nil) != set.shape.isEmpty else { throw SpecError("\(key) needs exactly one of generate and source", at: node) }
        return set
    }

    private static func keys(_ fields: Yams.Node.Mapping, _ key: String) throws -> DatasetKeys? {
        guard fields["data_key"] != nil || fields["label_key"] != nil else { return nil }
        var keys = DatasetKeys.caffe
        if let v = fields["data_key"] {
            guard let s = v.string, !s.isEmpty else { throw SpecError("\(key).data_key must be a dataset name", at: v) }
            keys.data = s
        }
        if let v = fields["label_key"] {
            guard let s = v.string, !s.isEmpty else { throw SpecError("\(key).label_key must be a dataset name", at: v) }
            keys.label = s
        }
        return keys
    }

    private static func backend(_ node: Yams.Node, index: Int) throws -> Backend {
        let key = "backends[\(index)]"
        guard let fields = node.mapping else { throw SpecError("\(key) must be {name, format, …}", at: node) }
        guard let formatNode = fields["format"], let formatName = formatNode.string else {
            throw SpecError("\(key) has no format (\(Backend.Kind.allCases.map(\.rawValue).joined(separator: ", ")))", at: node)
        }
        guard let kind = Backend.Kind(rawValue: formatName) else {
            throw SpecError("\(key): unknown format '\(formatName)' (expected \(Backend.Kind.allCases.map(\.rawValue).joined(separator: ", ")))", at: formatNode)
        }
        var b = Backend(name: fields["name"]?.string ?? formatName, kind: kind)
        let applies: [String: [Backend.Kind]] = [
            "files": [.hdf5], "chunk": [.hdf5], "compression": [.hdf5], "read": [.hdf5], "shuffle": [.hdf5], "fletcher32": [.hdf5],
            "decoder": [.lmdb], "readahead": [.lmdb], "dtype": [.hdf5, .lmdb, .raw],
            "source": [.existing], "data_key": [.existing], "label_key": [.existing],
            "decode_threads": [.hdf5, .lmdb, .existing], "decoded_cache_mib": [.hdf5, .existing],
            "encode": [.hdf5, .lmdb], "encoded_layout": [.hdf5],
        ]
        let known = ["name", "format", "phase"] + applies.keys.sorted()
        for (k, _) in fields {
            let name = k.string ?? ""
            guard known.contains(name) else {
                throw SpecError("\(key): unknown key '\(name)' (expected \(known.joined(separator: ", ")))", at: k)
            }
            if let kinds = applies[name], !kinds.contains(kind) {
                throw SpecError("\(key) '\(b.name)': '\(name)' applies to \(kinds.map(\.rawValue).joined(separator: " and ")) only, not \(formatName)", at: k)
            }
        }
        if let v = fields["files"] { b.writer.files = try integer(v, "\(key).files", minimum: 1) }
        if let v = fields["chunk"] { b.writer.chunkRows = try integer(v, "\(key).chunk", minimum: 1) }
        if let v = fields["dtype"] {
            guard let t = v.string.flatMap(StoredType.init(rawValue:)), t.isWritable else {
                throw SpecError("\(key).dtype must be uint8 or float32", at: v)
            }
            b.writer.type = t
        }
        if let v = fields["compression"] {
            do { b.writer.compression = try Compression(parsing: v.string ?? "") } catch let e as DataSourceError {
                throw SpecError("\(key).compression: \(e.description.replacingOccurrences(of: "--compression: ", with: ""))", at: v)
            }
        }
        if let v = fields["shuffle"] { b.writer.shuffle = try boolean(v, "\(key).shuffle") }
        if let v = fields["fletcher32"] { b.writer.fletcher32 = try boolean(v, "\(key).fletcher32") }
        if let v = fields["encode"] {
            guard let encoding = v.string.flatMap(ImageEncoding.init(parsing:)) else { throw SpecError("\(key).encode must be jpeg, jpeg:QUALITY (1–100) or png", at: v) }
            guard !b.writer.filtered, b.writer.chunkRows == nil else { throw SpecError("\(key): encoded images are stored already compressed; chunk, compression, shuffle and fletcher32 do not apply", at: v) }
            b.writer.encoding = encoding
        }
        if let v = fields["encoded_layout"] {
            guard let layout = v.string.flatMap(WriterOptions.EncodedLayout.init(rawValue:)) else { throw SpecError("\(key).encoded_layout must be vlen or offsets", at: v) }
            guard b.writer.encoding != nil else { throw SpecError("\(key).encoded_layout needs encode", at: v) }
            b.writer.encodedLayout = layout
        }
        if b.writer.filtered && b.writer.chunkRows == nil { b.writer.chunkRows = 64 }
        if let v = fields["read"] {
            guard let s = v.string, ["auto", "h5dread"].contains(s) else { throw SpecError("\(key).read must be auto or h5dread", at: v) }
            b.readPath = s == "h5dread" ? .library : .auto
        }
        if let v = fields["decoder"] {
            guard let d = v.string.flatMap(LMDBSource.Decoder.init(rawValue:)) else {
                throw SpecError("\(key).decoder must be \(LMDBSource.Decoder.allCases.map(\.rawValue).joined(separator: " or "))", at: v)
            }
            b.decoder = d
        }
        if let v = fields["readahead"] {
            if let on = v.bool { b.readahead = on ? .on : .off } else {
                guard let r = v.string.flatMap(LMDBSource.Readahead.init(rawValue:)) else { throw SpecError("\(key).readahead must be on or off", at: v) }
                b.readahead = r
            }
        }
        if let v = fields["source"] {
            guard let s = v.string, !s.isEmpty else { throw SpecError("\(key).source must be a path", at: v) }
            b.source = s
        }
        b.keys = try keys(fields, key)
        if let v = fields["phase"] { b.phase = try integer(v, "\(key).phase", minimum: 1) }
        if let v = fields["decode_threads"] { b.decodeThreads = try integer(v, "\(key).decode_threads", minimum: 1) }
        if let v = fields["decoded_cache_mib"] { b.decodedCacheBytes = try integer(v, "\(key).decoded_cache_mib", minimum: 0) << 20 }
        return b
    }

    private static func integer(_ node: Yams.Node, _ key: String, minimum: Int) throws -> Int {
        guard let v = node.int, v >= minimum else { throw SpecError("'\(key)' must be an integer ≥ \(minimum)", at: node) }
        return v
    }

    private static func boolean(_ node: Yams.Node, _ key: String) throws -> Bool {
        guard let v = node.bool else { throw SpecError("'\(key)' must be true or false", at: node) }
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
