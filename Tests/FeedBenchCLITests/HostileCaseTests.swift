import Foundation
import HDF5
import Testing
import TestSupport

/// The hand-made hostile cases: files and options an attacker or an unlucky user would give.
/// Each must end in one line naming the file (or option) and the problem, a non-zero exit,
/// within 60 s, never a signal, a trap or the crash line. Every case is built here (the HDF5
/// wrapper, plain bytes), so the suite needs no Python. `scripts/hostile-campaign.sh` runs it
/// with the fuzzer's full campaign.
@Suite struct HostileCaseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// Builds the input in `dir`; returns the command's arguments.
        let make: @Sendable (String) throws -> [String]
        let expected: String
        var status: Int32 = 1
        var testDescription: String { name }
    }

    /// An HDF5 file with `data` (uint8 of `shape`, written unless `chunkRows` leaves it
    /// unwritten) and `label` (float32 values, or `labelRows` unwritten rows).
    static func h5(_ path: String, shape: [Int], labels: [Float]? = nil, labelRows: Int? = nil, chunkRows: Int? = nil, writeData: Bool = true) throws {
        let file = try File.create(path)
        let data = try file.root.createDataset("data", type: .uint8, shape: shape, chunkRows: chunkRows)
        if writeData {
            let bytes = [UInt8](repeating: 7, count: shape.reduce(1, *))
            try bytes.withUnsafeBufferPointer { try data.write(rows: 0..<shape[0], from: $0.baseAddress!, as: .uint8) }
        }
        try data.close()
        if let labels {
            let label = try file.root.createDataset("label", type: .float32, shape: [labels.count])
            try labels.withUnsafeBufferPointer { try label.write(rows: 0..<labels.count, from: $0.baseAddress!, as: .float32) }
            try label.close()
        } else if let labelRows {
            try file.root.createDataset("label", type: .float32, shape: [labelRows], chunkRows: chunkRows).close()
        }
        try file.close()
    }

    static func train(_ source: String, _ extra: [String] = []) -> [String] {
        ["train", "--train", source, "--hidden", "4", "--epochs", "1"] + extra
    }

    /// A raw folder written by FeedBench from the digits test set, then altered by `alter`.
    static func raw(_ dir: String, _ alter: (String) throws -> Void) throws -> String {
        let folder = "\(dir)/raw"
        let made = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(folder)"])
        #expect(made.status == 0, "\(made.stderr)")
        try alter(folder)
        return "raw:\(folder)"
    }

    static func bytes(_ path: String, _ data: [UInt8]) throws { try Data(data).write(to: URL(fileURLWithPath: path)) }
    static func text(_ path: String, _ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    static let cases: [Case] = [
        // Labels that must not become class counts, indices or NaN losses.
        Case(name: "label 3e38", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, 3e38]); return train("\(d)/x.h5") },
             expected: "x.h5: labels are not class indices 0…65535"),
        Case(name: "label 1e19", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1e19]); return train("\(d)/x.h5") },
             expected: "x.h5: labels are not class indices 0…65535"),
        Case(name: "label 2^31-1", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, 2_147_483_647]); return train("\(d)/x.h5") },
             expected: "x.h5: labels are not class indices 0…65535"),
        Case(name: "label -1", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, -1]); return train("\(d)/x.h5") },
             expected: "x.h5: labels are not class indices"),
        Case(name: "label NaN", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, .nan]); return train("\(d)/x.h5") },
             expected: "x.h5: label of sample 9 is not a finite number"),
        Case(name: "label beyond --classes", make: { d in try h5("\(d)/x.h5", shape: [10, 1, 4, 4], labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, 12]); return train("\(d)/x.h5", ["--classes", "10"]) },
             expected: "x.h5"),
        Case(name: "raw label 3e38", make: { d in
            let source = try raw(d) { folder in
                var labels = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/labels.bin"))
                labels.replaceSubrange(12..<16, with: withUnsafeBytes(of: Float(3e38)) { Data($0) })
                try labels.write(to: URL(fileURLWithPath: "\(folder)/labels.bin"))
            }
            return train(source)
        }, expected: "labels are not class indices 0…65535"),
        Case(name: "raw label 3e38 into LMDB", make: { d in
            let source = try raw(d) { folder in
                var labels = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/labels.bin"))
                labels.replaceSubrange(12..<16, with: withUnsafeBytes(of: Float(3e38)) { Data($0) })
                try labels.write(to: URL(fileURLWithPath: "\(folder)/labels.bin"))
            }
            return ["convert", "--from", source, "--to", "lmdb:\(d)/out"]
        }, expected: "label 3e+38 of sample 3 is not a class index"),
        // Sizes from headers that cannot be held or counted.
        Case(name: "100000×100000 sample", make: { d in try h5("\(d)/x.h5", shape: [2, 1, 100_000, 100_000], labels: [0, 1], writeData: false); return train("\(d)/x.h5") },
             expected: "x.h5: 'data' declares shape [2, 1, 100000, 100000]"),
        Case(name: "1e9 samples in 4 KB", make: { d in try h5("\(d)/x.h5", shape: [1_000_000_000, 4], labelRows: 1_000_000_000, chunkRows: 1024, writeData: false); return train("\(d)/x.h5") },
             expected: "x.h5: 'label': the chunk at [0] was never written"),
        Case(name: "chunks missing inside the extent", make: { d in try h5("\(d)/x.h5", shape: [300, 4], labels: [Float](repeating: 1, count: 300), chunkRows: 64, writeData: false); return train("\(d)/x.h5") },
             expected: "x.h5: 'data': the chunk at [0, 0] was never written"),
        Case(name: "contiguous label never written", make: { d in
            let file = try File.create("\(d)/x.h5")
            let data = try file.root.createDataset("data", type: .uint8, shape: [8, 4])
            let bytes = [UInt8](repeating: 1, count: 32)
            try bytes.withUnsafeBufferPointer { try data.write(rows: 0..<8, from: $0.baseAddress!, as: .uint8) }
            try data.close()
            try file.root.createDataset("label", type: .float32, shape: [8]).close()
            try file.close()
            return train("\(d)/x.h5", ["--classes", "2"])
        }, expected: "x.h5: 'label' has no data written"),
        Case(name: "label shorter than data", make: { d in try h5("\(d)/x.h5", shape: [10, 4], labels: [0, 1, 0, 1, 0]); return train("\(d)/x.h5") },
             expected: "x.h5: 'data' has 10 samples but 'label' has 5"),
        Case(name: "no label", make: { d in
            let file = try File.create("\(d)/x.h5")
            try file.root.createDataset("data", type: .uint8, shape: [4, 4]).close()
            try file.close()
            return train("\(d)/x.h5")
        }, expected: "x.h5: no dataset 'label'"),
        Case(name: "N = 0", make: { d in try h5("\(d)/x.h5", shape: [0, 4], labels: []); return train("\(d)/x.h5") },
             expected: "x.h5: holds no samples"),
        // Files that are not what they claim.
        Case(name: "zero-byte .h5", make: { d in try bytes("\(d)/x.h5", []); return train("\(d)/x.h5") }, expected: "x.h5: not an HDF5 file"),
        Case(name: "HDF5 signature then zeros", make: { d in try bytes("\(d)/x.h5", [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] + [UInt8](repeating: 0, count: 100)); return train("\(d)/x.h5") },
             expected: "x.h5"),
        Case(name: "a folder as .h5", make: { d in try FileManager.default.createDirectory(atPath: "\(d)/x.h5", withIntermediateDirectories: true); return train("\(d)/x.h5") },
             expected: "x.h5"),
        Case(name: "empty list", make: { d in try text("\(d)/l.txt", ""); return train("\(d)/l.txt") }, expected: "l.txt: the list names no HDF5 files"),
        Case(name: "comments-only list", make: { d in try text("\(d)/l.txt", "# none\n\n"); return train("\(d)/l.txt") }, expected: "l.txt: the list names no HDF5 files"),
        Case(name: "list naming a missing file", make: { d in try text("\(d)/l.txt", "nope.h5\n"); return train("\(d)/l.txt") }, expected: "l.txt: line 1: \(NSTemporaryDirectory())"),
        Case(name: "list not UTF-8", make: { d in try bytes("\(d)/l.txt", [0xff, 0xfe, 0x00, 0x41, 0x0a]); return train("\(d)/l.txt") }, expected: "l.txt: cannot read the list file"),
        Case(name: "raw meta.json garbled", make: { d in try train(raw(d) { try text("\($0)/meta.json", "{\"samples\": ") }) }, expected: "meta.json"),
        Case(name: "raw data.bin shorter than meta.json says", make: { d in try train(raw(d) { _ = truncate("\($0)/data.bin", 1000) }) }, expected: "data.bin"),
        Case(name: "raw labels.bin missing", make: { d in try train(raw(d) { try FileManager.default.removeItem(atPath: "\($0)/labels.bin") }) }, expected: "labels.bin"),
        Case(name: "LMDB folder without data.mdb", make: { d in try FileManager.default.createDirectory(atPath: "\(d)/env", withIntermediateDirectories: true); return train("lmdb:\(d)/env") },
             expected: "env"),
        Case(name: "zero-byte data.mdb", make: { d in
            try FileManager.default.createDirectory(atPath: "\(d)/env", withIntermediateDirectories: true)
            try bytes("\(d)/env/data.mdb", [])
            return train("lmdb:\(d)/env")
        }, expected: "data.mdb"),
        Case(name: "random bytes as data.mdb", make: { d in
            try FileManager.default.createDirectory(atPath: "\(d)/env", withIntermediateDirectories: true)
            var generator = SystemRandomNumberGenerator()
            try bytes("\(d)/env/data.mdb", (0..<16384).map { _ in UInt8.random(in: 0...255, using: &generator) })
            return train("lmdb:\(d)/env")
        }, expected: "data.mdb"),
        // Encoded images (issue 15's codecs).
        Case(name: "offsets beside a 2-D data", make: { d in
            let made = try FeedBenchProcess(["generate", "--samples", "8", "--shape", "3,8,8", "--to", "\(d)/a.h5", "--encode", "png", "--encoded-layout", "offsets"])
            #expect(made.status == 0, "\(made.stderr)")
            try h5("\(d)/b.h5", shape: [4, 4], labels: [0, 1])
            let file = try File.open("\(d)/b.h5", readOnly: false)
            let offsets = try file.root.createDataset("offsets", type: .int64, shape: [3])
            let values: [Int64] = [0, 2, 4]
            try values.withUnsafeBytes { try offsets.write(rows: 0..<3, from: $0.baseAddress!, as: .int64) }
            try offsets.close()
            try file.close()
            try text("\(d)/l.txt", "a.h5\nb.h5\n")
            return train("\(d)/l.txt")
        }, expected: "b.h5: 'data' with an 'offsets' index must be one flat uint8 dataset"),
        Case(name: "a JPEG declaring 65535×65535", make: { d in
            // SOI, SOF0 for 65535×65535×3, EOI: the header alone.
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9]
            let file = try File.create("\(d)/x.h5")
            let data = try file.root.createVariableLengthBytesDataset("data", rows: 1)
            try data.writeVariableLength(rows: 0..<1, [jpeg])
            try data.close()
            let label = try file.root.createDataset("label", type: .float32, shape: [1])
            try [Float(0)].withUnsafeBytes { try label.write(rows: 0..<1, from: $0.baseAddress!, as: .float32) }
            try label.close()
            try file.close()
            return train("\(d)/x.h5")
        }, expected: "x.h5: row 0: JPEG: "),
        // Options.
        Case(name: "--scale nan", make: { d in ["convert", "--from", "datasets/digits/test.txt", "--to", "raw:\(d)/r", "--scale", "nan"] },
             expected: "--scale must be a finite number", status: 64),
        Case(name: "--batch-size 0", make: { _ in train("datasets/digits/test.txt", ["--batch-size", "0"]) }, expected: "--batch-size must be at least 1", status: 64),
        Case(name: "--hidden Int.max", make: { _ in ["train", "--train", "datasets/digits/test.txt", "--hidden", "9223372036854775807", "--epochs", "1"] },
             expected: "more parameters than can be counted"),
        Case(name: "--classes 0", make: { _ in train("datasets/digits/test.txt", ["--classes", "0"]) }, expected: "--classes must be at least 1", status: 64),
        Case(name: "bench --out over a FIFO", make: { d in
            _ = mkfifo("\(d)/out", 0o644)
            return ["bench", "benchmarks/default.yaml", "--out", "\(d)/out"]
        }, expected: "out: is not a folder"),
    ]

    @Test(arguments: cases)
    func oneLineAndNonZero(_ c: Case) throws {
        let dir = makeTemporaryDirectory().path
        let arguments = try c.make(dir)
        let process = Process()
        process.executableURL = FeedBenchProcess.executable
        process.arguments = arguments
        process.currentDirectoryURL = FeedBenchProcess.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        #expect(process.terminationReason == .exit, "\(c.name): killed by signal \(process.terminationStatus) (a hang if 9)")
        #expect(process.terminationStatus == c.status, "\(c.name): exit \(process.terminationStatus): \(text.prefix(400))")
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
        #expect(lines.count == 1 && lines[0].hasPrefix("Error: "), "\(c.name): \(text.prefix(400))")
        #expect(text.contains(c.expected), "\(c.name): \(text.prefix(400))")
        #expect(!text.contains("internal error") && !text.contains("HDF5-DIAG"), "\(c.name)")
    }

    /// A successful compressed train says nothing on stderr (the HDF5-DIAG lines of handles
    /// closed after the library's shutdown used to follow it).
    @Test func aSuccessfulGzipTrainIsQuiet() throws {
        let dir = makeTemporaryDirectory().path
        let made = try FeedBenchProcess(["convert", "--from", "datasets/digits/test.txt", "--to", "\(dir)/gz.txt", "--files", "3", "--compression", "gzip"])
        #expect(made.status == 0, "\(made.stderr)")
        let run = try FeedBenchProcess(["train", "--train", "\(dir)/gz.txt", "--hidden", "8", "--epochs", "2"])
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
    }
}
