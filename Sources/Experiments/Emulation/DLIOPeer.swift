import DataSources
import Foundation

/// DLIO (dlio_benchmark 2.0.0, MLPerf Storage's benchmark) running the same accelerator
/// profile on its own HDF5 files of the same sample size: one MPI rank per accelerator, the
/// PyTorch loader, the profile's batch size and compute time (`benchmarks/peers/dlio_run.py`
/// under `mpirun`). Its AU and throughput come from DLIO's own summary.json and per-rank
/// output, as DLIO computes them.
public final class DLIOPeer {
    /// The most ranks a DLIO search starts (each is a Python process with a PyTorch loader).
    public static let defaultLimit = 16
    /// Samples per DLIO file (a chunk of FeedBench's chunked layouts).
    static let samplesPerFile = 64

    private let launcher: URL

    private init(launcher: URL) { self.launcher = launcher }

    /// DLIO when it can run here, else why not (one line).
    public static func start() -> (peer: DLIOPeer?, reason: String?) {
        let launcher = PeerWorker.directory.appendingPathComponent("dlio_run.py")
        guard FileManager.default.fileExists(atPath: launcher.path) else {
            return (nil, "the peer scripts are not at \(PeerWorker.directory.path) (set FEEDBENCH_PEERS)")
        }
        guard which("mpirun") != nil else { return (nil, "mpirun is not installed (Debian: openmpi-bin)") }
        let check = run(["python3", "-c", "import dlio_benchmark, hydra, omegaconf, mpi4py, dftracer, torch, h5py"], timeout: 120)
        guard check.status == 0 else {
            let last = check.output.split(separator: "\n").last.map(String.init) ?? "python3 failed"
            return (nil, "DLIO cannot be imported (\(last)); `make peers` installs it")
        }
        return (DLIOPeer(launcher: launcher), nil)
    }

    /// DLIO's files for one data set: generated once by DLIO itself, kept while unchanged.
    public struct Workload: Sendable {
        public let folder: String
        public let samples: Int
        public let recordLength: Int
        public let files: Int
        public let profile: AcceleratorProfile
        public let settings: EmulationSettings
        public let storedBytes: Int
        public let dataFiles: [String]
        public var id: String { URL(fileURLWithPath: folder).lastPathComponent }
        /// DLIO stores a record of R bytes as a ⌊√R⌋ × ⌊√R⌋ uint8 image.
        public var side: Int { Int(Double(recordLength).squareRoot()) }
        public var layout: String { "DLIO hdf5, \(files) files × \(Self.perFile) samples of \(side)×\(side) uint8, contiguous" }
        static var perFile: Int { DLIOPeer.samplesPerFile }
    }

    /// The workload for `set` (its sample count, its samples' size in bytes), generating DLIO's
    /// files when they are not there yet.
    func workload(name: String, samples wanted: Int, recordBytes record: Int, profile: AcceleratorProfile, settings: EmulationSettings,
                  dataDirectory: String, log: (String) -> Void) throws -> Workload {
        let files = max(1, wanted / Self.samplesPerFile)
        let samples = files * Self.samplesPerFile
        let folder = "\(dataDirectory)/\(name)-dlio-\(files)x\(Self.samplesPerFile)x\(record)"
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        let stamp = "\(absolute)/complete"
        if !FileManager.default.fileExists(atPath: stamp) {
            log("generating \(name) with DLIO (\(files) files × \(Self.samplesPerFile) records of \(record) bytes) under \(folder)")
            try? FileManager.default.removeItem(atPath: absolute)
            try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
            let configs = try writeConfig(folder: absolute, files: files, record: record, profile: profile, settings: settings)
            let out = "\(absolute)/generate-run"
            let result = Self.run(["mpirun", "-n", "2", "--allow-run-as-root", "--oversubscribe", "python3", launcher.path,
                                   "--config-dir", configs, "workload=feedbench", "++workload.workflow.generate_data=True",
                                   "++workload.workflow.train=False", "hydra.run.dir=\(out)"], timeout: 3600)
            guard result.status == 0 else { throw PeerError("dlio: generating its files failed: \(Self.lastLine(result.output))") }
            try? FileManager.default.removeItem(atPath: out)
            FileManager.default.createFile(atPath: stamp, contents: Data())
        }
        let dataFiles = ((try? FileManager.default.contentsOfDirectory(atPath: "\(absolute)/data/train")) ?? [])
            .filter { $0.hasSuffix(".hdf5") }.sorted().map { "\(absolute)/data/train/\($0)" }
        guard dataFiles.count == files else { throw PeerError("dlio: \(dataFiles.count) files under \(absolute)/data/train, expected \(files)") }
        let bytes = dataFiles.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        return Workload(folder: absolute, samples: samples, recordLength: record, files: files, profile: profile, settings: settings,
                        storedBytes: bytes, dataFiles: dataFiles)
    }

    /// DLIO's workload file (the parts a probe changes are given on its command line).
    private func writeConfig(folder: String, files: Int, record: Int, profile: AcceleratorProfile, settings: EmulationSettings) throws -> String {
        let configs = "\(folder)/configs"
        try FileManager.default.createDirectory(atPath: "\(configs)/workload", withIntermediateDirectories: true)
        let buffer = max(Self.samplesPerFile * record, 1 << 20)
        let yaml = """
            # Written by FeedBench for its DLIO peer: the \(profile.name) profile on DLIO's own HDF5 files.
            model: feedbench
            framework: pytorch
            workflow:
              generate_data: False
              train: True
              evaluation: False
              checkpoint: False
              profiling: False
            dataset:
              data_folder: \(folder)/data
              format: hdf5
              num_files_train: \(files)
              num_samples_per_file: \(Self.samplesPerFile)
              record_length: \(record)
              record_length_stdev: 0
              num_subfolders_train: 0
              generation_buffer_size: \(buffer)
              keep_files: True
            reader:
              data_loader: pytorch
              batch_size: \(profile.batchSize)
              read_threads: \(settings.readerThreads)
              prefetch_size: \(settings.prefetch)
              sample_shuffle: "off"
              file_shuffle: "off"
            train:
              epochs: 1
              computation_time: \(profile.computeSeconds)
              computation_time_stdev: \(profile.computeSD)
            checkpoint:
              checkpoint_folder: \(folder)/checkpoints
            metric:
              au: \(profile.auThreshold)

            """
        try yaml.write(toFile: "\(configs)/workload/feedbench.yaml", atomically: true, encoding: .utf8)
        return configs
    }

    /// One DLIO run of `accelerators` ranks. Orders: sequential reads each rank's files in
    /// order; shuffle shuffles the samples (`sample_shuffle: seed`); chunk-shuffle and
    /// file-shuffle shuffle the files (`file_shuffle: seed`; DLIO has no window of chunks).
    /// Cold: DLIO's files are dropped from memory before the run, which then has one epoch
    /// (DLIO cannot drop them between its epochs).
    func probe(_ w: Workload, accelerators n: Int, order: SampleOrder, cache: CacheState, probeSeconds: Double) throws -> ProbeResult {
        let steps = w.samples / w.profile.batchSize / n
        guard steps >= 1 else { throw PeerError("dlio: \(w.samples) samples give \(n) ranks no full batch") }
        let epochs = cache == .cold ? 1 : max(1, Int(min(probeSeconds / (Double(steps) * w.profile.computeSeconds), 1e6).rounded(.up)))
        let (sampleShuffle, fileShuffle): (String, String)
        switch order {
        case .sequential: (sampleShuffle, fileShuffle) = ("off", "off")
        case .shuffle: (sampleShuffle, fileShuffle) = ("seed", "off")
        case .chunkShuffle, .fileShuffle: (sampleShuffle, fileShuffle) = ("off", "seed")
        }
        let resident: Double
        if cache == .cold {
            PageCache.evict(w.dataFiles)
            resident = PageCache.residency(w.dataFiles)
        } else {
            if PageCache.residency(w.dataFiles) < 0.999 { PageCache.warm(w.dataFiles) }
            resident = PageCache.residency(w.dataFiles)
        }
        let out = "\(w.folder)/run-\(getpid())-\(n)"
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let expected = Double(epochs * steps) * w.profile.computeSeconds
        let result = Self.run(["mpirun", "-n", "\(n)", "--allow-run-as-root", "--oversubscribe", "python3", launcher.path,
                               "--config-dir", "\(w.folder)/configs", "workload=feedbench",
                               "++workload.train.epochs=\(epochs)", "++workload.reader.sample_shuffle=\(sampleShuffle)",
                               "++workload.reader.file_shuffle=\(fileShuffle)", "hydra.run.dir=\(out)"],
                              timeout: 120 + 4 * expected)
        guard result.status == 0 else {
            throw PeerError("dlio: \(n) ranks failed (exit \(result.status)): \(Self.lastLine(result.output))")
        }
        let summary = try Self.json("\(out)/summary.json")
        guard let metric = summary["metric"] as? [String: Any],
              let auMean = metric["train_au_mean_percentage"] as? Double,
              let rate = metric["train_throughput_mean_samples_per_second"] as? Double
        else { throw PeerError("dlio: \(out)/summary.json has no train_au_mean_percentage / train_throughput_mean_samples_per_second") }
        // Each rank's AU: the mean over its epochs (DLIO's per-rank, per-epoch figures).
        var perRank: [Double] = []
        for rank in 0..<n {
            guard let o = try? Self.json("\(out)/\(rank)_output.json") else { continue }
            var values: [Double] = []
            for (key, value) in o where Int(key) != nil {
                guard let epoch = value as? [String: Any], let blocks = epoch["au"] as? [String: Any] else { continue }
                values += blocks.values.compactMap { $0 as? Double }
            }
            if !values.isEmpty { perRank.append(values.reduce(0, +) / Double(values.count) / 100) }
        }
        var seconds = Double(n * steps * epochs * w.profile.batchSize) / max(rate, 1e-9)
        if let stats = try? Self.json("\(out)/per_epoch_stats.json") {
            let durations = stats.values.compactMap { ($0 as? [String: Any])?["duration"] }.compactMap { Double("\($0)") }
            if !durations.isEmpty { seconds = durations.reduce(0, +) }
        }
        return ProbeResult(accelerators: n, epochs: epochs, steps: steps * epochs, seconds: seconds,
                           samples: n * steps * epochs * w.profile.batchSize, au: perRank.isEmpty ? [auMean / 100] : perRank,
                           waitSeconds: 0, residentBefore: resident)
    }

    static func lastLine(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return String((lines.last(where: { $0.contains("Error") || $0.contains("error") }) ?? lines.last ?? "no output").prefix(300))
    }

    static func json(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw PeerError("dlio: cannot read \(path)") }
        return object
    }

    static func which(_ program: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a command with DLIO's tracing off, its output collected; killed after `timeout` seconds.
    static func run(_ arguments: [String], timeout: Double) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DFTRACER_ENABLE"] = "0"
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        do { try process.run() } catch { return (127, "\(arguments[0]) did not start: \(error.localizedDescription)") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        var timedOut = false
        if process.isRunning {
            timedOut = true
            process.terminate()
            Thread.sleep(forTimeInterval: 2)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        // After a timeout, ranks mpirun left behind may still hold the pipe open: read only
        // what has arrived rather than wait for its end.
        if !timedOut { collected.append(pipe.fileHandleForReading.readDataToEndOfFile()) }
        var text = collected.text
        if timedOut { text += "\ntimed out after \(Int(timeout)) s (error)" }
        return (timedOut ? 124 : process.terminationStatus, text)
    }
}

/// Output of a child process, gathered from its pipe's handler thread.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
