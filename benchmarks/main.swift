// The benchmark target. `benchmarks step` times one training step of the engine's two
// reference MLPs and, with `--peers`, PyTorch's step on the same shapes in the same run.
import Foundation
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
case "read":
    do {
        try ReadBenchmark(arguments: Array(arguments.dropFirst())).run()
    } catch {
        FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
        exit(1)
    }
default:
    print("""
        usage: benchmarks step [--peers] [--rounds R] [--steps S] [--threads T] [--batch B] [--out FILE.csv]
               benchmarks read [--peers] [--samples N] [--shape C,H,W] [--files F] [--batch B] [--epochs E] [--data DIR] [--only TEXT] [--out FILE.csv]
          step   training-step time (forward + backward + SGD-momentum update) of
                 MLP 3072-1024-512-10 and 784-1024-512-10, batch 128, float32
          read   HDF5 read throughput against the raw baseline (and h5py with --peers),
                 CIFAR-shaped 50,000 × 3×32×32 uint8 in 10 files by default
        """)
    exit(arguments.isEmpty ? 0 : 2)
}
