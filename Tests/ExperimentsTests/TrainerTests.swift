import DataSources
import Experiments
import Foundation
import Graph
import HDF5
import Testing

@_exported import TestSupport

func dataset(_ path: String) -> String { repositoryPath("datasets/" + path) }

func temporaryFile(_ name: String) -> String { makeTemporaryDirectory().appendingPathComponent(name).path }

func readParams(_ path: String) throws -> [String: [Float]] {
    let params = try File.open(path).root.group("params")
    var result: [String: [Float]] = [:]
    for name in try params.memberNames() { result[name] = try params.dataset(name).readAll(as: .float32) }
    return result
}

@Suite struct TrainerTests {
    func exactOptions(snapshot: String? = nil) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 8
        o.order = .sequential
        o.prefetch = 2
        o.snapshotPath = snapshot
        return o
    }

    /// One sequential epoch from a given snapshot equals the numpy reference's SGD steps.
    @Test func oneEpochMatchesTheNumpyReference() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5], classes: 3), seed: 99)
        let start = try Snapshot.load(dataset("fixtures/train_exact_init.h5"), into: graph)
        #expect(start.epoch == 0)
        let source = try HDF5ListSource(path: dataset("fixtures/train_exact.h5"))
        let sgd = SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        let out = temporaryFile("after.h5")
        let trainer = try Trainer(graph: graph, optimizer: sgd, train: source, test: nil, options: exactOptions(snapshot: out))
        let metrics = try trainer.run()
        #expect(metrics.count == 1 && metrics[0].samples == 40 && trainer.step == 5)
        let expected = try readParams(dataset("fixtures/train_exact_expected.h5"))
        let got = try readParams(out)
        #expect(Set(got.keys) == ["fc1.W", "fc1.b", "fc2.W", "fc2.b"])
        for (name, values) in expected {
            for (a, b) in zip(got[name]!, values) {
                #expect(abs(a - b) <= 1e-4 * max(abs(b), 1e-3), "\(name): \(a) vs \(b)")
            }
        }
        let file = try File.open(out)
        #expect(try file.root.integerAttribute("epoch") == 1)
        #expect(try file.root.integerAttribute("step") == 5)
        #expect(try file.root.stringAttribute("network")?.hasPrefix("mlp: {input: [6], hidden: [5], classes: 3") == true)
    }

    @Test func snapshotRoundTripAndErrors() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5], classes: 3), seed: 1)
        let path = temporaryFile("s.h5")
        try Snapshot.write(graph, to: path, epoch: 3, step: 7)
        let other = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5], classes: 3), seed: 2)
        #expect(try Snapshot.load(path, into: other) == (3, 7))
        #expect(other.parameters.map(\.value.scalars) == graph.parameters.map(\.value.scalars))
        let wider = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [7], classes: 3))
        #expect(errorText { try Snapshot.load(path, into: wider) } == "\(path): parameter 'fc1.W' has shape [6, 5], the network needs [6, 7]")
        let deeper = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5, 4], classes: 3))
        #expect(errorText { try Snapshot.load(path, into: deeper) } == "\(path): parameter 'fc2.W' has shape [5, 3], the network needs [5, 4]")
        let extra = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5, 3], classes: 3))
        #expect(errorText { try Snapshot.load(path, into: extra) } == "\(path): no parameter 'fc3.W' (/params/fc3.W)")
        #expect(errorText { try Snapshot.load(dataset("fixtures/caffe_float.h5"), into: graph) }.hasSuffix("not a FeedBench snapshot (no /params group)"))
    }

    @Test func dataThatDoesNotFitTheNetworkIsRefused() throws {
        let digits = try HDF5ListSource(path: dataset("digits/train.txt"))
        let sgd = SGD<Float>(learningRate: 0.1)
        let wrongInput = try Graph<Float>(spec: .mlp(inputShape: [60], hidden: [4], classes: 10))
        #expect(errorText { _ = try Trainer(graph: wrongInput, optimizer: sgd, train: digits, test: nil, options: .init()) }
            == "network input 'x' takes 60 values per sample, but \(dataset("digits/train.txt")) has samples of shape [1, 8, 8] (64 values)")
        let fewClasses = try Graph<Float>(spec: .mlp(inputShape: [64], hidden: [4], classes: 8))
        #expect(errorText { _ = try Trainer(graph: fewClasses, optimizer: sgd, train: digits, test: nil, options: .init()) }
            == "\(dataset("digits/train.txt")): labels go up to 9, but the network has 8 classes (labels 0…7)")
        let graph = try Graph<Float>(spec: .mlp(inputShape: [64], hidden: [4], classes: 10))
        let otherShape = try HDF5ListSource(path: dataset("fixtures/list.txt"))
        #expect(errorText { _ = try Trainer(graph: graph, optimizer: sgd, train: digits, test: otherShape, options: .init()) }
            == "test set \(dataset("fixtures/list.txt")) has samples of shape [1, 4, 4], the training set [1, 8, 8]")
    }

    /// A loss that turns NaN stops the run, names epoch and step, and leaves the last good
    /// snapshot in place.
    @Test func nonFiniteLossStopsAndKeepsTheLastGoodSnapshot() throws {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [6], hidden: [5], classes: 3), seed: 3)
        let source = try HDF5ListSource(path: dataset("fixtures/train_exact.h5"))
        let out = temporaryFile("good.h5")
        var options = exactOptions(snapshot: out)
        options.epochs = 3
        options.snapshotEvery = 1
        let trainer = try Trainer(graph: graph, optimizer: SGD(learningRate: 0.1), train: source, test: nil, options: options)
        let text = errorText {
            try trainer.run(onEpoch: { m in
                if m.epoch == 1 { graph.parameters[0].value[0] = .nan }  // poison the weights after epoch 1's snapshot
            })
        }
        #expect(text == "the loss became nan at epoch 2, step 1 (step 6 overall); the last good snapshot (epoch 1) is kept in \(out)")
        let kept = try readParams(out)
        #expect(kept.values.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(try File.open(out).root.integerAttribute("epoch") == 1)
    }

    /// Real data: an MLP on the digits set passes 95 % test accuracy.
    @Test func digitsReachNinetyFivePercent() throws {
        let train = try HDF5ListSource(path: dataset("digits/train.txt"))
        let test = try HDF5ListSource(path: dataset("digits/test.txt"))
        let graph = try Graph<Float>(spec: .mlp(inputShape: train.sampleShape, hidden: [64], classes: 10), seed: 1)
        var options = TrainingOptions()
        options.epochs = 10
        options.batchSize = 32
        let trainer = try Trainer(graph: graph, optimizer: SGD(learningRate: 0.05, momentum: 0.9), train: train, test: test, options: options)
        let metrics = try trainer.run()
        #expect(metrics.last!.testAccuracy! >= 0.95, "test accuracy \(metrics.last!.testAccuracy!)")
        #expect(metrics.last!.trainLoss < metrics.first!.trainLoss)
    }
}

/// Generated content keeps learnable labels: a small MLP fits photos and digits well above
/// chance (10 %) in a few epochs.
@Suite struct ContentLearnabilityTests {
    @Test(arguments: [(SampleContent.photos, [3, 16, 16]), (.digits, [1, 16, 16])])
    func labelsAreLearnable(content: SampleContent, shape: [Int]) throws {
        let source = try SyntheticSource(samples: 1000, shape: shape, classes: 10, seed: 2, content: content)
        let graph = try Graph<Float>(spec: .mlp(inputShape: shape, hidden: [64], classes: 10), seed: 1)
        var options = TrainingOptions()
        options.epochs = 8
        options.batchSize = 32
        options.prefetch = 0
        let trainer = try Trainer(graph: graph, optimizer: SGD(learningRate: 0.05, momentum: 0.9), train: source, test: nil, options: options)
        let last = try trainer.run().last!
        #expect(last.trainAccuracy! > 0.6, "\(content): train accuracy \(last.trainAccuracy!)")
    }
}

