import Foundation

/// The Python peers under benchmarks/peers/: what users run today, measured on the same files.
public enum PythonPeer {
    /// The folder holding the peer scripts: `$FEEDBENCH_PEERS`, else `benchmarks/peers` in
    /// the working directory, else beside this source tree.
    public static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["FEEDBENCH_PEERS"] { return URL(fileURLWithPath: dir) }
        let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("benchmarks/peers")
        if FileManager.default.fileExists(atPath: local.path) { return local }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("benchmarks/peers")
    }

    /// Runs a peer script that prints `{"samples_per_s": …}`; nil when python3 or one of the
    /// script's packages is missing (the scripts exit 3 then) or it fails.
    public static func samplesPerSecond(script name: String, _ arguments: [String]) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory.appendingPathComponent(name).path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        struct Answer: Decodable { let samples_per_s: Double }
        return try? JSONDecoder().decode(Answer.self, from: data).samples_per_s
    }
}

/// PyTorch's training step (benchmarks/peers/torch_step.py) kept running and answering timing
/// requests line by line, so that its blocks can be interleaved with ours.
public final class TorchStepWorker {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    /// Starts the worker for an MLP of `sizes` (input, hidden…, classes); nil without torch.
    public init?(sizes: [Int], batch: Int, threads: Int) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", PythonPeer.directory.appendingPathComponent("torch_step.py").path,
                             "--sizes", sizes.map(String.init).joined(separator: ","),
                             "--batch", String(batch), "--threads", String(threads)]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        guard let ready = readLine(), ready.contains("ready") else {
            process.waitUntilExit()
            return nil
        }
    }

    deinit {
        if process.isRunning {
            try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// Times `count` training steps; milliseconds per step.
    public func steps(_ count: Int) throws -> [Double] { try request("step \(count)") }

    /// Times `count` repetitions of the step's matrix products alone.
    public func gemms(_ count: Int) throws -> [Double] { try request("gemm \(count)") }

    private func request(_ line: String) throws -> [Double] {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        struct Answer: Decodable { let ms: [Double] }
        guard let answer = readLine() else { throw TrainingError("the PyTorch peer stopped answering") }
        return try JSONDecoder().decode(Answer.self, from: Data(answer.utf8)).ms
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
