// The benchmark target. `benchmarks step` times one training step of the engine's two
// reference MLPs and, with `--peers`, PyTorch's step on the same shapes in the same run.
import Foundation
import Experiments
import Graph

BLASKernels.relaunchWithWidestKernelsIfNeeded()
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "step":
    do {
        try StepBenchmark(arguments: Array(arguments.dropFirst())).run()
    } catch {
        FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
        exit(1)
    }
case "storage":
    // The storage matrix from a config: the same runner as `feedbench bench`.
    let rest = Array(arguments.dropFirst())
    guard rest.count == 3, rest[1] == "--out" else {
        FileHandle.standardError.write(Data("usage: benchmarks storage CONFIG.yaml --out DIR\n".utf8))
        exit(2)
    }
    do {
        BLASThreads.set(2)
        let runner = BenchmarkRunner(config: try BenchmarkConfig(contentsOf: rest[0]), outputDirectory: rest[2])
        try runner.run()
        print("wrote \(rest[2])/results.csv (\(runner.rows.count) rows), summary.csv, report.html")
    } catch {
        FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
        exit(1)
    }
case "read":
    do {
        try ReadBenchmark(arguments: Array(arguments.dropFirst())).run()
    } catch {
        FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
        exit(1)
    }
default:
    print("""
        usage: benchmarks storage CONFIG.yaml --out DIR
               benchmarks step [--peers] [--rounds R] [--steps S] [--threads T] [--batch B] [--out FILE.csv]
               benchmarks read [--peers] [--samples N] [--shape C,H,W] [--files F] [--batch B] [--epochs E] [--data DIR] [--only TEXT] [--out FILE.csv]
          step   training-step time (forward + backward + SGD-momentum update) of
                 MLP 3072-1024-512-10 and 784-1024-512-10, batch 128, float32
          storage  the storage benchmark of a config (benchmarks/standard.yaml: the full matrix)
          read   HDF5 read throughput against the raw baseline (and h5py with --peers),
                 CIFAR-shaped 50,000 × 3×32×32 uint8 in 10 files by default
        """)
    exit(arguments.isEmpty ? 0 : 2)
}
