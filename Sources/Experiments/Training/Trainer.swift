import DataSources
import Foundation
import Graph

/// How a training run goes.
public struct TrainingOptions: Sendable {
    public var epochs = 10
    public var batchSize = 64
    public var order = SampleOrder.shuffle
    public var seed: UInt64 = 1
    public var dropLast = false
    /// Batches read ahead by a background thread; 0 reads on the training thread.
    public var prefetch = 4
    public var snapshotPath: String?
    /// Also write the snapshot every this many epochs (0: only at the end).
    public var snapshotEvery = 0
    public init() {}
}

/// What one epoch measured.
public struct EpochMetrics: Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double?
    public var testLoss: Double?
    public var testAccuracy: Double?
    public var samples: Int
    public var seconds: Double
    /// Time blocked waiting for the next batch.
    public var waitSeconds: Double
    /// Time in forward, backward and the update.
    public var computeSeconds: Double
    /// Each step's compute time, in milliseconds.
    public var stepMilliseconds: [Double]
    /// Whether the epoch was ended early (Ctrl-C in the benchmark).
    public var stopped = false
    /// Decoded chunk bytes over the samples' bytes, when the source decodes chunks.
    public var readAmplification: Double?

    public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
    /// The share of the epoch spent waiting for data.
    public var waitShare: Double { seconds > 0 ? waitSeconds / seconds : 0 }
}

/// A run that cannot go on; names the file, epoch or step.
public struct TrainingError: FeedBenchError {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Trains a graph from a data source: prefetched batches, forward, backward, SGD update.
/// Every check of the data against the network happens in `init`, before any work.
public final class Trainer {
    public let graph: Graph<Float>
    public let optimizer: SGD<Float>
    public let train: any DataSource
    public let test: (any DataSource)?
    public let options: TrainingOptions
    public let dataInput: String
    public let labelInput: String
    public private(set) var step = 0
    private var lastSnapshotEpoch: Int?

    public init(graph: Graph<Float>, optimizer: SGD<Float>, train: any DataSource, test: (any DataSource)?, options: TrainingOptions) throws {
        self.graph = graph
        self.optimizer = optimizer
        self.train = train
        self.test = test
        self.options = options
        let inputs = graph.inputNodes
        guard let data = inputs.first(where: { !$0.shape.isLabel }), let label = inputs.first(where: { $0.shape.isLabel }),
              inputs.count == 2 else {
            throw TrainingError("the network must have one data input and one `label` input, it has \(inputs.map(\.name))")
        }
        dataInput = data.name
        labelInput = label.name
        guard data.shape.elementCount == train.sampleElements else {
            throw TrainingError("network input '\(data.name)' takes \(data.shape.elementCount) values per sample, but \(train.name) has samples of shape \(describe(shape: train.sampleShape)) (\(train.sampleElements) values)")
        }
        if let classes = graph.classes(ofLabel: label.name) {
            for source in [train] + (test.map { [$0] } ?? []) {
                guard let found = source.classes else {
                    throw TrainingError("\(source.name): labels are not all class indices (integers ≥ 0), which \(graph.nodes[graph.lossIndex].operation!.name) needs")
                }
                guard found <= classes else {
                    throw TrainingError("\(source.name): labels go up to \(found - 1), but the network has \(classes) classes (labels 0…\(classes - 1))")
                }
            }
        }
        if let test, test.sampleShape != train.sampleShape {
            throw TrainingError("test set \(test.name) has samples of shape \(describe(shape: test.sampleShape)), the training set \(describe(shape: train.sampleShape))")
        }
        guard options.batchSize >= 1 else { throw TrainingError("batch size must be at least 1") }
    }

    /// Runs every epoch, writing snapshots as asked. `onEpoch` sees each epoch's metrics;
    /// `progress` gets (samples done, samples in the epoch) while it runs.
    @discardableResult
    public func run(onEpoch: (EpochMetrics) throws -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws -> [EpochMetrics] {
        var all: [EpochMetrics] = []
        for epoch in 1...max(1, options.epochs) {
            let metrics = try runEpoch(epoch, progress: progress)
            all.append(metrics)
            let last = epoch == options.epochs
            if let path = options.snapshotPath, last || (options.snapshotEvery > 0 && epoch % options.snapshotEvery == 0) {
                try Snapshot.write(graph, to: path, epoch: epoch, step: step)
                lastSnapshotEpoch = epoch
            }
            try onEpoch(metrics)
        }
        return all
    }

    /// One pass over the training set, then the test set if there is one. `stop` ends the
    /// epoch early (the metrics then say `stopped`).
    public func runEpoch(_ epoch: Int, progress: (Int, Int) -> Void = { _, _ in }, stop: () -> Bool = { false }) throws -> EpochMetrics {
        let source: any DataSource = options.prefetch > 0 ? PrefetchingSource(train, depth: options.prefetch) : train
        let iterator = try source.makeIterator(EpochOptions(
            batchSize: options.batchSize, order: options.order, seed: options.seed &+ UInt64(epoch), dropLast: options.dropLast))
        var lossSum = 0.0, correct = 0, stepInEpoch = 0
        let classify = graph.scoresNode != nil
        let timing = try TimedEpoch.run(iterator, expectedBatches: train.sampleCount / options.batchSize + 1, stop: stop) { batch in
            try graph.feed(batch.data, to: dataInput)
            try graph.feed(batch.labels, to: labelInput)
            let loss = try graph.forward()
            stepInEpoch += 1
            guard loss.isFinite else {
                let kept = lastSnapshotEpoch.map { "; the last good snapshot (epoch \($0)) is kept in \(options.snapshotPath!)" }
                    ?? (options.snapshotPath != nil ? "; no snapshot was written" : "")
                throw TrainingError("the loss became \(loss) at epoch \(epoch), step \(stepInEpoch) (step \(step + 1) overall)\(kept)")
            }
            graph.backward()
            optimizer.step(graph)
            step += 1
            lossSum += Double(loss) * Double(batch.count)
            if classify { correct += countCorrect(labels: batch.labels) }
            progress(stepInEpoch * options.batchSize, train.sampleCount)
        }
        let samples = timing.samples
        var metrics = EpochMetrics(
            epoch: epoch, trainLoss: samples > 0 ? lossSum / Double(samples) : .nan,
            trainAccuracy: classify && samples > 0 ? Double(correct) / Double(samples) : nil,
            testLoss: nil, testAccuracy: nil, samples: samples, seconds: timing.seconds, waitSeconds: timing.waitSeconds,
            computeSeconds: timing.computeSeconds, stepMilliseconds: timing.stepMilliseconds, stopped: timing.stopped,
            readAmplification: iterator.statistics?.readAmplification)
        if let test, !timing.stopped {
            let result = try evaluate(test)
            metrics.testLoss = result.loss
            metrics.testAccuracy = result.accuracy
        }
        return metrics
    }

    /// Mean loss and accuracy over a whole source, forward only.
    public func evaluate(_ source: any DataSource) throws -> (loss: Double, accuracy: Double?) {
        let iterator = try source.makeIterator(EpochOptions(batchSize: options.batchSize, order: .sequential))
        var lossSum = 0.0, correct = 0, samples = 0
        while let batch = try iterator.next() {
            try graph.feed(batch.data, to: dataInput)
            try graph.feed(batch.labels, to: labelInput)
            lossSum += Double(try graph.forward()) * Double(batch.count)
            if graph.scoresNode != nil { correct += countCorrect(labels: batch.labels) }
            samples += batch.count
        }
        return (samples > 0 ? lossSum / Double(samples) : .nan,
                graph.scoresNode != nil && samples > 0 ? Double(correct) / Double(samples) : nil)
    }

    /// How many rows of the scores node pick the label.
    private func countCorrect(labels: Tensor<Float>) -> Int {
        guard let name = graph.scoresNode, let scores = graph.value(of: name) else { return 0 }
        let k = scores.columns, p = scores.pointer
        var correct = 0
        for r in 0..<scores.rows {
            var best = 0
            for j in 1..<k where p[r * k + j] > p[r * k + best] { best = j }
            if Float(best) == labels.pointer[r] { correct += 1 }
        }
        return correct
    }
}
