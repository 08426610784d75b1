import DataSources
import Experiments
import Foundation
import Graph

/// Read throughput of the HDF5 list source against the raw baseline (same bytes, one flat
/// file, memory copy) and, with `--peers`, h5py on the same files: batch 128, float32 out,
/// warm page cache.
struct ReadBenchmark {
    var samples = 50_000
    var shape = [3, 32, 32]
    var files = 10
    var batch = 128
    var epochs = 3
    var peers = false
    var dataDirectory = ".bench-data"
    var output: String?
    /// Runs only the cases whose "backend, layout, order" text contains one of these
    /// `|`-separated patterns.
    var only: String?

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            func value() throws -> String {
                guard let v = rest.popFirst() else { throw BenchmarkError("\(flag) needs a value") }
                return v
            }
            func number() throws -> Int {
                let v = try value()
                guard let n = Int(v), n > 0 else { throw BenchmarkError("\(flag) needs a positive integer, got '\(v)'") }
                return n
            }
            switch flag {
            case "--samples": samples = try number()
            case "--shape": shape = try value().split(separator: ",").map { Int($0) ?? 0 }
            case "--files": files = try number()
            case "--batch": batch = try number()
            case "--epochs": epochs = try number()
            case "--peers": peers = true
            case "--data": dataDirectory = try value()
            case "--out": output = try value()
            case "--only": only = try value()
            default: throw BenchmarkError("unknown option \(flag)")
            }
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw BenchmarkError("--shape must be positive sizes like 3,32,32") }
    }

    struct Row {
        let backend: String, layout: String, order: SampleOrder, samplesPerSecond: Double
        var ratioToRaw: Double?
    }

    func run() throws {
        let root = "\(dataDirectory)/read-\(samples)x\(shape.map(String.init).joined(separator: "x"))-\(files)files"
        let sets = try prepare(root)
        warm(root)
        print("read benchmark: \(samples) samples of \(shape) uint8, \(files) files, batch \(batch), float32 out, warm cache, median of \(epochs) epochs")
        // Two phases, each with its own raw baseline: FeedBench's reads, then HDF5's own
        // H5Dread path for comparison. They are kept apart because the library path's heavy
        // allocation slows whatever runs next to it (seen as 0.8 × raw for reads that reach
        // 1.0 × without it).
        typealias Case = (backend: String, layout: String, order: SampleOrder, source: any DataSource)
        var main: [Case] = [], library: [Case] = []
        for order in SampleOrder.allCases where order != .fileShuffle {
            main.append(("raw", "flat file, mmap", order, try RawSource(path: sets.raw)))
            library.append(("raw", "flat file (H5Dread phase)", order, try RawSource(path: sets.raw)))
        }
        for order in [SampleOrder.sequential, .shuffle, .chunkShuffle] {
            main.append(("hdf5", "contiguous", order, try HDF5ListSource(path: sets.contiguous, batchSizeHint: batch)))
            library.append(("hdf5", "contiguous, H5Dread", order, try HDF5ListSource(path: sets.contiguous, readPath: .library, batchSizeHint: batch)))
        }
        for order in [SampleOrder.sequential, .shuffle, .chunkShuffle] {
            main.append(("lmdb", "Datum records", order, try LMDBSource(path: sets.lmdb)))
            library.append(("lmdb", "Datum, swift-protobuf", order, try LMDBSource(path: sets.lmdb, decoder: .swiftProtobuf)))
        }
        for order in [SampleOrder.shuffle, .chunkShuffle] {
            main.append(("hdf5", "chunk 64", order, try HDF5ListSource(path: sets.chunked, batchSizeHint: batch)))
            library.append(("hdf5", "chunk 64, H5Dread", order, try HDF5ListSource(path: sets.chunked, readPath: .library, batchSizeHint: batch)))
        }
        var rows: [Row] = []
        for (phase, cases) in [("FeedBench reads", main), ("library paths: HDF5's H5Dread, swift-protobuf decoding", library)] {
            print("\(phase):")
            var phaseRows = try measure(cases)
            for i in phaseRows.indices {
                if let raw = phaseRows.first(where: { $0.backend == "raw" && $0.order == phaseRows[i].order }) {
                    phaseRows[i].ratioToRaw = phaseRows[i].samplesPerSecond / raw.samplesPerSecond
                }
            }
            rows += phaseRows
        }
        main.removeAll()
        library.removeAll()
        rows += try coldLMDB(sets.lmdb)
        if peers {
            for (mode, order) in [("sequential", SampleOrder.sequential), ("shuffle", .shuffle)] {
                guard let rate = PythonPeer.samplesPerSecond(script: "py_lmdb_read.py", [sets.lmdb, "--mode", mode, "--batch", String(batch), "--epochs", "3"]) else {
                    print("  py-lmdb: skipped (python3 with lmdb, protobuf and numpy not found; `make peers` installs them)")
                    break
                }
                rows.append(Row(backend: "py-lmdb", layout: "Datum, protobuf", order: order, samplesPerSecond: rate))
                print(String(format: "  %-8@ %-22@ %-13@ %10.0f samples/s", "py-lmdb", "Datum, protobuf", order.rawValue as NSString, rate))
            }
            for readahead in [true, false] {
                var arguments = [sets.lmdb, "--mode", "shuffle", "--batch", String(batch), "--epochs", "1", "--cold"]
                if !readahead { arguments.append("--no-readahead") }
                guard let rate = PythonPeer.samplesPerSecond(script: "py_lmdb_read.py", arguments) else { break }
                let layout = "Datum, cold, readahead \(readahead ? "on" : "off")"
                rows.append(Row(backend: "py-lmdb", layout: layout, order: .shuffle, samplesPerSecond: rate))
                print(String(format: "  %-8@ %-22@ %-13@ %10.0f samples/s", "py-lmdb", layout as NSString, "shuffle", rate))
            }
            let cases: [(String, String, String, SampleOrder, Int)] = [
                ("slice", sets.contiguous, "contiguous", .sequential, 0),
                ("fancy", sets.contiguous, "contiguous", .shuffle, 0),
                ("fancy", sets.chunked, "chunk 64", .shuffle, min(samples, 10_000)),
                ("getitem", sets.chunked, "chunk 64", .shuffle, min(samples, 5_000)),
            ]
            for (mode, list, layout, order, limit) in cases {
                guard let rate = PythonPeer.samplesPerSecond(script: "h5py_read.py", [list, "--mode", mode, "--batch", String(batch),
                                                                                        "--epochs", "2", "--max-samples", String(limit)]) else {
                    print("  h5py: skipped (python3 with h5py and numpy not found; `make peers` installs them)")
                    break
                }
                rows.append(Row(backend: "h5py", layout: "\(layout), \(mode)", order: order, samplesPerSecond: rate))
                print(String(format: "  %-8@ %-22@ %-13@ %10.0f samples/s", "h5py", "\(layout), \(mode)" as NSString,
                             order.rawValue as NSString, rate))
            }
        }
        for i in rows.indices where rows[i].backend == "h5py" {
            if let raw = rows.first(where: { $0.backend == "raw" && $0.order == rows[i].order }) {
                rows[i].ratioToRaw = rows[i].samplesPerSecond / raw.samplesPerSecond
            }
        }
        print("\nratios to raw in the same phase and order (h5py: to the first phase's raw):")
        for r in rows where r.backend != "raw" && r.ratioToRaw != nil {
            print(String(format: "  %-8@ %-22@ %-13@ %.2f × raw", r.backend as NSString, r.layout as NSString,
                         r.order.rawValue as NSString, r.ratioToRaw ?? .nan))
        }
        if let h5pyChunked = rows.first(where: { $0.backend == "h5py" && $0.layout == "chunk 64, fancy" }),
           let ours = rows.first(where: { $0.backend == "hdf5" && $0.layout == "chunk 64" && $0.order == .shuffle }) {
            print(String(format: "  hdf5 chunk 64 shuffle: %.1f × h5py's sorted fancy indexing on the same files", ours.samplesPerSecond / h5pyChunked.samplesPerSecond))
        }
        if let h5pyItem = rows.first(where: { $0.backend == "h5py" && $0.layout == "chunk 64, getitem" }),
           let ours = rows.first(where: { $0.backend == "hdf5" && $0.layout == "chunk 64" && $0.order == .shuffle }) {
            print(String(format: "  hdf5 chunk 64 shuffle: %.1f × h5py's per-sample __getitem__ on the same files", ours.samplesPerSecond / h5pyItem.samplesPerSecond))
        }
        func compare(_ ours: (String, String, SampleOrder), _ theirs: (String, String, SampleOrder), _ label: String) {
            guard let a = rows.first(where: { $0.backend == ours.0 && $0.layout == ours.1 && $0.order == ours.2 }),
                  let b = rows.first(where: { $0.backend == theirs.0 && $0.layout == theirs.1 && $0.order == theirs.2 }) else { return }
            print(String(format: "  %@: %.1f × %@", label, a.samplesPerSecond / b.samplesPerSecond, theirs.0 + " " + theirs.1))
        }
        compare(("lmdb", "Datum records", .sequential), ("py-lmdb", "Datum, protobuf", .sequential), "lmdb sequential")
        compare(("lmdb", "Datum records", .shuffle), ("py-lmdb", "Datum, protobuf", .shuffle), "lmdb shuffle")
        compare(("lmdb", "Datum, cold, readahead on", .shuffle), ("py-lmdb", "Datum, cold, readahead on", .shuffle), "lmdb cold shuffle, readahead on")
        compare(("lmdb", "Datum, cold, readahead off", .shuffle), ("py-lmdb", "Datum, cold, readahead off", .shuffle), "lmdb cold shuffle, readahead off")
        if let output {
            let header = "backend,layout,order,batch_size,samples,samples_per_s,ratio_to_raw"
            let lines = rows.map { r in
                "\(r.backend),\"\(r.layout)\",\(r.order.rawValue),\(batch),\(samples),\(String(format: "%.1f", r.samplesPerSecond)),\(r.ratioToRaw.map { String(format: "%.4f", $0) } ?? "")"
            }
            try AtomicFile.write(to: output) { try ([header] + lines).joined(separator: "\n").appending("\n").write(toFile: $0, atomically: false, encoding: .utf8) }
            print("wrote \(output)")
        }
    }

    /// Reads one epoch of every case per round, in a new seeded order each round, so that
    /// drift in the machine's speed falls on all of them alike; reports median epochs.
    private func measure(_ cases: [(backend: String, layout: String, order: SampleOrder, source: any DataSource)]) throws -> [Row] {
        var cases = cases
        if let only {
            let patterns = only.split(separator: "|").map(String.init)
            cases = cases.filter { c in patterns.contains { "\(c.backend), \(c.layout), \(c.order.rawValue)".contains($0) } }
        }
        var rates = [[Double]](repeating: [], count: cases.count)
        var generator = SeededGenerator(seed: 7)
        for epoch in 0..<epochs {
            for i in cases.indices.shuffled(using: &generator) {
                let c = cases[i]
                let iterator = try c.source.makeIterator(EpochOptions(batchSize: batch, order: c.order, seed: UInt64(epoch + 1)))
                let start = ContinuousClock.now
                var count = 0
                while let b = try iterator.next() { count += b.count }
                let d = ContinuousClock.now - start
                rates[i].append(Double(count) / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
            }
        }
        return zip(cases, rates).map { c, r in
            let row = Row(backend: c.backend, layout: c.layout, order: c.order, samplesPerSecond: r.sorted()[r.count / 2])
            print(String(format: "  %-8@ %-22@ %-13@ %10.0f samples/s", row.backend as NSString, row.layout as NSString,
                         row.order.rawValue as NSString, row.samplesPerSecond))
            return row
        }
    }

    /// Cold LMDB epochs: the source is opened (which walks every record), then data.mdb is
    /// dropped from memory, its residency measured with mincore, one epoch read, and the
    /// residency measured again.
    private func coldLMDB(_ path: String) throws -> [Row] {
        print("cold LMDB epochs (residency of data.mdb before → after the epoch):")
        var rows: [Row] = []
        for (order, readahead) in [(SampleOrder.shuffle, LMDBSource.Readahead.on), (.shuffle, .off), (.sequential, .on), (.sequential, .off)] {
            let source = try LMDBSource(path: path, readahead: readahead)
            source.evictFromPageCache()
            let before = PageCache.residency(source.files)
            let iterator = try source.makeIterator(EpochOptions(batchSize: batch, order: order, seed: 1))
            let start = ContinuousClock.now
            var count = 0
            while let b = try iterator.next() { count += b.count }
            let d = ContinuousClock.now - start
            let rate = Double(count) / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            let after = PageCache.residency(source.files)
            let layout = "Datum, cold, readahead \(readahead.rawValue)"
            rows.append(Row(backend: "lmdb", layout: layout, order: order, samplesPerSecond: rate))
            print(String(format: "  %-8@ %-22@ %-13@ %10.0f samples/s   resident %.2f → %.2f", "lmdb", layout as NSString,
                         order.rawValue as NSString, rate, before, after))
        }
        return rows
    }

    /// Writes the layouts once; a stamp file marks a complete set.
    private func prepare(_ root: String) throws -> (contiguous: String, chunked: String, raw: String, lmdb: String) {
        let sets = (contiguous: "\(root)/contiguous/train.txt", chunked: "\(root)/chunk64/train.txt", raw: "\(root)/raw",
                    lmdb: "\(root)/lmdb")
        let stamp = "\(root)/complete"
        if FileManager.default.fileExists(atPath: stamp) { return sets }
        print("writing the benchmark data under \(root) (once)…")
        try? FileManager.default.removeItem(atPath: root)
        let source = try SyntheticSource(samples: samples, shape: shape, classes: 10, seed: 1)
        try HDF5SetWriter(options: .init(files: files, dtype: .uint8)).write(source, to: sets.contiguous)
        try HDF5SetWriter(options: .init(files: files, dtype: .uint8, chunkRows: 64)).write(source, to: sets.chunked)
        try RawSource.write(source, to: sets.raw, dtype: .uint8)
        try LMDBWriter.write(source, to: sets.lmdb, dtype: .uint8)
        FileManager.default.createFile(atPath: stamp, contents: Data())
        return sets
    }

    /// Reads every file once so that the page cache holds them.
    private func warm(_ root: String) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        for case let name as String in walker {
            let fd = open("\(root)/\(name)", O_RDONLY)
            guard fd >= 0 else { continue }
            while read(fd, buffer, 1 << 20) > 0 {}
            close(fd)
        }
    }
}
