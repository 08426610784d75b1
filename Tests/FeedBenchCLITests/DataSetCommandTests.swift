import DataSources
import Foundation
import HDF5
import Testing
import TestSupport
@testable import feedbench

@Suite struct DataSetCommandTests {
    func temporaryDirectory() -> String { makeTemporaryDirectory().path }

    @Test func parsingLayoutOptions() throws {
        let command = try ConvertCommand.parse(["--from", "a.txt", "--to", "b.txt", "--files", "4", "--chunk", "64", "--compression", "gzip:6"])
        #expect(command.layout.files == 4)
        #expect(command.layout.chunk == 64)
        #expect(command.layout.compression == .gzip(level: 6))
        #expect(throws: (any Error).self) { try ConvertCommand.parse(["--from", "a", "--to", "b", "--compression", "lzf"]) }
        #expect(throws: (any Error).self) { try ConvertCommand.parse(["--from", "a", "--to", "b", "--dtype", "int16"]) }
        #expect(throws: (any Error).self) { try GenerateCommand.parse(["--samples", "10", "--shape", "3,x", "--to", "a.txt"]) }
        #expect(try GenerateCommand.parse(["--samples", "10", "--shape", "3, 32,32", "--to", "a.txt"]).parsedShape() == [3, 32, 32])
    }

    @Test func inspectPrintsTheFixtureList() throws {
        let run = try FeedBenchProcess(["inspect", "datasets/fixtures/list.txt"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("list datasets/fixtures/list.txt: 2 files, 17 samples, sample shape [1, 4, 4], classes 4 (HDF5 1."))
        #expect(lines[1] == "  uint8.h5: N 10, data uint8 [10, 1, 4, 4] contiguous")
        #expect(lines[2] == "  parts/uint8_part2.h5: N 7, data uint8 [7, 1, 4, 4] chunked [3, 1, 4, 4] deflate(4), stored 144 bytes (1.286 of 112)")
    }

    @Test func inspectPrintsOneFile() throws {
        let run = try FeedBenchProcess(["inspect", "datasets/fixtures/chunked_plain.h5"])
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.dropFirst() == ["  /data  float32 [50, 6] chunked [7, 6]", "  /label  int32 [50] contiguous",
                                      "  N 50 samples of shape [6] float32, classes 5"])
    }

    /// generate → split set → convert to one gzip file and to raw: every copy reads back the same.
    @Test func generateAndConvertRoundTrip() throws {
        let dir = temporaryDirectory()
        var run = try FeedBenchProcess(["generate", "--samples", "300", "--shape", "2,5,5", "--classes", "4", "--seed", "9",
                                        "--to", "\(dir)/set/train.txt", "--files", "3", "--chunk", "32"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "wrote 300 samples of shape [2, 5, 5] to 3 files listed in \(dir)/set/train.txt\n")
        #expect(try String(contentsOfFile: "\(dir)/set/train.txt", encoding: .utf8) == "train-000.h5\ntrain-001.h5\ntrain-002.h5\n")
        run = try FeedBenchProcess(["convert", "--from", "\(dir)/set/train.txt", "--to", "\(dir)/one.h5", "--compression", "gzip:2"])
        #expect(run.status == 0, "\(run.stderr)")
        run = try FeedBenchProcess(["convert", "--from", "\(dir)/one.h5", "--to", "raw:\(dir)/raw"])
        #expect(run.status == 0, "\(run.stderr)")
        // Two channels of 5×5: the default content is digits.
        let original = try SyntheticSource(samples: 300, shape: [2, 5, 5], classes: 4, seed: 9, content: .digits)
        let options = EpochOptions(batchSize: 300)
        let expected = try original.makeIterator(options).next()!
        for source in [try HDF5ListSource(path: "\(dir)/set/train.txt"), try HDF5ListSource(path: "\(dir)/one.h5"),
                       try RawSource(path: "\(dir)/raw")] as [any DataSource] {
            let batch = try source.makeIterator(options).next()!
            #expect(batch.data.scalars.elementsEqual(expected.data.scalars), "\(source.name)")
            #expect(batch.labels.scalars.elementsEqual(expected.labels.scalars), "\(source.name)")
            #expect(source.classes == 4)
        }
        // Nothing but the finished files is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/set").sorted()
            == ["train-000.h5", "train-001.h5", "train-002.h5", "train.txt"])
    }

    @Test(arguments: [
        (["inspect", "/nonexistent/list.txt"], "/nonexistent/list.txt: no such file"),
        (["inspect", "datasets/fixtures/uint16.h5"], "uint16.h5: /data  uint16 [4, 3] contiguous"),  // inspect shows what convert refuses
        (["convert", "--from", "datasets/fixtures/uint16.h5", "--to", "/tmp/feedbench-never.h5"],
         "datasets/fixtures/uint16.h5: 'data' has type uint16; FeedBench reads uint8, int8–int64, float32 and float64"),
        (["convert", "--from", "datasets/fixtures", "--to", "/tmp/x.h5"], "datasets/fixtures: cannot tell the kind of data set"),
        (["train", "--train", "/nonexistent/data", "--hidden", "4"], "/nonexistent/data: cannot tell the kind of data set"),
        (["inspect", "datasets/fixtures/images_labels.h5", "--data-key", "pixels"], "no dataset 'pixels' (the file holds 'images', 'labels', 'meta'"),
        (["convert", "--from", "datasets/fixtures/list.txt", "--to", "lmdb:/tmp/feedbench-never", "--chunk", "4"],
         "/tmp/feedbench-never: --chunk applies to HDF5 sets only, not to LMDB"),
        (["generate", "--samples", "0", "--shape", "3", "--to", "/tmp/x.h5"], "--samples must be at least 1"),
    ])
    func badInput(arguments: [String], expected: String) throws {
        let run = try FeedBenchProcess(arguments)
        if expected.contains("/data  uint16") {
            #expect(run.status == 0)
            #expect(run.stdout.contains("/data  uint16 [4, 3] contiguous"))
            return
        }
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n")
        if expected.hasPrefix("--") {
            // An option mistake: ArgumentParser adds its usage hint after the message.
            #expect(lines.first == "Error: \(expected)", "\(run.stderr)")
        } else {
            #expect(lines.count == 1, "\(run.stderr)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/feedbench-never.h5"))
    }
}

/// Encoded images from the command line: written by convert --encode (LMDB, HDF5 vlen and
/// offsets), inspected, trained on with a crop; undecodable records skipped and counted.
@Suite struct EncodedImageCommandTests {
    @Test func convertInspectAndTrain() throws {
        let dir = makeTemporaryDirectory().path
        let made = try FeedBenchProcess(["generate", "--samples", "300", "--shape", "3,20,20", "--content", "photos", "--to", "raw:\(dir)/raw"])
        #expect(made.status == 0, "\(made.stderr)")
        for (destination, extra, summary) in [("lmdb:\(dir)/jpeg", ["--encode", "jpeg:85"], "(encoded jpeg, decoded to this shape)"),
                                              ("\(dir)/vlen.txt", ["--encode", "png", "--files", "2"], "encoded images (png, vlen layout)"),
                                              ("\(dir)/offsets.h5", ["--encode", "jpeg", "--encoded-layout", "offsets"], "encoded images (jpeg, offsets layout)")] {
            let convert = try FeedBenchProcess(["convert", "--from", "raw:\(dir)/raw", "--to", destination] + extra)
            #expect(convert.status == 0, "\(destination): \(convert.stderr)")
            let inspect = try FeedBenchProcess(["inspect", destination])
            #expect(inspect.status == 0 && inspect.stdout.contains(summary), "\(destination): \(inspect.stdout)")
            let train = try FeedBenchProcess(["train", "--train", destination, "--hidden", "8", "--epochs", "1", "--crop", "16", "--mirror", "--classes", "10"])
            #expect(train.status == 0 && train.stdout.contains("samples of [3, 16, 16]"), "\(destination): \(train.stdout) \(train.stderr)")
        }
        // Raw folders store pixels; images need [1 or 3, H, W].
        let raw = try FeedBenchProcess(["convert", "--from", "raw:\(dir)/raw", "--to", "raw:\(dir)/raw2", "--encode", "png"])
        #expect(raw.status == 1 && raw.stderr.contains("--encode applies to LMDB and HDF5 sets"), "\(raw.stderr)")
        let shape = try FeedBenchProcess(["generate", "--samples", "10", "--shape", "4,8,8", "--to", "lmdb:\(dir)/four", "--encode", "png"])
        #expect(shape.status == 1 && shape.stderr.contains("encoded images need samples of shape [1 or 3, H, W]"), "\(shape.stderr)")
        // A crop larger than the images: one line naming the record.
        let crop = try FeedBenchProcess(["train", "--train", "lmdb:\(dir)/jpeg", "--hidden", "8", "--epochs", "1", "--crop", "24"])
        #expect(crop.status == 1 && crop.stderr.contains("record '00000000': the image is 20×20, smaller than the crop 24×24"), "\(crop.stderr)")
    }

    /// A truncated image in an LMDB: an error naming the key, or with --skip-bad one line
    /// counting it and training on the rest.
    @Test func skipBadCountsUndecodableImages() throws {
        let dir = makeTemporaryDirectory().path
        let made = try FeedBenchProcess(["generate", "--samples", "40", "--shape", "3,16,16", "--to", "\(dir)/set.h5", "--encode", "jpeg", "--encoded-layout", "offsets"])
        #expect(made.status == 0, "\(made.stderr)")
        // Zero the second half of image 5's bytes (offsets are [N + 1] int64 after 'data').
        let file = try File.open("\(dir)/set.h5")
        let offsets: [Int64] = try file.root.dataset("offsets").readAll(as: .int64)
        let base = try #require(try file.root.dataset("data").contiguousFileOffset)
        try file.close()
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(dir)/set.h5"))
        let middle = Int(offsets[5] + (offsets[6] - offsets[5]) / 2)
        try handle.seek(toOffset: UInt64(base + middle))
        handle.write(Data(repeating: 0, count: Int(offsets[6]) - middle))
        try handle.close()
        let strict = try FeedBenchProcess(["train", "--train", "\(dir)/set.h5", "--hidden", "4", "--epochs", "1", "--classes", "10"])
        #expect(strict.status == 1 && strict.stderr.contains("\(dir)/set.h5: row 5: JPEG: "), "\(strict.stderr)")
        let skipping = try FeedBenchProcess(["train", "--train", "\(dir)/set.h5", "--hidden", "4", "--epochs", "1", "--classes", "10", "--skip-bad"])
        #expect(skipping.status == 0, "\(skipping.stderr)")
        #expect(skipping.stderr.hasPrefix("skipped 1 image that do not decode (the first: \(dir)/set.h5: row 5: JPEG: "), "\(skipping.stderr)")
        #expect(skipping.stdout.contains("39 samples"), "\(skipping.stdout)")
    }
}
