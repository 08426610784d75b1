import Experiments
import Foundation
import Graph
import NetworkSpecs

/// Times the engine's training step on the reference shapes and, with `--peers`,
/// PyTorch's on the same shapes, in interleaved blocks so that both meet the same machine.
struct StepBenchmark {
    struct Case {
        let name: String
        let sizes: [Int]  // input, hidden…, classes
        let goal: Double  // largest ratio to PyTorch's median the engine issue allows
    }

    static let cases = [
        Case(name: "cifar-mlp", sizes: [3072, 1024, 512, 10], goal: 0.75),
        Case(name: "mnist-mlp", sizes: [784, 1024, 512, 10], goal: 0.8),
    ]

    var peers = false
    var rounds = 10
    var stepsPerRound = 20
    var threads = 2
    var batch = 128
    var output: String?
    /// A network spec to time instead of the two MLPs (`--net`), such as the CIFAR CNN.
    var net: String?

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            func value() throws -> Int {
                guard let v = rest.popFirst(), let n = Int(v), n > 0 else {
                    throw BenchmarkError("\(flag) needs a positive integer")
                }
                return n
            }
            switch flag {
            case "--peers": peers = true
            case "--rounds": rounds = try value()
            case "--steps": stepsPerRound = try value()
            case "--threads": threads = try value()
            case "--batch-size", "--batch": batch = try value()
            case "--out":
                guard let path = rest.popFirst() else { throw BenchmarkError("--out needs a file name") }
                output = path
            case "--net":
                guard let path = rest.popFirst() else { throw BenchmarkError("--net needs a network spec") }
                net = path
            default: throw BenchmarkError("unknown option \(flag)")
            }
        }
    }

    func run() throws {
        BLASThreads.set(threads)
        print("engine step: batch \(batch), float32, \(threads) threads, \(rounds) rounds × \(stepsPerRound) steps"
            + (peers ? ", interleaved with PyTorch" : ""))
        print("OpenBLAS kernels: \(BLASKernels.coreName)"
            + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
        var rows: [[String]] = []
        // With --net: that spec alone, against PyTorch's same network (goal ≤ 1.0 × PyTorch).
        let netSpec = try net.map { try NetworkSpec(contentsOf: URL(fileURLWithPath: $0)) }
        let cases = net.map { [Case(name: URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent, sizes: [], goal: 1.0)] } ?? Self.cases
        for c in cases {
            let spec = netSpec ?? NetworkSpec.mlp(
                inputShape: [c.sizes[0]], hidden: Array(c.sizes.dropFirst().dropLast()), classes: c.sizes.last!)
            let graph = try Graph<Float>(spec: spec, seed: 1)
            try graph.feedRandom(batch: batch, seed: 1)
            let sgd = SGD<Float>(learningRate: 0.001, momentum: 0.9, threads: threads)
            var torch: PeerWorker? = nil
            if peers, let worker = PeerWorker(), worker.unavailable["torch"] == nil {
                if netSpec != nil {
                    try worker.buildTorchStep(spec: spec.text, batchSize: batch, threads: threads)
                } else {
                    try worker.buildTorchStep(sizes: c.sizes, batchSize: batch, threads: threads)
                }
                torch = worker
            }
            var ours: [Double] = [], theirs: [Double] = [], theirGemms: [Double] = []
            var ourParts = (forward: 0.0, backward: 0.0, update: 0.0), allocations = 0
            for _ in 0..<rounds {
                settle()
                let t = try StepTimer.measure(graph: graph, optimizer: sgd, iterations: stepsPerRound)
                ours += t.stepsMs
                ourParts.forward += t.forwardMs / Double(rounds)
                ourParts.backward += t.backwardMs / Double(rounds)
                ourParts.update += t.updateMs / Double(rounds)
                allocations += t.allocations
                if let torch {
                    settle()
                    theirs += try torch.torchSteps(stepsPerRound)
                    settle()
                    theirGemms += try torch.torchSteps(stepsPerRound / 2 + 1, gemmsOnly: true)
                }
            }
            let median = median(ours), p95 = StepTimer.percentile(ours.sorted(), 0.95)
            if netSpec != nil { try printShares(graph, sgd, stepMs: median) }
            print(String(format: "%@  ours:  median %6.2f ms  p95 %6.2f  (forward %.2f, backward %.2f, update %.2f); allocations after warm-up: %d",
                         c.name, median, p95, ourParts.forward, ourParts.backward, ourParts.update, allocations))
            var ratio = ""
            var torchRow: [String]? = nil
            if peers && theirs.isEmpty {
                print("\(c.name)  torch: skipped (python3 with torch not found; `make peers` installs it)")
            } else if !theirs.isEmpty {
                let theirMedian = self.median(theirs)
                let r = median / theirMedian
                ratio = fmt(r)
                print(String(format: "%@  torch: median %6.2f ms  p95 %6.2f  (GEMMs alone %.2f ms)",
                             c.name, theirMedian, StepTimer.percentile(theirs.sorted(), 0.95), self.median(theirGemms)))
                print(String(format: "%@  ratio ours/torch %.2f (goal ≤ %.2f): %@",
                             c.name, r, c.goal, r <= c.goal ? "met" : "NOT met"))
                torchRow = [c.name, "torch", String(batch), String(threads), "", fmt(theirMedian),
                            fmt(StepTimer.percentile(theirs.sorted(), 0.95)), "", fmt(self.median(theirGemms))]
            }
            rows.append([c.name, "feedbench", String(batch), String(threads), BLASKernels.coreName, fmt(median), fmt(p95), ratio, ""])
            if let torchRow { rows.append(torchRow) }
        }
        if let output { try writeCSV(rows, to: output) }
    }

    /// Where a spec network's step goes: im2col and col2im (timed alone on the same shapes),
    /// the convolutions' GEMMs (their nodes' time less that), dense layers (GEMMs), the rest.
    private func printShares(_ graph: Graph<Float>, _ sgd: SGD<Float>, stepMs: Double) throws {
        // Steps on this machine are sometimes twice as long (BLAS threads meeting other work):
        // of five profiled blocks, the quickest gives the shares.
        graph.profiling = true
        let steps = 6
        var best: (total: Double, forward: [Double], backward: [Double])?
        for _ in 0..<5 {
            settle()
            graph.resetProfile()
            for _ in 0..<steps {
                try graph.forward()
                graph.backward()
                sgd.step(graph)
            }
            let total = graph.forwardSeconds.reduce(0, +) + graph.backwardSeconds.reduce(0, +)
            if best == nil || total < best!.total { best = (total, graph.forwardSeconds, graph.backwardSeconds) }
        }
        graph.profiling = false
        var unfolding = 0.0, conv = 0.0, dense = 0.0, total = 0.0
        for (i, node) in graph.nodes.enumerated() where node.kind == .function {
            let seconds = (best!.forward[i] + best!.backward[i]) / Double(steps)
            total += seconds
            if let op = node.operation as? Conv2D, let x = graph.value(of: graph.nodes[node.inputs[0]].name) {
                conv += seconds
                let weight = graph.nodes[node.inputs[1]].shape.dims
                let t = op.unfoldingSeconds(x, weightShape: weight)
                unfolding += 2 * t.im2col + (graph.nodes[node.inputs[0]].needsDiff ? t.col2im : 0)
            } else if node.operation is Dense {
                dense += seconds
            }
        }
        func share(_ s: Double) -> String { String(format: "%.1f ms (%.0f %%)", s * 1000, s * 1000 / stepMs * 100) }
        print("shares of the \(String(format: "%.2f", stepMs)) ms median step (quickest of 5 profiled blocks): im2col + col2im \(share(unfolding)), "
            + "convolution GEMMs and bias \(share(conv - unfolding)), dense layers \(share(dense)), "
            + "pools, activations and loss \(share(total - conv - dense)), update and the rest \(share(stepMs / 1000 - total))")
    }

    /// Lets spinning BLAS / OpenMP worker threads of the previous block go idle.
    private func settle() { Thread.sleep(forTimeInterval: 0.25) }

    private func median(_ values: [Double]) -> Double { StepTimer.percentile(values.sorted(), 0.5) }

    private func fmt(_ x: Double) -> String { String(format: "%.4f", x) }

    private func writeCSV(_ rows: [[String]], to path: String) throws {
        let header = ["case", "backend", "batch_size", "threads", "blas_kernels", "step_ms_median", "step_ms_p95",
                      "ratio_to_torch", "gemm_ms_median"]
        try CSVTable.write(header: header, rows: rows, to: path)
        print("wrote \(path)")
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
