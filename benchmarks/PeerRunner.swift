import Foundation

/// Runs the Python peer scripts under benchmarks/peers/ and reads their one-line JSON.
enum PeerRunner {
    struct TorchStep: Decodable {
        let medianMs: Double
        let p95Ms: Double
        let gemmMs: Double
        enum CodingKeys: String, CodingKey {
            case medianMs = "median_ms", p95Ms = "p95_ms", gemmMs = "gemm_ms"
        }
    }

    /// PyTorch's step time, or nil when python3 or torch is missing.
    static func torchStep(sizes: [Int], batch: Int, threads: Int, iterations: Int) throws -> TorchStep? {
        let script = peersDirectory.appendingPathComponent("torch_step.py").path
        guard let out = run(["python3", script, "--sizes", sizes.map(String.init).joined(separator: ","),
                             "--batch", String(batch), "--threads", String(threads),
                             "--iterations", String(iterations)]) else { return nil }
        return try JSONDecoder().decode(TorchStep.self, from: Data(out.utf8))
    }

    static var peersDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("peers")
    }

    /// Runs a command; returns its last stdout line, or nil when it could not run or failed
    /// with exit code 3 (the scripts' "a package is missing").
    private static func run(_ command: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init)
    }
}
