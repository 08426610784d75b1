// The benchmark target: `storage` runs an experiment config (the full matrix is
// benchmarks/standard.yaml), `step` times the engine's training step against PyTorch,
// `read` compares HDF5 and LMDB reads with the raw baseline and the Python readers.
import Experiments
import Foundation
import Graph

BLASKernels.relaunchWithWidestKernelsIfNeeded()
let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())

/// Runs one subcommand; any error ends with one line and exit code 1.
func run(_ body: () throws -> Void) -> Never {
    do {
        try body()
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
        exit(1)
    }
}

switch arguments.first {
case "step":
    run { try StepBenchmark(arguments: rest).run() }
case "read":
    run { try ReadBenchmark(arguments: rest).run() }
case "storage":
    guard rest.count == 3, rest[1] == "--out" else {
        FileHandle.standardError.write(Data("usage: benchmarks storage CONFIG.yaml --out DIR\n".utf8))
        exit(2)
    }
    run {
        BLASThreads.set(2)
        let runner = BenchmarkRunner(config: try BenchmarkConfig(contentsOf: rest[0]), outputDirectory: rest[2])
        try runner.run()
        print("wrote \(rest[2])/results.csv (\(runner.rows.count) rows), summary.csv, report.html")
    }
default:
    print("""
        usage: benchmarks storage CONFIG.yaml --out DIR
               benchmarks step [--peers] [--rounds R] [--steps S] [--threads T] [--batch B] [--out FILE.csv]
               benchmarks read [--peers] [--samples N] [--shape C,H,W] [--files F] [--batch B] [--epochs E] [--data DIR] [--only TEXT] [--out FILE.csv]
          storage  the storage benchmark of a config (benchmarks/standard.yaml: the full matrix)
          step     training-step time (forward + backward + SGD-momentum update) of
                   MLP 3072-1024-512-10 and 784-1024-512-10, batch 128, float32
          read     HDF5 and LMDB read throughput against the raw baseline (and h5py, py-lmdb
                   with --peers), CIFAR-shaped 50,000 × 3×32×32 uint8 in 10 files by default
        """)
    exit(arguments.isEmpty ? 0 : 2)
}
