import Foundation
import Ranks

/// `mpirun -n 2 benchmarks allreduce`: how long one MPI_Allreduce (sum, float32, in place)
/// of a gradient takes between the ranks, blocking and started-then-waited, the median of
/// `repeats` after two unmeasured ones. The default size is the CIFAR MLP's gradients
/// (3072-1024-512-10: 3,676,682 values, 14.7 MB).
struct AllreduceBenchmark {
    var values = 3_676_682
    var repeats = 30

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let text = rest.popFirst(), let n = Int(text), n > 0 else { throw BenchmarkUsage("\(flag) needs a positive integer") }
            switch flag {
            case "--values": values = n
            case "--repeats": repeats = n
            default: throw BenchmarkUsage("unknown option \(flag)")
            }
        }
    }

    func run() throws {
        let ranks = try Ranks.start(force: true)
        defer { ranks.finish() }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: values)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: values)
        let clock = ContinuousClock()
        func time(_ body: () throws -> Void) throws -> Double {
            try ranks.barrier()
            let start = clock.now
            try body()
            let d = clock.now - start
            return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
        }
        var blocking: [Double] = [], started: [Double] = []
        for i in 0..<(repeats + 2) {
            let b = try time { try ranks.allreduce(buffer, count: values) }
            let s = try time { try ranks.startAllreduce(buffer, count: values).wait() }
            if i >= 2 { blocking.append(b); started.append(s) }
        }
        // The slowest rank's median is the figure.
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        let slowest = try ranks.allreduce([median(blocking), median(started)], .max)
        if ranks.isRoot {
            let mb = Double(values * 4) / 1e6
            print(String(format: "MPI_Allreduce of %ld float32 (%.1f MB) over %ld ranks on %ld host%@: median %.2f ms blocking, %.2f ms as MPI_Iallreduce + MPI_Wait (%.2f GB/s of buffer), %ld repeats",
                         values, mb, ranks.size, ranks.nodes, ranks.nodes == 1 ? "" : "s", slowest[0], slowest[1], mb / slowest[0], repeats))
        }
    }
}

struct BenchmarkUsage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
