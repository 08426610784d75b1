import Foundation
import Testing
import TestSupport
@testable import feedbench

@Suite struct TrainCommandTests {
    func temporaryDirectory() -> String { makeTemporaryDirectory().path }

    @Test func parsing() throws {
        let c = try TrainCommand.parse(["--train", "t.txt", "--hidden", "32,16", "--init", "a.h5", "--order", "chunk-shuffle", "--drop-last"])
        #expect(try c.hiddenSizes() == [32, 16])
        #expect(c.initFrom == "a.h5")
        #expect(c.dropLast)
        #expect(throws: (any Error).self) { try TrainCommand.parse(["--train", "t.txt"]) }  // neither --net nor --hidden
        #expect(throws: (any Error).self) { try TrainCommand.parse(["--train", "t.txt", "--hidden", "4", "--net", "n.yaml"]) }
        #expect(throws: (any Error).self) { try TrainCommand.parse(["--train", "t.txt", "--hidden", "4", "--order", "random"]) }
        #expect(throws: (any Error).self) { try TrainCommand.parse(["--train", "t.txt", "--hidden", "4", "--momentum", "1"]) }
    }

    /// The digits CNN (benchmarks/nets/digits-cnn.yaml), trained briefly: ≥ 95 % test accuracy
    /// (README gives the full run's figure).
    @Test func digitsCNNLearns() throws {
        let dir = temporaryDirectory()
        let run = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--test", "datasets/digits/test.txt",
                                        "--net", "benchmarks/nets/digits-cnn.yaml", "--epochs", "6", "--batch-size", "32",
                                        "--learning-rate", "0.05", "--log", "\(dir)/cnn.csv"])
        #expect(run.status == 0, "\(run.stderr)")
        let last = try #require(try String(contentsOfFile: "\(dir)/cnn.csv", encoding: .utf8).split(separator: "\n").last)
        let accuracy = try #require(Double(last.split(separator: ",", omittingEmptySubsequences: false)[4]))
        #expect(accuracy >= 0.95, "test accuracy \(accuracy) after 6 epochs")
    }

    @Test func trainsDigitsAndWritesLogAndSnapshot() throws {
        let dir = temporaryDirectory()
        let run = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--test", "datasets/digits/test.txt",
                                        "--hidden", "32", "--epochs", "3", "--batch-size", "32",
                                        "--snapshot", "\(dir)/w.h5", "--log", "\(dir)/log.csv"])
        #expect(run.status == 0, "\(run.stderr)")
        let epochLines = run.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }
        #expect(epochLines.count == 3)
        #expect(epochLines.allSatisfy { $0.contains("train loss") && $0.contains("test loss") && $0.contains("data wait") })
        let log = try String(contentsOfFile: "\(dir)/log.csv", encoding: .utf8).split(separator: "\n")
        #expect(log.first == "epoch,train_loss,train_accuracy,test_loss,test_accuracy,samples_per_s,data_wait_share,seconds,ranks,compute_s,data_wait_s,communication_s,weights_checksum")
        #expect(log.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false)[8] == "1" })
        #expect(log.count == 4)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/w.h5"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["log.csv", "w.h5"])
        // Resume from the snapshot.
        let again = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--hidden", "32", "--epochs", "1",
                                          "--init", "\(dir)/w.h5"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("initialised from \(dir)/w.h5 (epoch 3)"))
    }

    @Test(arguments: [
        (["--hidden", "16", "--classes", "5"], "datasets/digits/train.txt: labels go up to 9, but the network has 5 classes (labels 0…4)"),
        (["--net", "benchmarks/nets/mnist-mlp.yaml"], "network input 'x' takes 784 values per sample, but datasets/digits/train.txt has samples of shape [1, 8, 8] (64 values)"),
        (["--hidden", "16", "--test", "datasets/fixtures/list.txt"], "test set datasets/fixtures/list.txt has samples of shape [1, 4, 4], the training set [1, 8, 8]"),
        (["--hidden", "16", "--init", "datasets/fixtures/train_exact_init.h5"], "datasets/fixtures/train_exact_init.h5: parameter 'fc1.W' has shape [6, 5], the network needs [64, 16]"),
        (["--hidden", "16", "--init", "/nonexistent.h5"], "/nonexistent.h5: no such file"),
    ])
    func badInput(extra: [String], expected: String) throws {
        let run = try FeedBenchProcess(["train", "--train", "datasets/digits/train.txt", "--epochs", "1"] + extra)
        #expect(run.status == 1)
        #expect(run.stderr == "Error: \(expected)\n", "\(run.stderr)")
    }
}
