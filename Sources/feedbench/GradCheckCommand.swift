import ArgumentParser
import Foundation
import Graph

struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Compare backward's gradients with central differences (in Double).",
        discussion: "Prints one line per parameter and input with its largest relative error; exits non-zero when any exceeds --tolerance.")

    @OptionGroup var options: NetworkOptions

    @Option(help: ArgumentHelp(
        "Largest relative error that passes.",
        discussion: "Relative error is |a - n| / max(|a|, |n|, 1e-12). Elements whose gradient is tiny (1e-7 and less) show errors near 1e-6 from rounding in the finite difference alone; a wrong gradient shows errors near 1."))
    var tolerance: Double = 1e-4

    @Option(help: "Finite-difference step.")
    var step: Double = 1e-5

    @Option(help: "Elements checked per tensor at most (a seeded sample of larger ones).")
    var elements: Int = 256

    func validate() throws {
        guard tolerance > 0 else { throw ValidationError("--tolerance must be positive") }
        guard step > 0 else { throw ValidationError("--step must be positive") }
        guard elements >= 1 else { throw ValidationError("--elements must be at least 1") }
    }

    func run() throws {
        let graph = try options.loadGraph(Double.self, inputGradients: true)
        try graph.feedRandom(batch: options.batchSize, seed: options.seed)
        let check = GradientCheck(step: step, maxElements: elements, seed: options.seed)
        let results = try check.run(graph)
        let lines = GradCheckReport.lines(
            network: options.network, batch: options.batchSize, seed: options.seed, tolerance: tolerance,
            results: results, labels: graph.inputNodes.filter { $0.shape.isLabel }.map(\.name))
        lines.forEach { print($0) }
        if results.contains(where: { !($0.maxRelativeError <= tolerance) }) { throw ExitCode.failure }
    }
}

/// The text `feedbench gradcheck` prints.
enum GradCheckReport {
    static func lines(
        network: String, batch: Int, seed: UInt64, tolerance: Double,
        results: [GradientCheckResult], labels: [String]
    ) -> [String] {
        let width = max(8, (results.map(\.name) + labels).map(\.count).max() ?? 0)
        var lines = ["gradcheck \(network): batch \(batch), seed \(seed), tolerance \(format(tolerance))"]
        for r in results {
            let verdict = r.maxRelativeError <= tolerance ? "ok" : "FAIL"  // NaN or ∞: FAIL
            lines.append(
                pad(r.name, width) + "  " + pad(describe(shape: r.shape), 12) + "  "
                    + pad("\(r.checked)/\(r.shape.reduce(1, *)) checked", 18)
                    + "  max rel error " + format(r.maxRelativeError)
                    + "  (analytic " + format(r.worstAnalytic) + ", numeric " + format(r.worstNumeric) + ")  " + verdict)
        }
        for label in labels { lines.append(pad(label, width) + "  labels        not differentiable") }
        let failed = results.filter { !($0.maxRelativeError <= tolerance) }.count
        lines.append("\(results.count - failed) passed, \(failed) failed")
        return lines
    }

    static func format(_ x: Double) -> String { String(format: "%.2e", x) }
    static func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
}
