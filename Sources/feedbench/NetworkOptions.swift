import ArgumentParser
import Foundation
import Graph

/// Options shared by commands that load a network spec.
struct NetworkOptions: ParsableArguments {
    @Argument(help: "The network spec (YAML, see DESIGN.md).")
    var network: String

    @Option(name: .long, help: "Samples per batch.")
    var batch: Int = 4

    @Option(name: .long, help: "Seed for parameters and random inputs.")
    var seed: UInt64 = 1

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
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
