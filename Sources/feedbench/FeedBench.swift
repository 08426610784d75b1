import ArgumentParser
import DataSources
import Experiments
@preconcurrency import Glibc
import Foundation
import Graph
import HDF5
import LMDB

/// The `feedbench` command: how fast storage feeds a network, and which layout to keep.
@main
struct FeedBench: ParsableCommand {
    static func main() {
        BLASKernels.relaunchWithWidestKernelsIfNeeded()
        // Line by line even when piped (`make bench | tee log`, CI logs), not in one block at the end.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as FeedBenchError {
            // Every library's error: one line naming the file and the problem, exit code 1.
            exit(withError: UserError(error.description))
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "feedbench",
        abstract: "Measure how fast HDF5, LMDB and raw storage feed a small graph engine.",
        version: versionText,
        subcommands: [
            BenchCommand.self, ReportCommand.self, GenerateCommand.self, ConvertCommand.self, InspectCommand.self,
            TrainCommand.self, GradCheckCommand.self, TimeCommand.self,
        ])

    /// `feedbench --version`: this release and the libraries it runs on.
    static var versionText: String {
        let blas = BLASThreads.configuration.split(separator: " ").prefix(2).joined(separator: " ")
        return "feedbench \(FeedBenchVersion.current)\nHDF5 \(HDF5Library.version), \(lmdbVersion), \(blas) (\(BLASThreads.coreName) kernels)"
    }
}

/// A failure the user caused (a bad file, a bad spec); printed as one line, exit code 1.
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
