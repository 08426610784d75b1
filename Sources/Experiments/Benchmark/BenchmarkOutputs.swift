import DataSources
import Foundation

/// What a run leaves in its folder: results.csv (one row per measured epoch), summary.csv
/// (median, min, max per configuration), report.html, and config.yaml (the config as run).
/// Every file is written atomically, and all of them again after each configuration.
final class BenchmarkOutputs {
    let directory: String
    let config: BenchmarkConfig
    /// Replace files of these names that FeedBench did not write (`bench --overwrite`).
    let overwrite: Bool

    init(directory: String, config: BenchmarkConfig, overwrite: Bool = false) throws {
        self.directory = directory
        self.config = config
        self.overwrite = overwrite
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw DataSourceError(directory, "is not a folder; --out names the folder the results go in")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataSourceError(directory, "cannot create the folder (\((error as NSError).localizedDescription))")
        }
        // Every output is checked before the run, not when it is first written after a case.
        try AtomicFile.checkReplaceable(path("results.csv"), as: .file, overwrite: overwrite, own: .text(firstLine: ResultColumns.names[0]))
        try AtomicFile.checkReplaceable(path("summary.csv"), as: .file, overwrite: overwrite, own: .text(firstLine: ResultColumns.names[0]))
        try AtomicFile.checkReplaceable(path("accelerators.csv"), as: .file, overwrite: overwrite, own: .text(firstLine: AcceleratorColumns.names[0]))
        try AtomicFile.checkReplaceable(path("report.html"), as: .file, overwrite: overwrite, own: .marked(HTMLReport.generatorMark))
        try AtomicFile.write(to: path("config.yaml"), own: .marked("experiment:"), overwrite: overwrite) { try config.text.write(toFile: $0, atomically: false, encoding: .utf8) }
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Emulate mode's rows so far (written to accelerators.csv when there are any).
    var accelerators: [AcceleratorRow] = []

    /// Fills the ratios, then writes results.csv, summary.csv, accelerators.csv and report.html.
    func write(_ rows: inout [ResultRow], skippedPeers: [String: String]) throws {
        ResultsCSV.fillRatios(&rows)
        try ResultsCSV.write(rows, to: path("results.csv"), overwrite: overwrite)
        try ResultsCSV.writeSummary(rows, to: path("summary.csv"), overwrite: overwrite)
        if !accelerators.isEmpty { try AcceleratorColumns.write(accelerators, to: path("accelerators.csv"), overwrite: overwrite) }
        let html = HTMLReport.render(rows, title: config.experiment, accelerators: accelerators, skippedPeers: skippedPeers)
        try AtomicFile.write(to: path("report.html"), own: .marked(HTMLReport.generatorMark), overwrite: overwrite) { try html.write(toFile: $0, atomically: false, encoding: .utf8) }
    }
}
