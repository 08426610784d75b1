import DataSources
import Foundation
import Graph
import Ranks

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
    /// Replace a file at the snapshot path that FeedBench did not write.
    public var overwrite = false
    /// Over several ranks: start each gradient's reduction (`MPI_Iallreduce`) as soon as
    /// backward has finished it, overlapping the rest of backward; false (the default): a
    /// blocking `MPI_Allreduce` per parameter after backward, which is faster on a machine
    /// whose cores are all computing (README, "Over Open MPI ranks").
    public var overlapReduction = false
    /// The first epoch to run (a resumed run starts after the snapshot's epoch) and the
    /// steps taken before it; epochs run up to `epochs`.
    public var firstEpoch = 1
    public var initialStep = 0
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
    /// Each step's time (compute and, over ranks, communication), in milliseconds.
    public var stepMilliseconds: [Double]
    /// Over ranks: time blocked in MPI (the per-step status and the gradients' reduction
    /// beyond what overlapped backward); part of the step time above, not of `computeSeconds`.
    public var communicationSeconds = 0.0
    /// Over ranks: the slowest rank's data wait and compute (the figures above are rank 0's).
    public var slowestWaitSeconds: Double?
    public var slowestComputeSeconds: Double?
    /// The ranks that trained together (1 without MPI).
    public var ranks = 1
    /// Over ranks: the checksum of the weights after the epoch, the same on every rank.
    public var weightsChecksum: UInt64?
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
    /// The ranks training together; `.single` without MPI.
    public let ranks: Ranks
    /// How the ranks share each epoch (nil for one rank).
    public let rankShard: RankShard?
    public private(set) var step = 0
    private var lastSnapshotEpoch: Int?

    public init(graph: Graph<Float>, optimizer: SGD<Float>, train: any DataSource, test: (any DataSource)?, options: TrainingOptions,
                ranks: Ranks = .single) throws {
        self.graph = graph
        self.ranks = ranks
        step = options.initialStep
        rankShard = ranks.usesMPI ? RankShard(files: train.segments.fileSizes.count, rank: ranks.rank, ranks: ranks.size) : nil
        self.optimizer = optimizer
        self.train = train
        self.test = test
        self.options = options
        guard train.sampleCount > 0 else { throw TrainingError("\(train.name): holds no samples") }
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
                    throw TrainingError("\(source.name): labels are not all class indices (integers 0…\(ClassLabels.limit - 1)), which \(graph.nodes[graph.lossIndex].operation!.name) needs")
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
        // The batches read ahead (prefetch + the ring's spares), as float32: refused up front
        // rather than an allocation the machine cannot make.
        let buffers = options.prefetch + 3
        guard let ring = SizeLimits.product([options.batchSize, train.sampleElements, MemoryLayout<Float>.size, buffers]),
              ring <= SizeLimits.memory / 2 else {
            throw TrainingError("batch size \(options.batchSize) with \(buffers) batches in flight needs more than half the machine's \(SizeLimits.gib(SizeLimits.memory)) for \(train.name)'s samples (\(train.sampleElements) values each); use a smaller --batch-size or --prefetch")
        }
    }

    /// Runs every epoch, writing snapshots as asked. `onEpoch` sees each epoch's metrics;
    /// `progress` gets (samples done, samples in the epoch) while it runs.
    @discardableResult
    public func run(onEpoch: (EpochMetrics) throws -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws -> [EpochMetrics] {
        var all: [EpochMetrics] = []
        for epoch in options.firstEpoch...max(options.firstEpoch, options.epochs) {
            let metrics = try runEpoch(epoch, progress: progress)
            all.append(metrics)
            let last = epoch >= options.epochs
            if ranks.isRoot, let path = options.snapshotPath, last || (options.snapshotEvery > 0 && epoch % options.snapshotEvery == 0) {
                let state = ResumeState(epoch: epoch, step: step, seed: options.seed, order: options.order, batchSize: options.batchSize,
                                        dropLast: options.dropLast, learningRate: optimizer.learningRate, momentum: optimizer.momentum,
                                        weightDecay: optimizer.weightDecay)
                try Snapshot.write(graph, to: path, epoch: epoch, step: step, optimizer: optimizer, resume: state, overwrite: options.overwrite)
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
        var epochOptions = EpochOptions(
            batchSize: options.batchSize, order: options.order, seed: options.seed &+ UInt64(epoch), dropLast: options.dropLast)
        epochOptions.rankShard = rankShard
        let iterator = try source.makeIterator(epochOptions)
        if ranks.usesMPI { return try runEpochTogether(epoch, iterator, progress: progress) }
        var lossSum = 0.0, correct = 0, stepInEpoch = 0
        let classify = graph.scoresNode != nil
        let timing = try TimedEpoch.run(iterator, expectedBatches: train.sampleCount / options.batchSize + 1, stop: stop) { batch in
            try graph.feed(batch.data, to: dataInput)
            try graph.feed(batch.labels, to: labelInput)
            let loss = try graph.forward()
            stepInEpoch += 1
            guard loss.isFinite else { throw nonFiniteLoss(loss, epoch: epoch, stepInEpoch: stepInEpoch) }
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

    private func nonFiniteLoss(_ loss: some BinaryFloatingPoint, epoch: Int, stepInEpoch: Int) -> TrainingError {
        let kept = lastSnapshotEpoch.map { "; the last good snapshot (epoch \($0)) is kept in \(options.snapshotPath!)" }
            ?? (options.snapshotPath != nil ? "; no snapshot was written" : "")
        return TrainingError("the loss became \(Double(loss)) at epoch \(epoch), step \(stepInEpoch) (step \(step + 1) overall)\(kept)")
    }

    /// Mean loss and accuracy over a whole source, forward only; over ranks, each rank
    /// evaluates its block of every batch and the sums are reduced.
    public func evaluate(_ source: any DataSource) throws -> (loss: Double, accuracy: Double?) {
        var epochOptions = EpochOptions(batchSize: options.batchSize, order: .sequential)
        if ranks.usesMPI { epochOptions.rankShard = RankShard(rule: .blocks, rank: ranks.rank, ranks: ranks.size) }
        var sums = try ranks.together {
            let iterator = try source.makeIterator(epochOptions)
            var lossSum = 0.0, correct = 0, samples = 0
            while let batch = try iterator.next() {
                try graph.feed(batch.data, to: dataInput)
                try graph.feed(batch.labels, to: labelInput)
                lossSum += Double(try graph.forward()) * Double(batch.count)
                if graph.scoresNode != nil { correct += countCorrect(labels: batch.labels) }
                samples += batch.count
            }
            return [lossSum, Double(correct), Double(samples)]
        }
        sums = try ranks.allreduce(sums)
        let samples = sums[2]
        return (samples > 0 ? sums[0] / samples : .nan,
                graph.scoresNode != nil && samples > 0 ? sums[1] / samples : nil)
    }

    // MARK: - Over ranks

    /// One epoch of data-parallel SGD. Each step, every rank reads its block, runs forward,
    /// and the ranks sum [samples, loss · samples, correct, failed] (one small reduction), so
    /// every rank knows at once whether one failed and what the global batch was. Backward
    /// is seeded with the rank's sample count; the gradients are summed over ranks (each
    /// one started as soon as backward finishes it, when `overlapReduction`) and the update
    /// divides by the global sample count: the step of one process with the global batch.
    private func runEpochTogether(_ epoch: Int, _ iterator: any BatchIterator, progress: (Int, Int) -> Void) throws -> EpochMetrics {
        let clock = ContinuousClock()
        var lossSum = 0.0, correct = 0.0, samples = 0, stepInEpoch = 0, communication = 0.0
        let classify = graph.scoresNode != nil
        let expected = train.sampleCount / max(1, options.batchSize * ranks.size) + 1
        let timing = try TimedEpoch.runTogether(iterator, expectedBatches: expected) { batch, readError in
            var failure = readError.map(Ranks.message)
            var count = 0, loss = 0.0, right = 0
            if failure == nil, let batch {
                do {
                    try graph.feed(batch.data, to: dataInput)
                    try graph.feed(batch.labels, to: labelInput)
                    loss = Double(try graph.forward())
                    count = batch.count
                    if classify { right = countCorrect(labels: batch.labels) }
                } catch { failure = Ranks.message(error) }
            }
            let t0 = clock.now
            let status = try ranks.allreduce([Double(count), loss * Double(count), Double(right), failure == nil ? 0 : 1])
            communication += TimedEpoch.seconds(clock.now - t0)
            if status[3] > 0 { try ranks.agree(failure) }
            let total = Int(status[0])
            guard total > 0 else { return false }
            stepInEpoch += 1
            guard status[1].isFinite else {
                // Every rank sees the same sum: one error, printed once by rank 0.
                throw RankFailure(rank: nil, ranks: ranks.size, message: nonFiniteLoss(status[1], epoch: epoch, stepInEpoch: stepInEpoch).description)
            }
            communication += try reduceGradients(count: count)
            optimizer.step(graph, gradientScale: 1 / Float(total))
            step += 1
            lossSum += status[1]
            correct += status[2]
            samples += total
            progress(samples, train.sampleCount)
            return true
        }
        let checksum = try agreedChecksum(epoch: epoch)
        let slowest = try ranks.allreduce([timing.waitSeconds, timing.computeSeconds - communication], .max)
        var metrics = EpochMetrics(
            epoch: epoch, trainLoss: samples > 0 ? lossSum / Double(samples) : .nan,
            trainAccuracy: classify && samples > 0 ? correct / Double(samples) : nil,
            testLoss: nil, testAccuracy: nil, samples: samples, seconds: timing.seconds, waitSeconds: timing.waitSeconds,
            computeSeconds: timing.computeSeconds - communication, stepMilliseconds: timing.stepMilliseconds, stopped: false,
            readAmplification: iterator.statistics?.readAmplification)
        metrics.communicationSeconds = communication
        metrics.slowestWaitSeconds = slowest[0]
        metrics.slowestComputeSeconds = slowest[1]
        metrics.ranks = ranks.size
        metrics.weightsChecksum = checksum
        if let test {
            let result = try evaluate(test)
            metrics.testLoss = result.loss
            metrics.testAccuracy = result.accuracy
        }
        return metrics
    }

    /// Backward seeded with this rank's sample count, and the gradients summed over ranks.
    /// Returns the seconds spent blocked in MPI (starting reductions, and waiting for them
    /// after backward). A rank with no samples this step contributes zero gradients.
    private func reduceGradients(count: Int) throws -> Double {
        let clock = ContinuousClock()
        var blocked = 0.0
        if count == 0 {
            for p in graph.parameters { p.gradient.fill(0) }
        }
        guard options.overlapReduction else {
            if count > 0 { graph.backward(seed: Float(count)) }
            let t0 = clock.now
            for p in graph.parameters { try ranks.allreduce(p.gradient.pointer, count: p.gradient.count) }
            return TimedEpoch.seconds(clock.now - t0)
        }
        var pending: [Ranks.Request] = []
        var failure: Error?
        let start: (Int) -> Void = { [self] index in
            let t0 = clock.now
            do {
                let gradient = graph.parameters[index].gradient
                pending.append(try ranks.startAllreduce(gradient.pointer, count: gradient.count))
                for request in pending { _ = try request.test() }
            } catch { if failure == nil { failure = error } }
            blocked += TimedEpoch.seconds(clock.now - t0)
        }
        if count > 0 {
            graph.backward(seed: Float(count), gradientReady: start)
        } else {
            for index in graph.gradientReadyOrder { start(index) }  // the order every rank starts them in
        }
        if let failure { throw failure }
        let t0 = clock.now
        for request in pending { try request.wait() }
        return blocked + TimedEpoch.seconds(clock.now - t0)
    }

    /// The weights' checksum after an epoch, checked equal on every rank.
    private func agreedChecksum(epoch: Int) throws -> UInt64 {
        let mine = Self.checksum(graph)
        let all = try ranks.allgather(mine)
        guard Set(all).count == 1 else {
            let listed = all.enumerated().map { "rank \($0.offset): \(String($0.element, radix: 16))" }.joined(separator: ", ")
            throw RankFailure(rank: nil, ranks: ranks.size,
                              message: "the weights differ between ranks after epoch \(epoch) (\(listed)): the ranks no longer train one model")
        }
        return mine
    }

    /// FNV-1a over every parameter's bytes.
    public static func checksum(_ graph: Graph<Float>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in graph.parameters {
            let bytes = UnsafeRawBufferPointer(start: p.value.pointer, count: p.value.count * MemoryLayout<Float>.stride)
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return hash
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
