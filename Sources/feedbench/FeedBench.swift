import ArgumentParser
import DataSources
import Experiments
@preconcurrency import Glibc
import Foundation
import Graph
import HDF5
import LMDB
import Ranks

/// The `feedbench` command: how fast storage feeds a network, and which layout to keep.
@main
struct FeedBench: ParsableCommand {
    static func main() {
        BLASKernels.relaunchWithWidestKernelsIfNeeded()
        installCrashLine()
        Interrupts.install()
        LMDBSource.openCheck = CheckLMDBCommand.inChildProcess
        EncodedHDF5Source.openCheck = CheckHDF5Command.inChildProcess
        // Line by line even when piped (`make bench | tee log`, CI logs), not in one block at the end.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
            Ranks.current?.finish()
        } catch let failure as RankFailure {
            // Every rank agreed on one rank's error: rank 0 says it, and every rank ends —
            // after a barrier, because mpirun ends the job as soon as one rank exits non-zero
            // and would otherwise kill rank 0 before it printed.
            let ranks = Ranks.current
            if ranks?.isRoot ?? true { FileHandle.standardError.write(Data("Error: \(failure.description)\n".utf8)) }
            try? ranks?.barrier()
            ranks?.finish()
            Glibc.exit(1)
        } catch {
            let message = (error as? FeedBenchError).map { UserError($0.description) } ?? error
            if let ranks = Ranks.current, ranks.size > 1, !ranks.finished {
                // An error on this rank alone, where the ranks do not compare notes: its line,
                // then every rank ends (the others may be waiting for this one).
                FileHandle.standardError.write(Data("Error: rank \(ranks.rank): \(message)\n".utf8))
                ranks.abort(1)
            }
            // Under mpirun, before MPI starts (a bad option), every rank would print the same line.
            if Ranks.launchedByMPI, (Ranks.worldRankFromLauncher ?? 0) != 0 { Glibc.exit(exitCode(for: message).rawValue) }
            exit(withError: message)
        }
    }

    /// A crash (a trap, SIGSEGV, SIGBUS) ends with one line instead of a page of backtrace;
    /// `FEEDBENCH_BACKTRACE=1` keeps the runtime's backtrace. The handler only writes a fixed
    /// text and exits, as a signal handler may.
    static func installCrashLine() {
        guard ProcessInfo.processInfo.environment["FEEDBENCH_BACKTRACE"] != "1" else { return }
        for s in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE] {
            signal(s) { number in
                let text: StaticString
                switch number {
                case SIGSEGV: text = "feedbench: internal error (SIGSEGV); please report it with the command that caused it (FEEDBENCH_BACKTRACE=1 shows where)\n"
                case SIGBUS: text = "feedbench: internal error (SIGBUS: a mapped file shrank or failed to read?); please report it with the command that caused it (FEEDBENCH_BACKTRACE=1 shows where)\n"
                default: text = "feedbench: internal error (a trap); please report it with the command that caused it (FEEDBENCH_BACKTRACE=1 shows where)\n"
                }
                _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
                _exit(70)
            }
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "feedbench",
        abstract: "Measure how fast HDF5, LMDB and raw storage feed a small graph engine.",
        version: versionText,
        subcommands: [
            BenchCommand.self, ReportCommand.self, GenerateCommand.self, ConvertCommand.self, InspectCommand.self,
            TrainCommand.self, GradCheckCommand.self, TimeCommand.self, CheckLMDBCommand.self, CheckHDF5Command.self,
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
