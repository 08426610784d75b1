import DataSources
import Foundation
import Graph
import HDF5

/// Weights on disk: an HDF5 file with one float32 dataset per parameter at `/params/<name>`
/// and attributes `network` (the spec as text), `epoch` and `step` on `/`.
public enum Snapshot {
    /// Writes the graph's parameters atomically (temporary name, then rename).
    public static func write(_ graph: Graph<Float>, to path: String, epoch: Int, step: Int) throws {
        do {
            try AtomicFile.write(to: path) { temporary in
                let file = try File.create(temporary)
                let params = try file.root.createGroup("params")
                for p in graph.parameters {
                    let dataset = try params.createDataset(p.name, type: .float32, shape: p.value.shape)
                    try dataset.write(rows: 0..<p.value.shape[0], from: p.value.pointer, as: .float32)
                    try dataset.close()
                }
                try file.root.setAttribute("network", string: graph.spec.text)
                try file.root.setAttribute("epoch", integer: epoch)
                try file.root.setAttribute("step", integer: step)
                try file.close()
            }
        } catch let error as HDF5Error {
            throw DataSourceError(path, "cannot write the snapshot (\(error.description))")
        }
    }

    /// Loads every parameter of `graph` from a snapshot, checking each name and shape first;
    /// returns the snapshot's epoch and step attributes.
    @discardableResult
    public static func load(_ path: String, into graph: Graph<Float>) throws -> (epoch: Int?, step: Int?) {
        let file: File
        do { file = try File.open(path) } catch let e as HDF5Error { throw DataSourceError(path, e.stack.last ?? "cannot open") }
        guard file.root.contains("params") else { throw DataSourceError(path, "not a FeedBench snapshot (no /params group)") }
        do {
            let params = try file.root.group("params")
            var datasets: [(Graph<Float>.Parameter, Dataset)] = []
            for p in graph.parameters {
                guard params.contains(p.name) else { throw DataSourceError(path, "no parameter '\(p.name)' (/params/\(p.name))") }
                let d = try params.dataset(p.name)
                guard d.shape == p.value.shape else {
                    throw DataSourceError(path, "parameter '\(p.name)' has shape \(describe(shape: d.shape)), the network needs \(describe(shape: p.value.shape))")
                }
                guard d.elementType != nil else { throw DataSourceError(path, "parameter '\(p.name)' has type \(d.storedTypeName)") }
                datasets.append((p, d))
            }
            for (p, d) in datasets { try d.read(rows: 0..<p.value.shape[0], into: p.value.pointer, as: .float32) }
            return (try file.root.integerAttribute("epoch"), try file.root.integerAttribute("step"))
        } catch let e as HDF5Error {
            throw DataSourceError(path, e.description)
        }
    }
}
