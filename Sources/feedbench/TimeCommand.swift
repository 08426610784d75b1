import ArgumentParser
import Foundation
import Graph

struct TimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time",
        abstract: "Per-node forward and backward times and the mean training step, like `caffe time`.")

    @OptionGroup var options: NetworkOptions

    @Option(help: "Timed iterations (after one untimed warm-up step).")
    var iterations: Int = 20

    @Option(help: "Threads for BLAS and the update.")
    var threads: Int = 2

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLASThreads.set(threads)
        let graph = try options.loadGraph(Float.self)
        try graph.feedRandom(batch: options.batchSize, seed: options.seed)
        let sgd = SGD<Float>(learningRate: 0.01, momentum: 0.9, threads: threads)
        let timing = try StepTimer.measure(graph: graph, optimizer: sgd, iterations: iterations)
        let nameWidth = max(10, graph.nodes.map(\.name.count).max() ?? 0)
        print("time \(options.network): batch \(options.batchSize), \(iterations) iterations, \(threads) threads, float32")
        print(pad("node", nameWidth) + "  " + pad("op", 22) + "  forward ms  backward ms")
        for (i, node) in graph.nodes.enumerated() where node.kind == .function {
            let f = graph.forwardSeconds[i] * 1000 / Double(iterations)
            let b = graph.backwardSeconds[i] * 1000 / Double(iterations)
            print(pad(node.name, nameWidth) + "  " + pad(node.operation!.name, 22) + "  "
                + String(format: "%10.3f  %11.3f", f, b))
        }
        print(String(format: "mean: forward %.3f ms, backward %.3f ms, update %.3f ms, step %.3f ms (median %.3f ms)",
                     timing.forwardMs, timing.backwardMs, timing.updateMs, timing.stepMs, timing.medianStepMs))
    }

    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
}
