import ArgumentParser
import DataSources
import Experiments
import Foundation
import Graph
import NetworkSpecs
import Ranks

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a network from an HDF5 list, an HDF5 file, an LMDB or a raw folder.",
        discussion: "Prints one line per epoch (loss, accuracy, samples/s, the share of time spent waiting for data); --log writes the same as CSV.")

    @Option(help: "Training data: a list file, an HDF5 file, an LMDB or raw folder (hdf5:, lmdb:, raw: force the kind).")
    var train: DataSetArgument
    @Option(help: "Test data, evaluated after every epoch.") var test: DataSetArgument?
    @Option(help: "The network spec (YAML).") var net: String?
    @Option(help: "Hidden layer sizes of an MLP, such as 256,128 (instead of --net).") var hidden: String?
    @Option(help: "Classes for --hidden (default: max label + 1 of the training data).") var classes: Int?
    @Option(help: "Epochs.") var epochs: Int = 10
    @Option(help: "Samples per batch.") var batchSize: Int = 64
    @Option(help: "Learning rate.") var learningRate: Float = 0.05
    @Option(help: "Momentum.") var momentum: Float = 0.9
    @Option(help: "Weight decay (L2, added to every gradient).") var weightDecay: Float = 0
    @Option(help: "Seed for the weights and the sample order.") var seed: UInt64 = 1
    @Option(help: "Sample order.") var order: SampleOrder = .shuffle
    @Flag(help: "Drop the last batch when it is smaller than --batch-size.") var dropLast = false
    @Option(help: "Batches read ahead by a background thread (0: none).") var prefetch: Int = 4
    @Option(help: "Multiply every stored value by this (default: 1/255 for uint8, 1 otherwise).") var scale: Float?
    @Option(name: .customLong("init"), help: "Start from the weights in this snapshot.") var initFrom: String?
    @Option(help: "Continue the run that wrote this snapshot: its network (unless --net or --hidden is given), weights, momentum, sample order, batch size and optimizer settings; --epochs is the total.")
    var resume: String?
    @Option(help: "Write the weights here at the end (and every --snapshot-every epochs).") var snapshot: String?
    @Option(help: "Also snapshot every N epochs.") var snapshotEvery: Int = 0
    @Option(help: "Write the per-epoch figures as CSV here.") var log: String?
    @Flag(help: "Replace a --log or --snapshot file that FeedBench did not write.") var overwrite = false
    @OptionGroup var images: ImageArguments
    @Flag(help: "Print each epoch's figures as one JSON line on stdout (the --log columns); other lines go to stderr.")
    var json = false
    @OptionGroup var keys: KeyOptions
    @Flag(help: "Join MPI's world even when not started by mpirun (under mpirun this is automatic).") var mpi = false
    @Flag(inversion: .prefixedNo, help: "Over ranks: start each gradient's reduction (MPI_Iallreduce) as soon as backward finishes it, instead of one MPI_Allreduce per parameter after backward.")
    var overlap = false
    @Option(help: "Compressed HDF5 chunks and encoded images: decode threads (default: one per core).") var decodeThreads: Int?
    @Option(help: "Compressed HDF5: MiB of decoded chunks an epoch keeps at most (default: a quarter of memory).")
    var decodedCacheMib: Int?

    func validate() throws {
        guard (net == nil) != (hidden == nil) || (resume != nil && net == nil && hidden == nil) else {
            throw ValidationError("give exactly one of --net NET.yaml and --hidden H1,H2,… (or --resume SNAP.h5 alone)")
        }
        guard resume == nil || initFrom == nil else { throw ValidationError("give --init or --resume, not both") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--weight-decay must not be negative") }
        guard prefetch >= 0, prefetch <= 1024 else { throw ValidationError("--prefetch must be between 0 and 1024") }
        guard snapshotEvery >= 0 else { throw ValidationError("--snapshot-every must not be negative") }
        if let scale, !scale.isFinite { throw ValidationError("--scale must be a finite number, got \(scale)") }
        if let decodeThreads, decodeThreads < 1 { throw ValidationError("--decode-threads must be at least 1") }
        if let decodedCacheMib, decodedCacheMib < 0 { throw ValidationError("--decoded-cache-mib must not be negative") }
        if let classes, classes < 1 { throw ValidationError("--classes must be at least 1") }
        _ = try hiddenSizes()
    }

    func hiddenSizes() throws -> [Int]? {
        guard let hidden else { return nil }
        guard let sizes = Int.positiveList(hidden) else {
            throw ValidationError("--hidden must be positive sizes separated by commas, such as 256,128; got '\(hidden)'")
        }
        return sizes
    }

    func run() throws {
        // Outputs that cannot be written are refused before any training.
        if let log { try AtomicFile.checkReplaceable(log, as: .file, overwrite: overwrite, own: .text(firstLine: EpochLine.csvHeader[0])) }
        if let snapshot { try AtomicFile.checkReplaceable(snapshot, as: .file, overwrite: overwrite, own: .hdf5) }
        let ranks = try Ranks.start(force: mpi)  // ended by `FeedBench.main`, which knows whether every rank got there
        // Ranks sharing a host share its cores: BLAS gets this rank's part of them.
        BLASThreads.set(max(1, 2 / ranks.localSize))
        // Every rank opens the data and builds the network; if one fails, all stop with its message.
        let (trainSource, trainer) = try ranks.together { try prepare(ranks) }
        let graph = trainer.graph
        if ranks.isRoot {
            say("training on \(trainSource.name): \(trainSource.sampleCount) samples of \(trainSource.sampleShape), "
                + "\(graph.parameters.reduce(0) { $0 + $1.value.count }) parameters, batch \(trainer.options.batchSize), \(trainer.options.order.rawValue), prefetch \(prefetch)")
            if let shard = trainer.rankShard {
                say("\(ranks.size) rank\(ranks.size == 1 ? "" : "s") on \(ranks.nodes) host\(ranks.nodes == 1 ? "" : "s"), global batch \(trainer.options.batchSize * ranks.size): \(shard); "
                    + "gradients summed with MPI_Allreduce\(overlap ? ", each started as soon as backward finishes it" : " after backward")")
            }
        }
        var logRows: [[String]] = []
        let progress = ranks.isRoot ? ProgressLine("epoch", total: trainSource.sampleCount) : nil
        defer { progress?.finish() }
        try trainer.run(onEpoch: { m in
            guard ranks.isRoot else { return }
            progress?.finish()
            print(json ? EpochLine.json(m) : EpochLine.text(m, of: epochs))
            logRows.append(EpochLine.csvRow(m))
            if let log { try CSVTable.write(header: EpochLine.csvHeader, rows: logRows, to: log, overwrite: overwrite) }
        }, progress: { done, _ in progress?.update(done) })
        if ranks.isRoot, let snapshot { say("snapshot: \(snapshot)") }
    }

    /// Opens the data, builds the network and the trainer (on every rank).
    func prepare(_ ranks: Ranks) throws -> (any DataSource, Trainer) {
        // A resumed run takes its training settings from the snapshot.
        let saved = try resume.map { try Snapshot.read($0) }
        let state = saved?.resume
        let batch = state?.batchSize ?? batchSize
        let cacheBytes = decodedCacheMib.map { $0 << 20 }
        let trainSource = try train.location().open(keys: keys.keys, scale: scale, batchSizeHint: batch,
                                                    decodeThreads: decodeThreads, decodedCacheBytes: cacheBytes, images: images.options(training: true))
        let testSource = try test.map { try $0.location().open(keys: keys.keys, scale: scale, batchSizeHint: batch,
                                                               decodeThreads: decodeThreads, decodedCacheBytes: cacheBytes, images: images.options(training: false)) }
        if ranks.isRoot { reportSkipped(trainSource); testSource.map(reportSkipped) }
        let spec: NetworkSpec
        if let net {
            spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: net))
        } else if hidden != nil {
            guard trainSource.sampleCount > 0 else { throw UserError("\(train): holds no samples") }
            guard let k = classes ?? trainSource.classes else {
                throw UserError("\(train): labels are not class indices 0…\(ClassLabels.limit - 1); give --classes or a --net")
            }
            spec = .mlp(inputShape: trainSource.sampleShape, hidden: try hiddenSizes() ?? [], classes: k)
        } else {
            guard let resume, let text = saved?.network else { throw UserError("\(resume ?? "--resume"): the snapshot holds no network; give --net") }
            do { spec = try NetworkSpec(yaml: text) } catch { throw UserError("\(resume): its network: \(error)") }
        }
        let graph: Graph<Float>
        do { graph = try Graph<Float>(spec: spec, seed: state?.seed ?? seed) } catch let e as GraphError { throw UserError("\(net ?? "--hidden"): \(e)") }
        if let initFrom {
            let start = try Snapshot.load(initFrom, into: graph)
            if ranks.isRoot { say("initialised from \(initFrom)" + (start.epoch.map { " (epoch \($0))" } ?? "")) }
        }
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = batch
        options.order = state?.order ?? order
        options.seed = state?.seed ?? seed
        options.dropLast = state?.dropLast ?? dropLast
        options.prefetch = prefetch
        options.snapshotPath = snapshot
        options.snapshotEvery = snapshotEvery
        options.overwrite = overwrite
        options.overlapReduction = overlap
        let sgd = SGD<Float>(learningRate: state?.learningRate ?? learningRate, momentum: state?.momentum ?? momentum,
                             weightDecay: state?.weightDecay ?? weightDecay)
        if let resume, let saved {
            if let difference = Snapshot.firstDifference(graph, saved) { throw UserError("\(resume): cannot resume: \(difference)") }
            try Snapshot.load(resume, into: graph)
            let momentumLoaded = try Snapshot.loadMomentum(resume, for: graph, into: sgd)
            let done = saved.epoch ?? 0
            options.firstEpoch = done + 1
            options.initialStep = saved.step ?? 0
            guard done < epochs else { throw UserError("\(resume) is at epoch \(done): nothing left to train with --epochs \(epochs) (the total)") }
            if ranks.isRoot {
                say("resuming from \(resume): epoch \(done) done, step \(options.initialStep); epochs \(done + 1)–\(epochs)"
                    + (state == nil ? " with the command line's settings" : " with the snapshot's seed, order, batch and optimizer settings")
                    + (momentumLoaded ? "" : "; the snapshot has no momentum (an older FeedBench wrote it): momentum starts from zero"))
            }
        }
        return (trainSource, try Trainer(graph: graph, optimizer: sgd, train: trainSource, test: testSource, options: options, ranks: ranks))
    }

    /// A line for the user: stdout, or stderr when stdout carries JSON lines.
    func say(_ line: String) {
        if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
    }
}

/// The per-epoch line and CSV row of `feedbench train`.
enum EpochLine {
    static let csvHeader = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "samples_per_s", "data_wait_share", "seconds",
                            "ranks", "compute_s", "data_wait_s", "communication_s", "weights_checksum"]

    static func text(_ m: EpochMetrics, of epochs: Int) -> String {
        var s = String(format: "epoch %d/%d  train loss %.4f", m.epoch, epochs, m.trainLoss)
        if let a = m.trainAccuracy { s += String(format: " acc %.2f%%", a * 100) }
        if let l = m.testLoss { s += String(format: "  test loss %.4f", l) }
        if let a = m.testAccuracy { s += String(format: " acc %.2f%%", a * 100) }
        s += String(format: "  %.0f samples/s  data wait %.1f%%", m.samplesPerSecond, m.waitShare * 100)
        if m.ranks > 1 || m.weightsChecksum != nil {
            s += String(format: "  [%ld rank%@, rank 0: compute %.2f s, data wait %.2f s, communication %.2f s;", m.ranks, m.ranks == 1 ? "" : "s",
                        m.computeSeconds, m.waitSeconds, m.communicationSeconds)
            s += " weights \(String(m.weightsChecksum ?? 0, radix: 16)) on every rank]"
        }
        return s
    }

    /// The CSV row's columns as one JSON line (`--json`).
    static func json(_ m: EpochMetrics) -> String {
        JSONLine.object(zip(csvHeader, csvRow(m)).filter { !$0.1.isEmpty }.map { ($0.0, $0.1, true) })
    }

    static func csvRow(_ m: EpochMetrics) -> [String] {
        func f(_ x: Double?) -> String { ResultColumn.format(x) }
        return [String(m.epoch), f(m.trainLoss), f(m.trainAccuracy), f(m.testLoss), f(m.testAccuracy),
                f(m.samplesPerSecond), f(m.waitShare), f(m.seconds),
                String(m.ranks), f(m.computeSeconds), f(m.waitSeconds), f(m.communicationSeconds),
                m.weightsChecksum.map { String($0, radix: 16) } ?? ""]
    }
}
