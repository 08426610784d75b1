import Experiments
import Foundation
import Graph
import HDF5
import Testing
import TestSupport

/// `train --resume`: K epochs, then resume for the rest, equals one uninterrupted run bit
/// for bit (weights and momentum); older snapshots, mismatched networks and `inspect`.
@Suite struct ResumeTests {
    let dir = makeTemporaryDirectory().path
    let common = ["--train", "datasets/digits/train.txt", "--test", "datasets/digits/test.txt"]
    let settings = ["--hidden", "32", "--weight-decay", "0.0001", "--learning-rate", "0.03", "--momentum", "0.8", "--batch-size", "48",
                    "--seed", "5", "--order", "chunk-shuffle"]

    /// Every dataset of a group, as raw floats.
    func tensors(_ path: String, _ group: String) throws -> [String: [Float]] {
        let g = try File.open(path).root.group(group)
        var all: [String: [Float]] = [:]
        for name in try g.memberNames() {
            let d = try g.dataset(name)
            var values = [Float](repeating: 0, count: d.shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { try d.read(rows: 0..<d.shape[0], into: $0.baseAddress!, as: .float32) }
            all[name] = values
        }
        return all
    }

    @Test func resumedRunIsBitIdenticalToAnUninterruptedOne() throws {
        let full = try FeedBenchProcess(["train"] + common + settings + ["--epochs", "5", "--snapshot", "\(dir)/full.h5"])
        #expect(full.status == 0, "\(full.stderr)")
        let half = try FeedBenchProcess(["train"] + common + settings + ["--epochs", "2", "--snapshot", "\(dir)/half.h5"])
        #expect(half.status == 0, "\(half.stderr)")
        // The network and every training setting come from the snapshot.
        let rest = try FeedBenchProcess(["train"] + common + ["--resume", "\(dir)/half.h5", "--epochs", "5", "--snapshot", "\(dir)/resumed.h5"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("resuming from \(dir)/half.h5: epoch 2 done"))
        #expect(rest.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.map { $0.split(separator: " ")[1] } == ["3/5", "4/5", "5/5"])
        for group in ["params", "momentum"] {
            let a = try tensors("\(dir)/full.h5", group), b = try tensors("\(dir)/resumed.h5", group)
            #expect(a.count == 4)
            #expect(a == b, "\(group) differ")
        }
        // The last epoch's line is the same too.
        #expect(full.stdout.split(separator: "\n").last { $0.hasPrefix("epoch 5/5") }?.prefix(60)
            == rest.stdout.split(separator: "\n").last { $0.hasPrefix("epoch 5/5") }?.prefix(60))
        let info = try Snapshot.read("\(dir)/resumed.h5")
        let fullInfo = try Snapshot.read("\(dir)/full.h5")
        #expect(info.epoch == 5 && info.step == fullInfo.step)
        #expect(info.resume?.order == .chunkShuffle && info.resume?.batchSize == 48 && info.resume?.seed == 5 && info.resume?.momentum == 0.8)
    }

    @Test func olderSnapshotsResumeWithMomentumFromZero() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [1, 8, 8], hidden: [16], classes: 10), seed: 2)
        try Snapshot.write(graph, to: "\(dir)/old.h5", epoch: 1, step: 23)
        let run = try FeedBenchProcess(["train"] + common + ["--resume", "\(dir)/old.h5", "--epochs", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("momentum starts from zero"))
        #expect(run.stdout.contains("epoch 2/2"))
    }

    @Test func aDifferentNetworkOrNothingLeftIsOneLine() throws {
        let half = try FeedBenchProcess(["train"] + common + settings + ["--epochs", "1", "--snapshot", "\(dir)/one.h5"])
        #expect(half.status == 0, "\(half.stderr)")
        let other = try FeedBenchProcess(["train"] + common + ["--resume", "\(dir)/one.h5", "--hidden", "16", "--epochs", "2"])
        #expect(other.status == 1)
        #expect(other.stderr == "Error: \(dir)/one.h5: cannot resume: parameter 'fc1.W' is [64, 16] in the network, [64, 32] in the snapshot\n")
        let done = try FeedBenchProcess(["train"] + common + ["--resume", "\(dir)/one.h5", "--epochs", "1"])
        #expect(done.status == 1)
        #expect(done.stderr.contains("is at epoch 1: nothing left to train with --epochs 1"))
        let inspect = try FeedBenchProcess(["inspect", "\(dir)/one.h5"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("FeedBench snapshot, epoch 1, step 30"))
        #expect(inspect.stdout.contains("training state: seed 5, chunk-shuffle, batch 48"))
        #expect(inspect.stdout.contains("  fc1.W  [64, 32]"))
        #expect(inspect.stdout.contains("mlp: {input: [1, 8, 8], hidden: [32]"))
    }
}

/// A `log` of data that can be 0 builds (it is data, not a spec error) and stops training at
/// the first non-finite loss, naming the step.
@Test func logOfZeroStopsTrainingNamingTheStep() throws {
    let dir = makeTemporaryDirectory().path
    try """
        inputs: {x: [1, 8, 8], y: label}
        params: {W: {shape: [64, 10], init: xavier}}
        nodes:
          - {name: l, op: log, inputs: [x]}
          - {name: s, op: dense, inputs: [l, W]}
          - {name: loss, op: softmax_cross_entropy, inputs: [s, y]}
        loss: loss
        """.write(toFile: "\(dir)/log.yaml", atomically: true, encoding: .utf8)
    let run = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--net", "\(dir)/log.yaml", "--epochs", "1"])
    #expect(run.status == 1)
    #expect(run.stderr.hasPrefix("Error: the loss became") && run.stderr.contains("at epoch 1, step 1"), "\(run.stderr)")
    #expect(run.stderr.split(separator: "\n").count == 1)
}

/// The benchmark's training mode with a network spec (`network: {spec: …}`) instead of the MLP.
@Suite struct BenchNetworkSpecTests {
    @Test func trainModeUsesTheSpec() throws {
        let dir = makeTemporaryDirectory().path
        let config = "\(dir)/cnn.yaml"
        try """
            experiment: cnn
            dataset:
              name: small
              generate: {samples: 256, shape: [1, 8, 8], classes: 10, seed: 1}
            backends:
              - {name: raw, format: raw}
            orders: [shuffle]
            cache: [warm]
            batch_sizes: [32]
            modes: [train]
            repeats: 1
            warmup: 0
            network: {spec: benchmarks/nets/digits-cnn.yaml, learning_rate: 0.01}
            peers: false
            data_dir: \(dir)/data
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try FeedBenchProcess(["bench", config, "--out", "\(dir)/out"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try ResultsCSV.read("\(dir)/out/results.csv")
        #expect(rows.filter { $0.mode == .train }.count == 1)
        #expect(rows.first { $0.mode == .train }?.stepMsMedian != nil)
        // hidden and spec together: one line.
        try "experiment: x\ndataset: {name: s, generate: {samples: 64, shape: [1, 8, 8]}}\nbackends: [{name: raw, format: raw}]\nnetwork: {hidden: [8], spec: benchmarks/nets/digits-cnn.yaml}\n"
            .write(toFile: "\(dir)/both.yaml", atomically: true, encoding: .utf8)
        let both = try FeedBenchProcess(["bench", "\(dir)/both.yaml", "--out", "\(dir)/out2"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("network: give hidden (an MLP) or spec (a network spec file), not both"), "\(both.stderr)")
    }
}
