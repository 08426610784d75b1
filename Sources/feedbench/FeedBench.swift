import ArgumentParser
import DataSources
import Experiments
import Graph

/// The `feedbench` command: how fast storage feeds a network, and which layout to keep.
@main
struct FeedBench: ParsableCommand {
    static func main() {
        BLASKernels.relaunchWithWidestKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as DataSourceError {
            exit(withError: UserError(error.description))
        } catch let error as TrainingError {
            exit(withError: UserError(error.description))
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "feedbench",
        abstract: "Measure how fast HDF5, LMDB and raw storage feed a small graph engine.",
        subcommands: [
            BenchCommand.self, ReportCommand.self, GenerateCommand.self, ConvertCommand.self, InspectCommand.self,
            TrainCommand.self, GradCheckCommand.self, TimeCommand.self,
        ])
}

/// A failure the user caused (a bad file, a bad spec); printed as one line, exit code 1.
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
