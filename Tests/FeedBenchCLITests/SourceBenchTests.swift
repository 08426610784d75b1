import Foundation
import Testing
import TestSupport

/// `feedbench bench --source`, dataset keys and `--version`, through the real binary.
@Suite struct SourceBenchTests {
    @Test func benchOfTheDigitsListAsANewUserTypesIt() throws {
        let out = makeTemporaryDirectory().path
        let run = try FeedBenchProcess(["bench", "--source", "datasets/digits/train.txt", "--out", out,
                                        "--repeats", "1", "--data-dir", makeTemporaryDirectory().path])
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try String(contentsOfFile: out + "/results.csv", encoding: .utf8).split(separator: "\n")
        // raw baseline and the list as stored, sequential and shuffle (peers join when installed).
        let ours = csv.dropFirst().filter { $0.hasPrefix("train,train,hdf5,2 files, contiguous (as stored),uint8,") || $0.contains(",train,hdf5,\"2 files, contiguous (as stored)\",") }
        #expect(ours.count == 2, "\(csv.joined(separator: "\n"))")
        #expect(csv.dropFirst().contains { $0.hasPrefix("train,raw,raw,flat file,uint8,sequential,warm,128,4,read,1,1437,") })
        for name in ["results.csv", "summary.csv", "report.html", "config.yaml"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name) missing")
        }
        #expect(run.stdout.contains("wrote \(out)/results.csv"))
    }

    @Test func benchOfAnH5pyFileWithItsOwnDatasetNames() throws {
        let out = makeTemporaryDirectory().path
        let run = try FeedBenchProcess(["bench", "--source", "datasets/fixtures/images_labels.h5", "--data-key", "images",
                                        "--label-key", "labels", "--out", out, "--repeats", "1", "--orders", "shuffle",
                                        "--data-dir", makeTemporaryDirectory().path])
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try String(contentsOfFile: out + "/results.csv", encoding: .utf8)
        #expect(csv.contains("images_labels,images_labels,hdf5,\"1 file, contiguous, data=images, label=labels (as stored)\",uint8,shuffle,warm,128,4,read,1,40,"))
        let config = try String(contentsOfFile: out + "/config.yaml", encoding: .utf8)
        #expect(config.contains("data_key: \"images\", label_key: \"labels\""))
        // Without the keys: one line naming the file, what it holds, and the options.
        let bad = try FeedBenchProcess(["bench", "--source", "datasets/fixtures/images_labels.h5", "--out", out])
        #expect(bad.status == 1)
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("images_labels.h5: no dataset 'data' (Caffe's HDF5Data needs 'data' and 'label'; the file holds 'images', 'labels', 'meta'; name others with --data-key / --label-key)"))
    }

    @Test func anUnknownAcceleratorIsRefusedBeforeAnyWork() throws {
        let out = makeTemporaryDirectory().path
        let bad = try FeedBenchProcess(["bench", "--source", "datasets/digits/train.txt", "--accelerator", "tpu-v9", "--out", out])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--accelerator: unknown profile 'tpu-v9' (expected cosmoflow-h100, resnet50-a100, resnet50-h100, unet3d-a100, unet3d-h100"))
        #expect(!FileManager.default.fileExists(atPath: out + "/results.csv"))
        let withConfig = try FeedBenchProcess(["bench", "benchmarks/default.yaml", "--accelerator", "resnet50-h100", "--out", out])
        #expect(withConfig.status != 0 && withConfig.stderr.contains("--accelerator belong to the --source form"))
    }

    @Test func inspectTrainAndConvertTakeTheKeys() throws {
        let plain = try FeedBenchProcess(["inspect", "datasets/fixtures/images_labels.h5"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.split(separator: "\n").last == "  no usable data/label pair: no dataset 'data' (Caffe's HDF5Data needs 'data' and 'label'; the file holds 'images', 'labels', 'meta'; name others with --data-key / --label-key)")
        let keyed = try FeedBenchProcess(["inspect", "datasets/fixtures/images_labels.h5", "--data-key", "images", "--label-key", "labels"])
        #expect(keyed.stdout.split(separator: "\n").last == "  N 40 samples of shape [6, 6] uint8, classes 3 (data=images, label=labels)")
        let dir = makeTemporaryDirectory().path
        let convert = try FeedBenchProcess(["convert", "--from", "datasets/fixtures/images_labels.h5", "--data-key", "images",
                                            "--label-key", "labels", "--to", "lmdb:\(dir)/db"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let train = try FeedBenchProcess(["train", "--train", "datasets/fixtures/images_labels.h5", "--data-key", "images",
                                          "--label-key", "labels", "--hidden", "4", "--epochs", "1", "--batch-size", "8"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("training on datasets/fixtures/images_labels.h5: 40 samples of [6, 6]"))
    }

    @Test func versionNamesTheLibraries() throws {
        let run = try FeedBenchProcess(["--version"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("feedbench 0.") == true)
        #expect(lines.last?.hasPrefix("HDF5 1.10") == true && lines.last?.contains("LMDB 0.9") == true && lines.last?.contains("OpenBLAS 0.3") == true)
    }

    @Test func batchSizeIsOneNameEverywhere() throws {
        for command in ["gradcheck", "time"] {
            let run = try FeedBenchProcess([command, "benchmarks/nets/mnist-mlp.yaml", "--batch-size", "2"] + (command == "time" ? ["--iterations", "1"] : []))
            #expect(run.status == 0, "\(command): \(run.stderr)")
            #expect(run.stdout.contains("batch 2"))
        }
    }
}
