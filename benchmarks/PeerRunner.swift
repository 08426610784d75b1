import Foundation

/// A Python peer script kept running, answering timing requests line by line, so that
/// blocks of its steps can be interleaved with ours in the same run.
final class TorchStepWorker {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    /// Starts `peers/torch_step.py`; nil when python3 or torch is missing.
    init?(sizes: [Int], batch: Int, threads: Int) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("peers/torch_step.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--sizes", sizes.map(String.init).joined(separator: ","),
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
    func steps(_ count: Int) throws -> [Double] { try request("step \(count)") }

    /// Times `count` repetitions of the step's matrix products alone.
    func gemms(_ count: Int) throws -> [Double] { try request("gemm \(count)") }

    private func request(_ line: String) throws -> [Double] {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        struct Answer: Decodable { let ms: [Double] }
        guard let answer = readLine() else { throw BenchmarkError("the PyTorch peer stopped answering") }
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
