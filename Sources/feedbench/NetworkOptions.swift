import ArgumentParser
import Foundation
import Graph
import NetworkSpecs

/// Options shared by commands that load a network spec.
struct NetworkOptions: ParsableArguments {
    @Argument(help: "The network spec (YAML, see DESIGN.md).")
    var network: String

    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Samples per batch (--batch is the older name).")
    var batchSize: Int = 4

    @Option(name: .long, help: "Seed for parameters and random inputs.")
    var seed: UInt64 = 1

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    /// Reads the spec and builds the graph; errors name the file.
    func loadGraph<T: TensorScalar>(_: T.Type, inputGradients: Bool = false) throws -> Graph<T> {
        let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: network))
        do {
            return try Graph<T>(spec: spec, seed: seed, inputGradients: inputGradients)
        } catch let error as GraphError {
            throw UserError("\(network): \(error)")
        }
    }
}
