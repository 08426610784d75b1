import DataSources
import Foundation
import Graph
import HDF5

/// What a snapshot keeps so training can go on from it: the optimizer's settings and its
/// momentum, the epochs done, the steps taken, and the sample order (its seed, kind, batch
/// size; snapshots are written at the end of an epoch, so the position in the next epoch's
/// order is its start, 0).
public struct ResumeState: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var seed: UInt64
    public var order: SampleOrder
    public var batchSize: Int
    public var dropLast: Bool
    public var position = 0
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float

    public init(epoch: Int, step: Int, seed: UInt64, order: SampleOrder, batchSize: Int, dropLast: Bool,
                learningRate: Float, momentum: Float, weightDecay: Float) {
        self.epoch = epoch
        self.step = step
        self.seed = seed
        self.order = order
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }
}

/// What `Snapshot.read` finds: the network's spec text, the epoch and step, and the
/// training state when the snapshot has one (older snapshots hold weights only).
public struct SnapshotInfo: Sendable {
    public var network: String?
    public var epoch: Int?
    public var step: Int?
    public var resume: ResumeState?
    public var hasMomentum: Bool
    /// Each parameter's name and shape, in file order.
    public var parameters: [(name: String, shape: [Int])]
}

/// Weights on disk: an HDF5 file with one float32 dataset per parameter at `/params/<name>`
/// and attributes `network` (the spec as text), `epoch` and `step` on `/`; with the training
/// state, also `/momentum/<name>` (SGD's velocity) and attributes `seed`, `order`,
/// `batch_size`, `drop_last`, `position`, `learning_rate`, `momentum`, `weight_decay`.
public enum Snapshot {
    /// Writes the graph's parameters atomically (temporary name, then rename), with the
    /// optimizer's momentum and the training state when given.
    public static func write(_ graph: Graph<Float>, to path: String, epoch: Int, step: Int,
                             optimizer: SGD<Float>? = nil, resume: ResumeState? = nil, overwrite: Bool = false) throws {
        do {
            try AtomicFile.write(to: path, own: .hdf5, overwrite: overwrite) { temporary in
                let file = try File.create(temporary)
                try file.root.setAttribute(OwnOutput.hdf5Attribute, string: "snapshot")
                let params = try file.root.createGroup("params")
                for p in graph.parameters { try writeTensor(p.value, named: p.name, in: params) }
                if let optimizer {
                    let momentum = try file.root.createGroup("momentum")
                    for p in graph.parameters {
                        // Before the first step SGD holds no velocity: zeros are what it starts from.
                        try writeTensor(optimizer.velocity(of: p.name) ?? Tensor(zeros: p.value.shape), named: p.name, in: momentum)
                    }
                }
                try file.root.setAttribute("network", string: graph.spec.text)
                try file.root.setAttribute("epoch", integer: epoch)
                try file.root.setAttribute("step", integer: step)
                if let r = resume {
                    try file.root.setAttribute("seed", string: String(r.seed))
                    try file.root.setAttribute("order", string: r.order.rawValue)
                    try file.root.setAttribute("batch_size", integer: r.batchSize)
                    try file.root.setAttribute("drop_last", integer: r.dropLast ? 1 : 0)
                    try file.root.setAttribute("position", integer: r.position)
                    // Floats as their exact bit patterns, so a resumed run updates identically.
                    try file.root.setAttribute("learning_rate", string: String(r.learningRate.bitPattern))
                    try file.root.setAttribute("momentum", string: String(r.momentum.bitPattern))
                    try file.root.setAttribute("weight_decay", string: String(r.weightDecay.bitPattern))
                }
                try file.close()
            }
        } catch let error as HDF5Error {
            throw DataSourceError(path, "cannot write the snapshot (\(error.description))")
        }
    }

    private static func writeTensor(_ tensor: Tensor<Float>, named name: String, in group: Group) throws {
        let dataset = try group.createDataset(name, type: .float32, shape: tensor.shape)
        try dataset.write(rows: 0..<tensor.shape[0], from: tensor.pointer, as: .float32)
        try dataset.close()
    }

    /// What a snapshot holds, without loading its weights.
    public static func read(_ path: String) throws -> SnapshotInfo {
        let file: File
        do { file = try File.open(path) } catch let e as HDF5Error { throw DataSourceError(path, e.stack.last ?? "cannot open") }
        guard file.root.contains("params") else { throw DataSourceError(path, "not a FeedBench snapshot (no /params group)") }
        do {
            let params = try file.root.group("params")
            var parameters: [(String, [Int])] = []
            for name in try params.memberNames() { parameters.append((name, try params.dataset(name).shape)) }
            let root = file.root
            var resume: ResumeState?
            if let seedText = try root.stringAttribute("seed") {
                func float(_ key: String) throws -> Float {
                    guard let text = try root.stringAttribute(key), let bits = UInt32(text) else {
                        throw DataSourceError(path, "snapshot attribute '\(key)' is missing or not a float's bits")
                    }
                    return Float(bitPattern: bits)
                }
                guard let seed = UInt64(seedText), let orderText = try root.stringAttribute("order"),
                      let order = SampleOrder(rawValue: orderText), let batch = try root.integerAttribute("batch_size"), batch >= 1,
                      let epoch = try root.integerAttribute("epoch"), epoch >= 0, let step = try root.integerAttribute("step"), step >= 0
                else { throw DataSourceError(path, "the snapshot's training state is incomplete (seed, order, batch_size, epoch, step)") }
                resume = ResumeState(epoch: epoch, step: step, seed: seed, order: order, batchSize: batch,
                                     dropLast: (try root.integerAttribute("drop_last") ?? 0) != 0,
                                     learningRate: try float("learning_rate"), momentum: try float("momentum"),
                                     weightDecay: try float("weight_decay"))
                resume?.position = try root.integerAttribute("position") ?? 0
            }
            return SnapshotInfo(network: try root.stringAttribute("network"), epoch: try root.integerAttribute("epoch"),
                                step: try root.integerAttribute("step"), resume: resume, hasMomentum: root.contains("momentum"),
                                parameters: parameters)
        } catch let e as HDF5Error {
            throw DataSourceError(path, e.description)
        }
    }

    /// Loads SGD's momentum from a snapshot written with it; false when it has none (an older
    /// snapshot: momentum then starts from zero).
    public static func loadMomentum(_ path: String, for graph: Graph<Float>, into optimizer: SGD<Float>) throws -> Bool {
        let file: File
        do { file = try File.open(path) } catch let e as HDF5Error { throw DataSourceError(path, e.stack.last ?? "cannot open") }
        guard file.root.contains("momentum") else { return false }
        do {
            let group = try file.root.group("momentum")
            for p in graph.parameters {
                guard group.contains(p.name) else { throw DataSourceError(path, "no momentum for parameter '\(p.name)' (/momentum/\(p.name))") }
                let d = try group.dataset(p.name)
                guard d.shape == p.value.shape else {
                    throw DataSourceError(path, "momentum of '\(p.name)' has shape \(describe(shape: d.shape)), the network needs \(describe(shape: p.value.shape))")
                }
                let velocity = Tensor<Float>(zeros: p.value.shape)
                try d.read(rows: 0..<p.value.shape[0], into: velocity.pointer, as: .float32)
                optimizer.setVelocity(velocity, of: p.name)
            }
            return true
        } catch let e as HDF5Error {
            throw DataSourceError(path, e.description)
        }
    }

    /// The first parameter where a network and a snapshot differ (name or shape), if any.
    public static func firstDifference(_ graph: Graph<Float>, _ info: SnapshotInfo) -> String? {
        let saved = Dictionary(info.parameters.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for p in graph.parameters {
            guard let shape = saved[p.name] else { return "parameter '\(p.name)' is not in the snapshot" }
            if shape != p.value.shape {
                return "parameter '\(p.name)' is \(describe(shape: p.value.shape)) in the network, \(describe(shape: shape)) in the snapshot"
            }
        }
        let mine = Set(graph.parameters.map(\.name))
        if let extra = info.parameters.first(where: { !mine.contains($0.name) }) {
            return "the snapshot's parameter '\(extra.name)' is not in the network"
        }
        return nil
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
