import Foundation
import Graph

/// Times the engine's training step on the reference shapes, and PyTorch's when asked.
struct StepBenchmark {
    struct Case {
        let name: String
        let sizes: [Int]  // input, hidden…, classes
        let goal: Double  // largest allowed ratio to PyTorch's median
    }

    static let cases = [
        Case(name: "cifar-mlp", sizes: [3072, 1024, 512, 10], goal: 0.75),
        Case(name: "mnist-mlp", sizes: [784, 1024, 512, 10], goal: 0.8),
    ]

    var peers = false
    var iterations = 200
    var threads = 2
    var batch = 128
    var output: String?

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            func value() throws -> String {
                guard let v = rest.popFirst() else { throw BenchmarkError("\(flag) needs a value") }
                return v
            }
            switch flag {
            case "--peers": peers = true
            case "--iterations": iterations = try positive(value(), flag)
            case "--threads": threads = try positive(value(), flag)
            case "--batch": batch = try positive(value(), flag)
            case "--out": output = try value()
            default: throw BenchmarkError("unknown option \(flag)")
            }
        }
    }

    func run() throws {
        BLASThreads.set(threads)
        var rows: [[String]] = []
        print("engine step: batch \(batch), float32, \(threads) threads, \(iterations) steps after warm-up")
        print("BLAS: \(BLASThreads.configuration)")
        for c in Self.cases {
            let ours = try measureEngine(c)
            var line = String(
                format: "%@  ours: median %.2f ms (p95 %.2f; fwd %.2f, bwd %.2f, update %.2f), allocations after warm-up: %d",
                c.name, ours.medianStepMs, ours.p95StepMs, ours.forwardMs, ours.backwardMs, ours.updateMs, ours.allocations)
            var row = [c.name, "feedbench", String(batch), String(threads), fmt(ours.medianStepMs), fmt(ours.p95StepMs), "", ""]
            if peers {
                if let torch = try PeerRunner.torchStep(sizes: c.sizes, batch: batch, threads: threads, iterations: iterations) {
                    let ratio = ours.medianStepMs / torch.medianMs
                    line += String(format: "\n%@  torch: median %.2f ms (GEMMs alone %.2f ms); ratio ours/torch %.2f (goal ≤ %.2f) %@",
                                   c.name, torch.medianMs, torch.gemmMs, ratio, c.goal, ratio <= c.goal ? "met" : "NOT met")
                    row[6] = fmt(ratio)
                    rows.append([c.name, "torch", String(batch), String(threads), fmt(torch.medianMs), fmt(torch.p95Ms), "", fmt(torch.gemmMs)])
                } else {
                    line += "\n\(c.name)  torch: skipped (python3 with torch not found; `make peers` installs it)"
                }
            }
            rows.insert(row, at: rows.count - (rows.last?[0] == c.name ? 1 : 0))
            print(line)
        }
        if let output {
            let header = ["case", "backend", "batch_size", "threads", "step_ms_median", "step_ms_p95", "ratio_to_torch", "gemm_ms"]
            let text = ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
            let temporary = output + ".partial"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: output), withItemAt: URL(fileURLWithPath: temporary))
            print("wrote \(output)")
        }
    }

    private func measureEngine(_ c: Case) throws -> StepTimer.Timing {
        let spec = NetworkSpec.mlp(inputShape: [c.sizes[0]], hidden: Array(c.sizes.dropFirst().dropLast()), classes: c.sizes.last!)
        let graph = try Graph<Float>(spec: spec, seed: 1)
        try graph.feedRandom(batch: batch, seed: 1)
        let sgd = SGD<Float>(learningRate: 0.001, momentum: 0.9, threads: threads)
        return try StepTimer.measure(graph: graph, optimizer: sgd, iterations: iterations)
    }

    private func fmt(_ x: Double) -> String { String(format: "%.4f", x) }
    private func positive(_ s: String, _ flag: String) throws -> Int {
        guard let v = Int(s), v > 0 else { throw BenchmarkError("\(flag) needs a positive integer, got '\(s)'") }
        return v
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
