// The engine's step benchmark: times FeedBench's training step against PyTorch's on the same
// MLPs, interleaved. Storage is measured by `feedbench bench` (benchmarks/*.yaml).
import Experiments
import Foundation
import Graph

BLASKernels.relaunchWithWidestKernelsIfNeeded()
let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--help" || arguments.first == "-h" {
    print("""
        usage: benchmarks step [--peers] [--rounds R] [--steps S] [--threads T] [--batch-size B] [--net SPEC.yaml] [--out FILE.csv]
               mpirun -n 2 benchmarks allreduce [--values N] [--repeats R]
          step       training-step time (forward + backward + SGD-momentum update) of MLP 3072-1024-512-10 and
                     784-1024-512-10, batch 128, float32, interleaved with PyTorch's step when --peers is given;
                     with --net, that spec's network instead (such as benchmarks/nets/cifar-cnn.yaml), against
                     PyTorch's same network, with the step's im2col, GEMM and other shares.
          allreduce  one MPI_Allreduce of N float32 between the ranks (default: the CIFAR MLP's 3,676,682
                     gradients), blocking and as MPI_Iallreduce + MPI_Wait; the slowest rank's median.
        Storage benchmarks: feedbench bench benchmarks/default.yaml (standard.yaml, read.yaml) --out DIR
        """)
    exit(0)
}
guard arguments.first == "step" || arguments.first == "allreduce" else {
    FileHandle.standardError.write(Data("usage: benchmarks step [--peers] … | allreduce … (benchmarks --help)\n".utf8))
    exit(2)
}
do {
    if arguments.first == "allreduce" {
        try AllreduceBenchmark(arguments: Array(arguments.dropFirst())).run()
    } else {
        try StepBenchmark(arguments: Array(arguments.dropFirst())).run()
    }
} catch {
    FileHandle.standardError.write(Data("benchmarks: \(error)\n".utf8))
    exit(1)
}
