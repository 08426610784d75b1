import DataSources
import Foundation

/// The Python peers (benchmarks/peers/worker.py): what users run today — h5py, py-lmdb,
/// PyTorch — measured on the same files, in one long-lived process that answers one JSON
/// request a line. Keeping it alive lets peer epochs interleave with FeedBench's without
/// paying Python's start-up each time; each epoch is timed inside the worker.
public final class PeerWorker {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()
    /// Why each peer cannot run (absent when it can).
    public private(set) var unavailable: [String: String] = [:]

    /// The folder holding the peer scripts: `$FEEDBENCH_PEERS`, else `benchmarks/peers` in
    /// the working directory, else beside this source tree.
    public static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["FEEDBENCH_PEERS"] { return URL(fileURLWithPath: dir) }
        let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("benchmarks/peers")
        if FileManager.default.fileExists(atPath: local.path) { return local }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("benchmarks/peers")
    }

    /// Why the worker could not start, when `init` returned nil.
    nonisolated(unsafe) public static var lastFailure = ""

    /// Starts the worker and asks which peers can run; nil when python3 or the script is missing.
    public init?() {
        let script = Self.directory.appendingPathComponent("worker.py")
        guard FileManager.default.fileExists(atPath: script.path) else {
            Self.lastFailure = "the peer scripts are not at \(Self.directory.path) (set FEEDBENCH_PEERS)"
            return nil
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            Self.lastFailure = "python3 did not start (\(error.localizedDescription))"
            return nil
        }
        guard let ready = readLine(), ready.contains("ready"), let check = try? request(["op": "check"]) else {
            Self.lastFailure = "python3 is missing or the peer worker failed to start"
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        for (peer, reason) in check { if let reason = reason as? String { unavailable[peer] = reason } }
    }

    deinit {
        if process.isRunning {
            try? input.fileHandleForWriting.write(contentsOf: Data("{\"op\": \"quit\"}\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// Reads one epoch with a peer reader; returns the samples read and the seconds it took
    /// (measured inside the worker, around the epoch's reads alone).
    public func readEpoch(peer: String, location: SourceLocation, keys: DatasetKeys, order: SampleOrder, batchSize: Int,
                          seed: UInt64, maxSamples: Int, readahead: Bool = true, transform: ImageTransform? = nil) throws -> (samples: Int, seconds: Double) {
        var body: [String: Any] = [
            "op": "read", "peer": peer, "path": location.path, "data_key": keys.data, "label_key": keys.label,
            "order": order.rawValue, "batch": batchSize, "seed": Int(seed % (1 << 31)), "max_samples": maxSamples,
            "readahead": readahead,
        ]
        // Encoded images: Pillow decodes them, resized and centre-cropped as FeedBench's are.
        if let transform {
            var t: [String: Any] = [:]
            if let resize = transform.resize { t["resize"] = resize }
            if let crop = transform.cropSize { t["crop"] = crop }
            body["transform"] = t
        }
        let answer = try request(body)
        guard let samples = answer["samples"] as? Int, let seconds = answer["seconds"] as? Double else {
            throw PeerError("\(peer) answered without a measurement: \(answer)")
        }
        return (samples, seconds)
    }

    /// Writes the HDF5 set at `source` again with h5py, as `files` files with the same chunks
    /// and filters (hdf5plugin for LZ4, Zstandard and Blosc), its data read into memory first;
    /// returns the samples, the seconds the writing took, and the bytes written.
    public func writeSet(from source: SourceLocation, to target: String, files: Int, chunkRows: Int?, compression: String,
                         shuffle: Bool, fletcher32: Bool) throws -> (samples: Int, seconds: Double, bytes: Int) {
        let answer = try request([
            "op": "write", "peer": "h5py", "path": source.path, "target": target, "files": files, "chunk": chunkRows ?? 0,
            "compression": compression, "shuffle": shuffle, "fletcher32": fletcher32,
        ])
        guard let samples = answer["samples"] as? Int, let seconds = answer["seconds"] as? Double, let bytes = answer["bytes"] as? Int else {
            throw PeerError("h5py answered without a measurement: \(answer)")
        }
        return (samples, seconds, bytes)
    }

    /// Does what a peer reader does once, before any epoch (py-lmdb collects the keys, which
    /// reads the whole file), so that no timed or cold epoch pays for it.
    public func prepare(peer: String, location: SourceLocation) throws {
        _ = try request(["op": "prepare", "peer": peer, "path": location.path])
    }

    /// Builds PyTorch's training step for an MLP of `sizes` (input, hidden…, classes).
    public func buildTorchStep(sizes: [Int], batchSize: Int, threads: Int) throws {
        _ = try request(["op": "torch", "sizes": sizes, "batch": batchSize, "threads": threads])
    }

    /// PyTorch's step on the network of a FeedBench spec (a chain of dense, conv2d, pools,
    /// flatten and activations ending in softmax cross-entropy).
    public func buildTorchStep(spec: String, batchSize: Int, threads: Int) throws {
        _ = try request(["op": "torch", "spec": spec, "batch": batchSize, "threads": threads])
    }

    /// Times `count` PyTorch training steps (or, with `gemmsOnly`, the step's matrix
    /// products alone); milliseconds each.
    public func torchSteps(_ count: Int, gemmsOnly: Bool = false) throws -> [Double] {
        let answer = try request(["op": "steps", "what": gemmsOnly ? "gemm" : "step", "count": count])
        guard let ms = answer["ms"] as? [Double] else { throw PeerError("torch answered without timings: \(answer)") }
        return ms
    }

    private func request(_ body: [String: Any]) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        do {
            try input.fileHandleForWriting.write(contentsOf: data + Data("\n".utf8))
        } catch {
            throw PeerError("the peer worker stopped (\(error.localizedDescription))")
        }
        guard let line = readLine() else { throw PeerError("the peer worker stopped answering") }
        guard let answer = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw PeerError("the peer worker answered '\(line.prefix(80))'")
        }
        if let error = answer["error"] as? String { throw PeerError(error) }
        return answer
    }

    private func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

/// A peer that failed; the benchmark records it as skipped and goes on.
public struct PeerError: FeedBenchError {
    public let description: String
    public init(_ description: String) { self.description = description }
}
