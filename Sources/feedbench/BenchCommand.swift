import ArgumentParser
import DataSources
import Experiments
import Foundation
import Graph
import Ranks

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the storage benchmark: read throughput and training step time per layout.",
        discussion: """
            Give a config (benchmarks/default.yaml) to store one data set in every layout it names, or --source \
            to measure your own list file, .h5, LMDB or raw folder as it is stored, beside the raw baseline (written \
            once from it). Writes DIR/results.csv (one row per measured epoch), DIR/summary.csv (median, min, max \
            over repeats), DIR/report.html and DIR/config.yaml (the config as run). Ctrl-C stops after the epoch in \
            progress and keeps the rows measured. Under mpirun every rank reads (or trains on) its share of each \
            configuration at the same time and rank 0 writes the rows (column ranks).
            """)

    @Argument(help: "The experiment config (YAML), such as benchmarks/default.yaml.") var config: String?
    @Option(help: "Measure this data set as stored (a list file, .h5, LMDB or raw folder) instead of a config.")
    var source: DataSetArgument?
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Replace files in the output folder (results.csv, report.html, …) that FeedBench did not write.") var overwrite = false
    @Option(help: "Run only the cases whose 'backend, layout, order' contains one of these |-separated texts (baselines always run).")
    var only: String?

    // The --source form's matrix.
    @Option(help: "--source: orders, comma-separated (sequential, shuffle, file-shuffle, chunk-shuffle).")
    var orders = ListArgument<SampleOrder>([.sequential, .shuffle])
    @Option(help: "--source: modes, comma-separated (read, train).") var modes = ListArgument<BenchmarkMode>([.read])
    @Option(help: "--source: cache states, comma-separated (warm, cold).") var cache = ListArgument<CacheState>([.warm])
    @Option(help: "--source: samples per batch.") var batchSize: Int = 128
    @Option(help: "--source: measured epochs per configuration.") var repeats: Int = 3
    @Option(help: "--source: hidden layer sizes of the MLP trained in train mode.") var hidden: String = "512"
    @Option(help: "--source: emulate accelerators of this profile (resnet50-h100, resnet50-a100, unet3d-h100, unet3d-a100, cosmoflow-h100) and find how many the data keeps busy; adds emulate to --modes.")
    var accelerator: String?
    @Flag(help: "--source: skip the raw baseline (no copy of the data is written).") var noBaseline = false
    @Option(help: "--source: where the raw baseline is written (once, reused while the source is unchanged).")
    var dataDir = ".bench-data"
    @OptionGroup var keys: KeyOptions
    @Flag(help: "Print every row of results.csv as one JSON line on stdout when the run ends (the other lines go to stderr).")
    var json = false
    @Flag(help: "Join MPI's world even when not started by mpirun (under mpirun this is automatic).") var mpi = false

    func validate() throws {
        guard (config == nil) != (source == nil) else { throw ValidationError("give a config file or --source SRC (one of the two)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard Int.positiveList(hidden) != nil else { throw ValidationError("--hidden must be positive sizes such as 512 or 256,128") }
        if config != nil && (keys.given || noBaseline || dataDir != ".bench-data" || accelerator != nil) {
            throw ValidationError("--data-key, --label-key, --no-baseline, --data-dir and --accelerator belong to the --source form; a config names them itself")
        }
        if let accelerator, AcceleratorProfile.presets[accelerator] == nil {
            throw ValidationError("--accelerator: unknown profile '\(accelerator)' (expected \(AcceleratorProfile.presetNames.joined(separator: ", ")); a custom profile goes in a config's accelerators: section)")
        }
    }

    func run() throws {
        let parsed: BenchmarkConfig
        if let config {
            parsed = try BenchmarkConfig(contentsOf: config)
        } else {
            guard let source else { throw ValidationError("give a config file or --source SRC") }
            parsed = try BenchmarkConfig.forSource(
                source.location().path, keys: keys.keys, orders: orders.values, modes: modes.values, caches: cache.values,
                batchSizes: [batchSize], repeats: repeats, hidden: Int.positiveList(hidden) ?? [512], baseline: !noBaseline,
                dataDirectory: dataDir, accelerator: accelerator)
        }
        let ranks = try Ranks.start(force: mpi)  // ended by `FeedBench.main`
        // Ranks sharing a host share its two cores.
        BLASThreads.set(max(1, 2 / ranks.localSize))
        let runner = BenchmarkRunner(config: parsed, outputDirectory: out)
        runner.overwrite = overwrite
        runner.ranks = ranks
        runner.only = only.map { $0.split(separator: "|").map(String.init) } ?? []
        let progress = ProgressLine("", total: 1)
        let json = self.json
        if ranks.isRoot {
            runner.progress = { progress.show($0) }
            runner.log = { line in
                progress.finish()
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            if ranks.size > 1 {
                runner.log("\(ranks.size) ranks on \(ranks.nodes) host\(ranks.nodes == 1 ? "" : "s"): each reads its share of every configuration "
                           + "(whole files round-robin when a layout has at least \(ranks.size) files, else blocks of each global batch)")
            }
        } else {
            runner.log = { _ in }
        }
        // The first Ctrl-C finishes the case that runs and writes what was measured; a second
        // one ends at once (removing a layout half written).
        if ranks.size == 1 { Interrupts.onFirst = { BenchmarkRunner.interrupted.store(true, ordering: .relaxed) } }
        let finished = try runner.run()
        progress.finish()
        guard ranks.isRoot else { return }
        let emulated = runner.acceleratorRows.isEmpty ? "" : ", accelerators.csv (\(runner.acceleratorRows.count) rows)"
        let wrote = "wrote \(out)/results.csv (\(runner.rows.count) rows), summary.csv\(emulated), report.html, config.yaml"
        if json {
            FileHandle.standardError.write(Data((wrote + "\n").utf8))
            var rows = runner.rows
            ResultsCSV.fillRatios(&rows)
            for row in rows { print(ResultColumns.jsonLine(row)) }
        } else {
            print(wrote)
        }
        for d in DecisionMaker.decide(runner.rows, accelerators: runner.acceleratorRows) {
            let line = (d.experiment.isEmpty ? "" : d.experiment + ": ") + d.recommendation
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        if !finished {
            FileHandle.standardError.write(Data("interrupted: kept the \(runner.rows.count) rows measured so far\n".utf8))
            throw ExitCode(130)
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw report.html again from a results.csv (written beside it), or compare two runs.",
        discussion: """
            With one results.csv, report.html is drawn again beside it (with accelerators.csv when \
            the run left one). With two, A and B, every configuration both ran is compared (B ÷ A of \
            samples/s, noise marks kept): printed, and written to compare.html beside B.
            """)

    @Argument(help: "DIR/results.csv from `feedbench bench`; a second one (B) to compare with the first (A).")
    var results: [String]

    func validate() throws {
        guard (1...2).contains(results.count) else { throw ValidationError("give one results.csv, or two to compare") }
    }

    func run() throws {
        if results.count == 2 {
            let a = try ResultsCSV.read(results[0]), b = try ResultsCSV.read(results[1])
            let comparison = RunComparison(a, b)
            guard !comparison.lines.isEmpty else {
                throw UserError("\(results[0]) and \(results[1]) share no configuration (same backend, layout, mode, order, cache, batch and prefetch)")
            }
            print(comparison.text)
            let directory = URL(fileURLWithPath: results[1]).deletingLastPathComponent().path
            let path = (directory as NSString).appendingPathComponent("compare.html")
            let html = comparison.html(titleA: results[0], titleB: results[1])
            try AtomicFile.write(to: path, own: .marked(HTMLReport.generatorMark)) { try html.write(toFile: $0, atomically: false, encoding: .utf8) }
            print("wrote \(path): \(comparison.lines.count) configurations compared")
            return
        }
        let rows = try ResultsCSV.read(results[0])
        let directory = URL(fileURLWithPath: results[0]).deletingLastPathComponent().path
        let title = rows.first?.experiment.split(separator: "/").first.map(String.init) ?? "experiment"
        // Emulate mode's rows, when the run left them beside results.csv.
        let acceleratorsPath = (directory as NSString).appendingPathComponent("accelerators.csv")
        let accelerators = FileManager.default.fileExists(atPath: acceleratorsPath) ? try AcceleratorColumns.read(acceleratorsPath) : []
        let html = HTMLReport.render(rows, title: title, accelerators: accelerators)
        let path = (directory as NSString).appendingPathComponent("report.html")
        try AtomicFile.write(to: path, own: .marked(HTMLReport.generatorMark)) { try html.write(toFile: $0, atomically: false, encoding: .utf8) }
        print("wrote \(path) from \(rows.count) rows" + (accelerators.isEmpty ? "" : " and \(accelerators.count) accelerator rows"))
        for d in DecisionMaker.decide(rows, accelerators: accelerators) {
            print((d.experiment.isEmpty ? "" : d.experiment + ": ") + d.recommendation)
        }
    }
}
