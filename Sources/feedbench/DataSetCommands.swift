import ArgumentParser
import DataSources
import Experiments
import Foundation
import Graph

/// How a written set is stored (`generate` and `convert`).
struct LayoutOptions: ParsableArguments {
    @Option(help: "Number of HDF5 files the set is split into (a list file names them).")
    var files: Int = 1

    @Option(help: "Stored element type: uint8 or float32 (default: the source's, when it is one of these; else float32).")
    var dtype: StoredType?

    @Option(help: "HDF5: samples per chunk (chunked layout); contiguous when not given.")
    var chunk: Int?

    @Option(help: "HDF5: none, gzip[:LEVEL], lz4, zstd[:LEVEL] or blosc[:CODEC[:LEVEL]] (chunks of 64 samples when --chunk is not given).",
            transform: Compression.init(parsing:))
    var compression: Compression = .none

    @Flag(help: "HDF5: shuffle each chunk's bytes before compressing (HDF5's shuffle filter; Blosc's own for blosc).")
    var shuffle = false

    @Flag(help: "HDF5: store a Fletcher-32 checksum with every chunk (checked on reading).")
    var fletcher32 = false

    @Flag(help: "Replace an existing output of another kind (a file where an LMDB or raw folder goes).")
    var overwrite = false

    @Option(help: "LMDB and HDF5: store each sample as an encoded image, jpeg[:QUALITY] (default 90) or png; samples must be [1 or 3, H, W].",
            transform: { text in
                guard let encoding = ImageEncoding(parsing: text) else { throw ValidationError("--encode must be jpeg, jpeg:QUALITY (1–100) or png, got '\(text)'") }
                return encoding
            })
    var encode: ImageEncoding?

    @Option(help: "HDF5 with --encode: vlen (one variable-length uint8 row per image, as h5py's vlen_dtype) or offsets (one flat uint8 dataset and an offsets index).")
    var encodedLayout: WriterOptions.EncodedLayout = .vlen

    func validate() throws {
        guard files >= 1 else { throw ValidationError("--files must be at least 1") }
        if let dtype, !dtype.isWritable { throw ValidationError("--dtype must be uint8 or float32, got '\(dtype.rawValue)'") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1") }
    }

    var writerOptions: WriterOptions {
        var options = WriterOptions(files: files, type: dtype, chunkRows: chunk, compression: compression, shuffle: shuffle, fletcher32: fletcher32)
        options.overwrite = overwrite
        options.encoding = encode
        options.encodedLayout = encodedLayout
        return options
    }
}

/// Writes a source to a destination, with a progress line; prints what it wrote.
func writeSet(_ source: any DataSource, to destination: SourceLocation, layout: LayoutOptions) throws {
    let writer = try destination.writer(layout.writerOptions)
    let progress = ProgressLine("writing", total: source.sampleCount)
    let paths = try writer.write(source) { progress.update($0) }
    progress.finish()
    let what = "\(source.sampleCount) samples of shape \(describe(shape: source.sampleShape))"
    switch destination.kind {
    case .hdf5List: print("wrote \(what) to \(paths.count) file\(paths.count == 1 ? "" : "s") listed in \(destination.path)")
    case .hdf5File: print("wrote \(what) to \(destination.path)")
    case .lmdb, .raw: print("wrote \(what) to the \(destination.kind.rawValue) folder \(destination.path)")
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Write a seeded synthetic classification set.")

    @Option(help: "Number of samples.") var samples: Int
    @Option(help: "Sample shape, such as 3,32,32.") var shape: String
    @Option(help: "Number of classes.") var classes: Int = 10
    @Option(help: "Seed: the same seed writes the same values.") var seed: UInt64 = 1
    @Option(help: "What samples look like: noise (incompressible), digits (MNIST-like) or photos (patches of real photographs); default photos for 3×H×W images, digits for other images, noise for vectors.")
    var content: SampleContent?
    @Option(help: "Destination: a list file (.txt), an HDF5 file (.h5), lmdb:DIR or raw:DIR.")
    var to: DataSetArgument
    @OptionGroup var layout: LayoutOptions

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1") }
        _ = try parsedShape()
    }

    func parsedShape() throws -> [Int] {
        guard let dims = Int.positiveList(shape) else {
            throw ValidationError("--shape must be positive sizes separated by commas, such as 3,32,32; got '\(shape)'")
        }
        return dims
    }

    func run() throws {
        let shape = try parsedShape()
        let source = try SyntheticSource(samples: samples, shape: shape, classes: classes, seed: seed,
                                         content: content ?? .default(for: shape))
        try writeSet(source, to: to.location(), layout: layout)
    }
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Copy a data set from one backend or layout to another.")

    @Option(help: "Source: a list file, an HDF5 file, an LMDB or raw folder (hdf5:, lmdb:, raw: prefixes force the kind).")
    var from: DataSetArgument
    @Option(help: "Destination: a list file (.txt), an HDF5 file (.h5), lmdb:DIR or raw:DIR.")
    var to: DataSetArgument
    @Option(help: "Scale applied on reading (default: 1/255 for uint8, 1 otherwise); uint8 output stores value × 255.")
    var scale: Float?
    @OptionGroup var keys: KeyOptions
    @OptionGroup var layout: LayoutOptions
    @OptionGroup var images: ImageArguments

    func validate() throws {
        if let scale, !scale.isFinite { throw ValidationError("--scale must be a finite number, got \(scale)") }
    }

    func run() throws {
        let source = try from.location().open(keys: keys.keys, scale: scale, images: images.options(training: false))
        reportSkipped(source)
        try writeSet(source, to: to.location(), layout: layout)
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show what a file, list or LMDB holds (like h5ls / mdb_stat).")

    @Argument(help: "A list file, an HDF5 file, an LMDB or raw folder.")
    var source: DataSetArgument
    @OptionGroup var keys: KeyOptions
    @OptionGroup var images: ImageArguments

    func run() throws {
        let location = try source.location()
        // A training snapshot: its network, epoch, step, state and parameters.
        if location.kind == .hdf5File, let info = try? Snapshot.read(location.path) {
            Self.snapshotLines(location.path, info).forEach { print($0) }
            return
        }
        try Inspector.lines(for: location, keys: keys.keys, keysGiven: keys.given, images: images.options(training: false)).forEach { print($0) }
    }

    static func snapshotLines(_ path: String, _ info: SnapshotInfo) -> [String] {
        var lines = ["\(path): FeedBench snapshot, epoch \(info.epoch.map(String.init) ?? "?"), step \(info.step.map(String.init) ?? "?")"]
        if let r = info.resume {
            lines.append("training state: seed \(r.seed), \(r.order.rawValue), batch \(r.batchSize)\(r.dropLast ? ", drop last" : ""), position \(r.position), "
                         + "learning rate \(r.learningRate), momentum \(r.momentum), weight decay \(r.weightDecay); momentum buffers \(info.hasMomentum ? "kept" : "absent")")
        } else {
            lines.append("weights only (no training state: --resume starts momentum from zero)")
        }
        let count = info.parameters.reduce(0) { $0 + $1.shape.reduce(1, *) }
        lines.append("parameters (\(count) values):")
        for p in info.parameters { lines.append("  \(p.name)  \(describe(shape: p.shape))") }
        if let network = info.network {
            lines.append("network:")
            lines += network.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        }
        return lines
    }
}

/// `feedbench check-lmdb DIR` and `feedbench check-hdf5 FILE` (not listed): the open walk
/// alone — every LMDB record, or every variable-length row of an HDF5 file of encoded
/// images — run by the sources in a child process before the tool walks the file itself.
/// liblmdb trusts its file, and HDF5 1.10.8 reading the global heap of a corrupt
/// variable-length dataset copies past its buffers (`H5HG_read`, found by the fuzzer); a
/// crash then ends the child, not the run. Exit 0: the walk passed.
struct CheckLMDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-lmdb", shouldDisplay: false)
    @Argument var folder: String

    func run() throws {
        CheckLMDBCommand.endWithParent()
        LMDBSource.openCheck = nil
        // Every record's header is read; a resize target accepts images of any size.
        _ = try LMDBSource(path: folder, images: ImageOptions(transform: ImageTransform(resize: [1, 1]), walkOnly: true))
    }

    /// `LMDBSource.openCheck`: the walk of `folder`'s data.mdb in a child process.
    static func inChildProcess(_ folder: String) throws {
        try childCheck(["check-lmdb", folder], file: (folder as NSString).appendingPathComponent("data.mdb"), library: "liblmdb")
    }

    /// Runs `arguments` in a child process once per file as it is (device, inode, size,
    /// modification time); a child killed by a signal (or ending with the crash line's code)
    /// means `file` is corrupt. Other failures are left for this process's own walk to report
    /// in its words.
    static func childCheck(_ arguments: [String], file: String, library: String) throws {
        var info = stat()
        let identity = stat(file, &info) == 0 ? "\(arguments[0]):\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)" : nil
        if let identity, checked.withLock({ $0.contains(identity) }) { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["FEEDBENCH_BACKTRACE"] = nil
        // Not an MPI rank: the child must not try to join the parent's job.
        for key in environment.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("PMI_") { environment[key] = nil }
        process.environment = environment
        try process.run()
        // A library can also loop forever on a corrupt file (libhdf5 1.10.8 does in H5HG_read,
        // found by the fuzzer): the check has 10 s plus one per 20 MB of the file.
        let size = Double(info.st_size)
        let limit = 10 + size / 20e6
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw DataSourceError(file, "corrupt: reading it did not finish within \(Int(limit)) s in a check before use (\(library) looping on it?)")
        }
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            throw DataSourceError(file, "corrupt: reading it crashed \(library) (signal \(process.terminationStatus)) in a check before use")
        }
        if process.terminationStatus == 70 {
            throw DataSourceError(file, "corrupt: reading it crashed \(library) in a check before use")
        }
        if process.terminationStatus == 0, let identity { checked.withLock { _ = $0.insert(identity) } }
    }

    /// In a check's child process: end when the parent does (a parent killed while waiting
    /// must not leave a child looping on a corrupt file).
    static func endWithParent() {
        let parent = getppid()
        Thread.detachNewThread {
            while getppid() == parent { usleep(100_000) }
            _exit(1)
        }
    }

    /// The checks (command and file identity) that passed.
    private static let checked = LockedSet()
}

/// `feedbench check-hdf5 FILE` (not listed): reads every variable-length row of one HDF5
/// file of encoded images (see `CheckLMDBCommand`).
struct CheckHDF5Command: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-hdf5", shouldDisplay: false)
    @Argument var file: String
    @Option var dataKey = "data"
    @Option var labelKey = "label"

    func run() throws {
        CheckLMDBCommand.endWithParent()
        EncodedHDF5Source.openCheck = nil
        _ = try EncodedHDF5Source(path: file, keys: DatasetKeys(data: dataKey, label: labelKey),
                                  images: ImageOptions(transform: ImageTransform(resize: [1, 1]), walkOnly: true))
    }

    /// `EncodedHDF5Source.openCheck`: the walk of one file in a child process.
    static func inChildProcess(_ file: String, _ keys: DatasetKeys) throws {
        try CheckLMDBCommand.childCheck(["check-hdf5", file, "--data-key", keys.data, "--label-key", keys.label], file: file, library: "libhdf5")
    }
}

/// A set of strings behind a lock.
final class LockedSet: @unchecked Sendable {
    private var items = Set<String>()
    private let lock = NSLock()
    func withLock<T>(_ body: (inout Set<String>) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&items)
    }
}

extension WriterOptions.EncodedLayout: ExpressibleByArgument {}

/// Says how many undecodable images `--skip-bad` left out, and the first one's problem.
func reportSkipped(_ source: any DataSource) {
    let (count, first): (Int, String?) = switch source {
    case let lmdb as LMDBSource: (lmdb.skippedImages, lmdb.firstSkippedImage)
    case let hdf5 as EncodedHDF5Source: (hdf5.skippedImages, hdf5.firstSkippedImage)
    default: (0, nil)
    }
    guard count > 0 else { return }
    FileHandle.standardError.write(Data("skipped \(count) image\(count == 1 ? "" : "s") that do not decode (the first: \(first ?? "?"))\n".utf8))
}
