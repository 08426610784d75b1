import Foundation
import Testing
import TestSupport

/// The mutation fuzzer: seed data sets written by FeedBench itself (HDF5 contiguous, HDF5
/// compressed with gzip, LZ4, Zstandard + shuffle and Blosc, LMDB, raw, JPEG records in
/// LMDB, PNG rows in HDF5), each mutated many ways — bytes flipped, ranges zeroed,
/// truncated, extended — then `inspect`, `train` and `convert` on every mutant. A signal,
/// FeedBench's crash line (exit 70) or a hang is a failure; a clean error or success is not.
/// `swift test` runs a fast subset (`FEEDBENCH_FUZZ_COUNT` mutants per kind, default 12);
/// README's campaign sets it to 400.
@Suite(.serialized) struct FuzzTests {
    enum Kind: String, CaseIterable {
        case contiguous = "hdf5-contiguous", gzip = "hdf5-gzip", lmdb, raw
        // The other codecs FeedBench decodes itself: their corrupt streams.
        case lz4 = "hdf5-lz4", zstd = "hdf5-zstd", blosc = "hdf5-blosc"
        // Encoded images: corrupt JPEG and PNG streams inside LMDB records and HDF5 rows.
        case lmdbJPEG = "lmdb-jpeg", hdf5PNG = "hdf5-png"
    }

    struct Outcome { var crashes: [String] = []; var hangs: [String] = []; var errors = 0; var successes = 0 }

    static var count: Int { ProcessInfo.processInfo.environment["FEEDBENCH_FUZZ_COUNT"].flatMap(Int.init) ?? 12 }

    /// Runs feedbench with a time limit; nil when it had to be killed.
    static func run(_ arguments: [String], timeout: Double = 30) throws -> (status: Int32, signaled: Bool, stderr: String)? {
        let process = Process()
        process.executableURL = FeedBenchProcess.executable
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, text)
    }

    /// The file of a seed that mutations change.
    static func target(_ kind: Kind, _ root: String) -> String {
        switch kind {
        case .contiguous, .gzip, .lz4, .zstd, .blosc, .hdf5PNG: return "\(root)/set.h5"
        case .lmdb, .lmdbJPEG: return "\(root)/set/data.mdb"
        case .raw: return "\(root)/set/data.bin"
        }
    }

    static func source(_ kind: Kind, _ root: String) -> String {
        switch kind {
        case .contiguous, .gzip, .lz4, .zstd, .blosc, .hdf5PNG: return "\(root)/set.h5"
        case .lmdb, .lmdbJPEG: return "lmdb:\(root)/set"
        case .raw: return "raw:\(root)/set"
        }
    }

    static func makeSeed(_ kind: Kind, in root: String) throws {
        var arguments = ["generate", "--samples", "300", "--shape", "1,8,8", "--classes", "10", "--seed", "3", "--dtype", "uint8"]
        switch kind {
        case .contiguous: arguments += ["--to", "\(root)/set.h5"]
        case .gzip: arguments += ["--to", "\(root)/set.h5", "--compression", "gzip", "--chunk", "25"]
        case .lz4: arguments += ["--to", "\(root)/set.h5", "--compression", "lz4", "--chunk", "25"]
        case .zstd: arguments += ["--to", "\(root)/set.h5", "--compression", "zstd", "--chunk", "25", "--shuffle"]
        case .blosc: arguments += ["--to", "\(root)/set.h5", "--compression", "blosc:lz4", "--chunk", "25"]
        case .lmdb: arguments += ["--to", "lmdb:\(root)/set"]
        case .lmdbJPEG: arguments += ["--to", "lmdb:\(root)/set", "--encode", "jpeg:90"]
        case .hdf5PNG: arguments += ["--to", "\(root)/set.h5", "--encode", "png"]
        case .raw: arguments += ["--to", "raw:\(root)/set"]
        }
        let made = try FeedBenchProcess(arguments)
        #expect(made.status == 0, "\(made.stderr)")
    }

    /// One seeded mutation of `bytes`.
    static func mutate(_ bytes: inout [UInt8], _ generator: inout SystemRandomNumberGeneratorSeeded) {
        let n = bytes.count
        switch generator.next() % 6 {
        case 0, 1:  // flip a few bytes
            for _ in 0..<(1 + Int(generator.next() % 16)) { bytes[Int(generator.next() % UInt64(n))] ^= UInt8(truncatingIfNeeded: 1 + generator.next() % 255) }
        case 2:  // zero a range
            let start = Int(generator.next() % UInt64(n)), length = min(n - start, 1 + Int(generator.next() % 512))
            for i in start..<start + length { bytes[i] = 0 }
        case 3:  // truncate
            bytes.removeLast(Int(generator.next() % UInt64(n)))
        case 4:  // 0xFF a range (huge counts and offsets)
            let start = Int(generator.next() % UInt64(n)), length = min(n - start, 1 + Int(generator.next() % 16))
            for i in start..<start + length { bytes[i] = 0xFF }
        default:  // extend with garbage
            for _ in 0..<(1 + Int(generator.next() % 4096)) { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
        }
    }

    /// `FEEDBENCH_FUZZ_KINDS=hdf5-png,lmdb-jpeg` runs only these kinds (all by default).
    static var kinds: [Kind] {
        guard let names = ProcessInfo.processInfo.environment["FEEDBENCH_FUZZ_KINDS"] else { return Kind.allCases }
        return names.split(separator: ",").compactMap { Kind(rawValue: String($0)) }
    }

    @Test(arguments: Kind.allCases)
    func mutantsNeverCrashOrHang(kind: Kind) throws {
        guard Self.kinds.contains(kind) else { return }
        let base = makeTemporaryDirectory().path
        try Self.makeSeed(kind, in: "\(base)/seed")
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.target(kind, "\(base)/seed"))))
        var generator = SystemRandomNumberGeneratorSeeded(seed: UInt64(kind.rawValue.count) &* 7919)
        var outcome = Outcome()
        for i in 0..<Self.count {
            let root = "\(base)/m\(i)"
            try FileManager.default.copyItem(atPath: "\(base)/seed", toPath: root)
            var bytes = original
            Self.mutate(&bytes, &generator)
            try Data(bytes).write(to: URL(fileURLWithPath: Self.target(kind, root)))
            let src = Self.source(kind, root)
            for arguments in [["inspect", src], ["train", "--train", src, "--hidden", "4", "--epochs", "1", "--classes", "10", "--prefetch", "2"],
                              ["convert", "--from", src, "--to", "\(root)/out.h5"]] {
                let label = "mutant \(i) \(arguments[0])"
                guard let result = try Self.run(arguments) else { outcome.hangs.append(label); continue }
                if result.signaled || result.status == 70 {
                    // Kept for a look: the mutant that crashed, beside the temporary folder.
                    let kept = "\(base)-crash-\(kind.rawValue)-\(i)"
                    try? FileManager.default.copyItem(atPath: root, toPath: kept)
                    outcome.crashes.append("\(label) (kept in \(kept)): \(result.stderr.split(separator: "\n").first ?? "")")
                } else if result.status == 0 {
                    outcome.successes += 1
                } else {
                    outcome.errors += 1
                    #expect(result.stderr.split(separator: "\n").count <= 3, "\(label): \(result.stderr.prefix(300))")
                }
            }
            try? FileManager.default.removeItem(atPath: root)
        }
        print("fuzz \(kind.rawValue): \(Self.count) mutants × 3 commands: \(outcome.successes) ok, \(outcome.errors) clean errors, \(outcome.crashes.count) crashes, \(outcome.hangs.count) hangs")
        #expect(outcome.crashes.isEmpty, "\(kind.rawValue) crashes: \(outcome.crashes)")
        #expect(outcome.hangs.isEmpty, "\(kind.rawValue) hangs: \(outcome.hangs)")
    }
}

/// A small seeded generator (SplitMix64) for the fuzzer's mutations.
struct SystemRandomNumberGeneratorSeeded: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
