import ArgumentParser
import DataSources
import Experiments
import Foundation
import Graph

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the storage benchmark: read throughput and training step time per backend.",
        discussion: "Writes DIR/results.csv (one row per measured epoch), DIR/summary.csv (median, min, max over repeats) and DIR/report.html. Ctrl-C stops after the epoch in progress and keeps the rows measured.")

    @Argument(help: "The experiment config (YAML), such as benchmarks/default.yaml.") var config: String
    @Option(help: "Output folder.") var out: String

    func run() throws {
        let parsed = try BenchmarkConfig(contentsOf: config)
        BLASThreads.set(2)
        let runner = BenchmarkRunner(config: parsed, outputDirectory: out)
        let progress = ProgressLine("", total: 1)
        runner.progress = { progress.show($0) }
        runner.log = { line in
            progress.finish()
            print(line)
        }
        signal(SIGINT) { _ in
            BenchmarkRunner.interrupted.store(true, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)  // a second Ctrl-C ends at once
        }
        let finished = try runner.run()
        progress.finish()
        print("wrote \(out)/results.csv (\(runner.rows.count) rows), \(out)/summary.csv, \(out)/report.html")
        if !finished {
            FileHandle.standardError.write(Data("interrupted: kept the \(runner.rows.count) rows measured so far\n".utf8))
            throw ExitCode(130)
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Draw report.html again from a results.csv (written beside it).")

    @Argument(help: "DIR/results.csv from `feedbench bench`.") var results: String

    func run() throws {
        let rows = try ResultsCSV.read(results)
        let directory = URL(fileURLWithPath: results).deletingLastPathComponent().path
        let title = rows.first?.experiment.split(separator: "/").first.map(String.init) ?? "experiment"
        let html = HTMLReport.render(rows, title: title)
        let path = (directory as NSString).appendingPathComponent("report.html")
        try AtomicFile.write(to: path) { try html.write(toFile: $0, atomically: false, encoding: .utf8) }
        print("wrote \(path) from \(rows.count) rows")
    }
}
