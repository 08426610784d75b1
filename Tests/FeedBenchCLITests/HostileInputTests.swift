import DataSources
import Foundation
import HDF5
import Testing
import TestSupport

/// Outputs never replace what is not theirs, inputs are read from regular files only, and
/// labels cannot size a network: each case one line and a non-zero exit, never a hang.
@Suite struct HostileInputTests {
    let dir = makeTemporaryDirectory().path

    func fifo(_ path: String) throws {
        #expect(mkfifo(path, 0o644) == 0, "mkfifo \(path)")
    }

    func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// A device, FIFO or socket is never replaced (checked without writing: the check runs
    /// before anything is renamed).
    @Test func specialFilesAreNeverReplaced() throws {
        #expect(errorText { try AtomicFile.checkReplaceable("/dev/null", as: .file) } == "/dev/null: is a device, not a file: refusing to write over it")
        #expect(errorText { try AtomicFile.checkReplaceable("/dev/null", as: .folder, overwrite: true) }.contains("is a device"))
        let pipe = "\(dir)/pipe"
        try fifo(pipe)
        for arguments in [["train", "--train", "datasets/digits/train.txt", "--hidden", "8", "--epochs", "1", "--log", pipe],
                          ["train", "--train", "datasets/digits/train.txt", "--hidden", "8", "--epochs", "1", "--snapshot", pipe],
                          ["convert", "--from", "datasets/digits/test.txt", "--to", "hdf5:\(pipe)"],
                          ["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(pipe)"],
                          ["convert", "--from", "datasets/digits/test.txt", "--to", "lmdb:\(pipe)"]] {
            let run = try FeedBenchProcess(arguments)
            #expect(run.status == 1, "\(arguments)")
            #expect(run.stderr == "Error: \(pipe): is a FIFO, not a file: refusing to write over it\n", "\(arguments): \(run.stderr)")
            #expect(kind(pipe) == S_IFIFO, "\(arguments) replaced the FIFO")
        }
    }

    /// `convert --to lmdb:good.h5` must not turn an HDF5 file into an LMDB folder.
    @Test func aFileIsNotReplacedByAFolderWithoutOverwrite() throws {
        let good = "\(dir)/good.h5"
        try FileManager.default.copyItem(atPath: "datasets/digits/test-000.h5", toPath: good)
        for kind in ["lmdb", "raw"] {
            let run = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "\(kind):\(good)"])
            #expect(run.status == 1)
            #expect(run.stderr == "Error: \(good): is an existing file; writing a folder there would delete it (give --overwrite to replace it)\n")
            #expect(self.kind(good) == S_IFREG)
        }
        let forced = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "lmdb:\(good)", "--overwrite"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(kind(good) == S_IFDIR)
    }

    /// A FIFO where an input file goes: one line, no blocked open.
    @Test func aFIFOIsNotAnInput() throws {
        try fifo("\(dir)/x.h5")
        try fifo("\(dir)/list.txt")
        try FileManager.default.createDirectory(atPath: "\(dir)/env", withIntermediateDirectories: true)
        try fifo("\(dir)/env/data.mdb")
        let raw = "\(dir)/raw"
        let copy = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(raw)"])
        #expect(copy.status == 0, "\(copy.stderr)")
        try FileManager.default.removeItem(atPath: "\(raw)/data.bin")
        try fifo("\(raw)/data.bin")
        for (source, expected) in [("\(dir)/x.h5", "\(dir)/x.h5: is a FIFO, not an HDF5 file"), ("\(dir)/list.txt", "\(dir)/list.txt: is a FIFO, not a file"),
                                   ("lmdb:\(dir)/env", "data.mdb is not a regular file"), ("raw:\(raw)", "\(raw)/data.bin: is a FIFO, not a file")] {
            let run = try FeedBenchProcess(["inspect", source])
            #expect(run.status == 1, "\(source)")
            #expect(run.stderr.contains(expected) && run.stderr.split(separator: "\n").count == 1, "\(source): \(run.stderr)")
        }
    }

    /// A label of 1e19 does not become a billion-class output layer (nor a trap).
    @Test func hugeLabelsAreNotClassIndices() throws {
        #expect(ClassLabels.count(maxLabel: 1e19, allIntegral: true) == nil)
        #expect(ClassLabels.count(maxLabel: 2_147_483_647, allIntegral: true) == nil)
        #expect(ClassLabels.count(maxLabel: 65_535, allIntegral: true) == 65_536)
        #expect(ClassLabels.count(maxLabel: 9, allIntegral: false) == nil)
    }
}

/// A crash is one line and exit code 70, not a page of backtrace; gradcheck fails on NaN.
@Suite struct CrashLineTests {
    @Test func aCrashIsOneLine() throws {
        let process = Process()
        process.executableURL = FeedBenchProcess.executable
        process.arguments = ["train", "--train", "datasets/digits/train.txt", "--hidden", "64", "--epochs", "100000"]
        process.currentDirectoryURL = FeedBenchProcess.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)  // training by now
        kill(process.processIdentifier, SIGSEGV)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 70)
        #expect(text.split(separator: "\n").count == 1 && text.hasPrefix("feedbench: internal error (SIGSEGV)"), "\(text)")
    }

    @Test func gradcheckFailsOnNaN() throws {
        let path = makeTemporaryDirectory().appendingPathComponent("nan.yaml").path
        try "inputs: {x: [2]}\nparams: {W: {shape: [2, 2], init: \"constant:nan\"}}\nnodes:\n  - {name: h, op: dense, inputs: [x, W]}\n  - {name: loss, op: l2, inputs: [h]}\nloss: loss\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let run = try FeedBenchProcess(["gradcheck", path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("max rel error inf") && run.stdout.contains("0 passed, 2 failed"), "\(run.stdout)")
    }
}

/// A file truncated while an epoch reads it through a mapping: one line naming the file, not
/// SIGBUS (raw and contiguous HDF5 both read mapped files).
@Suite(.serialized) struct TruncatedWhileReadingTests {
    @Test(arguments: ["raw", "hdf5"])
    func truncationIsAnErrorNamingTheFile(kind: String) throws {
        let dir = makeTemporaryDirectory().path
        let destination = kind == "raw" ? "raw:\(dir)/set" : "\(dir)/set.h5"
        let made = try FeedBenchProcess(["generate", "--samples", "20000", "--shape", "3,32,32", "--content", "noise", "--dtype", "uint8", "--to", destination])
        #expect(made.status == 0, "\(made.stderr)")
        let file = kind == "raw" ? "\(dir)/set/data.bin" : "\(dir)/set.h5"
        let process = Process()
        process.executableURL = FeedBenchProcess.executable
        process.arguments = ["train", "--train", destination, "--hidden", "8", "--epochs", "100000", "--classes", "10"]
        process.currentDirectoryURL = FeedBenchProcess.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 2)  // reading epochs by now
        #expect(truncate(file, 4096) == 0)
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(text)")
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains(file) && last.contains("became shorter"), "\(text.suffix(400))")
    }
}

/// Sizes from options and files are counted without overflow and refused when the machine
/// cannot hold them: one line, exit 1 (64 for a bad option), never a trap or an abort.
@Suite struct SizeLimitTests {
    @Test(arguments: [
        (["generate", "--samples", "10", "--shape", "4294967296,4294967296,4", "--to", "/tmp/never.h5"], "holds more than 2147483648 values per sample"),
        (["train", "--train", "datasets/digits/train.txt", "--hidden", "100000000", "--epochs", "1"], "parameters need more than the machine's"),
        (["train", "--train", "datasets/digits/train.txt", "--hidden", "8", "--classes", "9223372036854775807", "--epochs", "1"], "more parameters than can be counted"),
        (["train", "--train", "datasets/digits/train.txt", "--hidden", "8", "--batch-size", "100000000000", "--epochs", "1"], "use a smaller --batch-size or --prefetch"),
        (["train", "--train", "datasets/digits/train.txt", "--hidden", "8", "--prefetch", "1000000000"], "--prefetch must be between 0 and 1024"),
    ])
    func absurdSizesAreOneLine(arguments: [String], expected: String) throws {
        let run = try FeedBenchProcess(arguments)
        #expect(run.status == 1 || run.status == 64, "\(arguments): \(run.status)")
        #expect(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
        #expect(!run.stderr.contains("internal error"))
    }

    @Test func corruptRawShapeIsOneLine() throws {
        let dir = makeTemporaryDirectory().path
        let made = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(dir)/set"])
        #expect(made.status == 0, "\(made.stderr)")
        try #"{"samples": 360, "shape": [100000, 100000, 100000], "dtype": "uint8"}"#.write(toFile: "\(dir)/set/meta.json", atomically: true, encoding: .utf8)
        let run = try FeedBenchProcess(["inspect", "raw:\(dir)/set"])
        #expect(run.status == 1)
        #expect(run.stderr == "Error: \(dir)/set/meta.json: 360 samples of shape [100000, 100000, 100000] are too large to read (a corrupt meta.json?)\n", "\(run.stderr)")
    }

    @Test func absurdBenchConfigsAreRefused() throws {
        let dir = makeTemporaryDirectory().path
        for (text, expected) in [
            ("dataset: {name: s, generate: {samples: 10000000000, shape: [3, 224, 224]}}\nbackends: [{name: raw, format: raw}]\n", "are more than 1 TiB"),
            ("dataset: {name: s, generate: {samples: 10, shape: [4]}}\nbackends: [{name: raw, format: raw}]\nrepeats: 1000000000000\n", "'repeats' must be at most 10,000"),
            // 60 GB as float32 in RAM: refused before anything is generated.
            ("dataset: {name: s, generate: {samples: 100000, shape: [3, 224, 224]}}\nbackends: [{name: mem, format: memory}]\n", "of memory (the memory backend 56.1 GiB, read-ahead"),
        ] {
            try ("experiment: x\n" + text).write(toFile: "\(dir)/c.yaml", atomically: true, encoding: .utf8)
            let run = try FeedBenchProcess(["bench", "\(dir)/c.yaml", "--out", "\(dir)/out"])
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
        }
    }
}

/// `data` as an external link to another file's contiguous dataset: read through HDF5, so the
/// samples are the linked dataset's (the direct path used to map the linking file at the
/// target's offset and return unrelated bytes, exit 0).
@Test func externalLinkReadsTheLinkedData() throws {
    let dir = makeTemporaryDirectory().path
    let target = "\(dir)/target.h5", linking = "\(dir)/linking.h5"
    let made = try FeedBenchProcess(["generate", "--samples", "64", "--shape", "1,8,8", "--dtype", "uint8", "--seed", "9", "--to", target])
    #expect(made.status == 0, "\(made.stderr)")
    // The linking file: its own bytes first (so a wrong offset reads them), a label, and the link.
    let file = try File.create(linking)
    let filler = try file.root.createDataset("filler", type: .uint8, shape: [4096])
    let noise = [UInt8](repeating: 0xAB, count: 4096)
    try noise.withUnsafeBufferPointer { try filler.write(rows: 0..<4096, from: $0.baseAddress!, as: .uint8) }
    try filler.close()
    let label = try file.root.createDataset("label", type: .float32, shape: [64])
    let labels = [Float](repeating: 1, count: 64)
    try labels.withUnsafeBufferPointer { try label.write(rows: 0..<64, from: $0.baseAddress!, as: .float32) }
    try label.close()
    try file.root.createExternalLink("data", toFile: target, object: "/data")
    try file.close()
    for (source, out) in [(target, "a"), (linking, "b")] {
        let run = try FeedBenchProcess(["convert", "--from", source, "--to", "raw:\(dir)/\(out)"])
        #expect(run.status == 0, "\(run.stderr)")
    }
    let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a/data.bin")), b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/b/data.bin"))
    #expect(a.count == 64 * 64 && a == b, "the linked samples differ from the target's")
}

/// A partial output left by a process that no longer runs (SIGKILL during a write) is
/// removed by the next write of the same name; one of a running process is left alone.
@Test func stalePartialOutputsAreRemoved() throws {
    let dir = makeTemporaryDirectory().path
    // A PID no process has: past the kernel's pid_max.
    let dead = "\(dir)/.set.h5.partial-2147483000", alive = "\(dir)/.set.h5.partial-1"
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dead))
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: alive))
    let run = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "\(dir)/set.h5"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(FileManager.default.fileExists(atPath: alive))  // PID 1 runs
    #expect(FileManager.default.fileExists(atPath: "\(dir)/set.h5"))
}

/// Messages name the file: an empty results.csv, a log that cannot be written, an empty set.
@Test func messagesNameTheFile() throws {
    let dir = makeTemporaryDirectory().path
    try Data().write(to: URL(fileURLWithPath: "\(dir)/results.csv"))
    let report = try FeedBenchProcess(["report", "\(dir)/results.csv"])
    #expect(report.status == 1)
    #expect(report.stderr.hasPrefix("Error: \(dir)/results.csv: empty, or not a CSV file with a header row"), "\(report.stderr)")
    let log = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--hidden", "4", "--epochs", "1", "--log", "/proc/feedbench-log.csv"])
    #expect(log.status == 1)
    #expect(log.stderr.hasPrefix("Error: /proc/feedbench-log.csv: cannot write"), "\(log.stderr)")
    // A set with no samples.
    let file = try File.create("\(dir)/empty.h5")
    try file.root.createDataset("data", type: .uint8, shape: [0, 4]).close()
    try file.root.createDataset("label", type: .float32, shape: [0]).close()
    try file.close()
    let empty = try FeedBenchProcess(["train", "--train", "\(dir)/empty.h5", "--hidden", "4", "--epochs", "1"])
    #expect(empty.status == 1)
    #expect(empty.stderr == "Error: \(dir)/empty.h5: holds no samples\n", "\(empty.stderr)")
}

/// Ctrl-C during a write removes the partial output (a file or a folder) and ends with 130.
@Suite(.serialized) struct InterruptTests {
    @Test(arguments: ["raw", "lmdb", "hdf5"])
    func anInterruptedWriteLeavesNothing(kind: String) throws {
        let dir = makeTemporaryDirectory().path
        let process = Process()
        process.executableURL = FeedBenchProcess.executable
        process.arguments = ["generate", "--samples", "2000000", "--shape", "3,32,32", "--to", "\(kind):\(dir)/set"]
        process.currentDirectoryURL = FeedBenchProcess.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func partials() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".partial-") } }
        let start = Date()
        while partials().isEmpty && Date().timeIntervalSince(start) < 30 && process.isRunning { usleep(50_000) }
        usleep(300_000)  // some samples written
        #expect(!partials().isEmpty, "no partial output appeared")
        kill(process.processIdentifier, SIGINT)
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(text)")
        #expect(text.hasPrefix("feedbench: interrupted; removed the partial output \(dir)/.set"), "\(text)")
        #expect(partials().isEmpty && !FileManager.default.fileExists(atPath: "\(dir)/set"), "\(partials())")
    }
}

/// A virtual dataset reads its sources' rows; with a source file (or its dataset) missing it
/// is an error naming the source, not rows of fill values and exit 0.
@Test func virtualDatasetsNeedTheirSources() throws {
    let dir = makeTemporaryDirectory().path
    for (name, seed) in [("a", "1"), ("b", "2")] {
        let made = try FeedBenchProcess(["generate", "--samples", "32", "--shape", "1,8,8", "--dtype", "uint8", "--seed", seed, "--to", "\(dir)/\(name).h5"])
        #expect(made.status == 0, "\(made.stderr)")
    }
    let file = try File.create("\(dir)/vds.h5")
    try file.root.createVirtualDataset("data", type: .uint8, shape: [64, 1, 8, 8], sources: [
        .init(file: "a.h5", dataset: "/data", rows: 32, at: 0), .init(file: "b.h5", dataset: "/data", rows: 32, at: 32)]).close()
    try file.root.createVirtualDataset("label", type: .float32, shape: [64], sources: [
        .init(file: "a.h5", dataset: "/label", rows: 32, at: 0), .init(file: "b.h5", dataset: "/label", rows: 32, at: 32)]).close()
    try file.close()
    for (source, out) in [("\(dir)/vds.h5", "v"), ("\(dir)/a.h5", "a"), ("\(dir)/b.h5", "b")] {
        let run = try FeedBenchProcess(["convert", "--from", source, "--to", "raw:\(dir)/\(out)"])
        #expect(run.status == 0, "\(run.stderr)")
    }
    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)/data.bin")) }
    #expect(try bytes("v") == (try bytes("a")) + (try bytes("b")), "the virtual dataset's rows are not its sources'")
    try FileManager.default.removeItem(atPath: "\(dir)/b.h5")
    let missing = try FeedBenchProcess(["train", "--train", "\(dir)/vds.h5", "--hidden", "4", "--epochs", "1", "--classes", "10"])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("\(dir)/vds.h5") && missing.stderr.contains("source file b.h5 is missing")
            && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
}

/// Running a command again replaces its own output; a user's file of the same name (or an
/// output of another kind) is kept unless `--overwrite` is given.
@Test func onlyFeedBenchsOwnOutputsAreReplaced() throws {
    let dir = makeTemporaryDirectory().path
    let mine = "\(dir)/mine.h5", notes = "\(dir)/notes.csv"
    try FileManager.default.copyItem(atPath: "datasets/digits/test-000.h5", toPath: mine)  // HDF5, not written by FeedBench
    try "my,own,notes\n1,2,3\n".write(toFile: notes, atomically: true, encoding: .utf8)
    for (arguments, path) in [(["convert", "--from", "datasets/digits/test.txt", "--to", mine], mine),
                              (["train", "--train", "datasets/digits/test.txt", "--hidden", "4", "--epochs", "1", "--log", notes], notes),
                              (["train", "--train", "datasets/digits/test.txt", "--hidden", "4", "--epochs", "1", "--snapshot", mine], mine)] {
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let run = try FeedBenchProcess(arguments)
        #expect(run.status == 1, "\(arguments)")
        #expect(run.stderr.hasPrefix("Error: \(path): exists and is not") && run.stderr.hasSuffix("FeedBench wrote; give --overwrite to replace it\n"), "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(path) changed")
    }
    // Its own outputs: written twice without --overwrite.
    for arguments in [["convert", "--from", "datasets/digits/test.txt", "--to", "\(dir)/again.txt", "--files", "2"],
                      ["convert", "--from", "datasets/digits/test.txt", "--to", "lmdb:\(dir)/again-lmdb"],
                      ["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(dir)/again-raw"],
                      ["train", "--train", "datasets/digits/test.txt", "--hidden", "4", "--epochs", "1", "--log", "\(dir)/log.csv", "--snapshot", "\(dir)/w.h5"]] {
        for round in 1...2 {
            let run = try FeedBenchProcess(arguments)
            #expect(run.status == 0, "\(arguments) round \(round): \(run.stderr)")
        }
    }
    // An output of another kind: a raw folder is not written over an LMDB folder.
    let kind = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(dir)/again-lmdb"])
    #expect(kind.status == 1 && kind.stderr.contains("is an existing folder that is not a raw folder FeedBench wrote"), "\(kind.stderr)")
    let forced = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", mine, "--overwrite"])
    #expect(forced.status == 0, "\(forced.stderr)")
    // bench checks its output folder before it runs anything: a user's page is kept, a report
    // an earlier FeedBench wrote (its title) is FeedBench's own.
    try FileManager.default.createDirectory(atPath: "\(dir)/out", withIntermediateDirectories: true)
    try "<html><title>Mine</title></html>".write(toFile: "\(dir)/out/report.html", atomically: true, encoding: .utf8)
    let bench = try FeedBenchProcess(["bench", "benchmarks/default.yaml", "--out", "\(dir)/out"])
    #expect(bench.status == 1 && bench.stderr == "Error: \(dir)/out/report.html: exists and is not a file FeedBench wrote; give --overwrite to replace it\n", "\(bench.stderr)")
}
