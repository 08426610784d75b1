import Foundation
import Testing
import TestSupport

/// Runs the built `feedbench` binary, as a user would.
struct FeedBenchProcess {
    let status: Int32
    let stdout: String
    let stderr: String

    static var executable: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("feedbench")
    }

    static var repository: URL { repositoryRoot }

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = Self.repository
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "feedbench was killed by a signal")
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}

@Suite struct ExecutableTests {
    func temporaryFile(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("feedbench-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Bad input: one line on stderr naming the file and the problem, a non-zero exit, no signal.
    @Test(arguments: [
        ("missing", "no such file"),
        ("inputs: [x", "not valid YAML"),
        ("inputs: {x: [2]}\nnodes:\n  - {name: n, op: dence, inputs: [x]}\nloss: n", "line 3: node 'n': unknown op 'dence'"),
        ("inputs: {x: [2]}\nnodes:\n  - {name: n, op: relu, inputs: [x, x]}\nloss: n", "node 'n': relu takes 1 inputs, got 2"),
        ("inputs: {x: [4]}\nparams: {W: {shape: [3, 2]}}\nnodes:\n  - {name: h, op: dense, inputs: [x, W]}\n  - {name: loss, op: l2, inputs: [h]}\nloss: loss",
         "node 'h' (dense): weight [3, 2] needs 3 inputs per sample, x gives 4"),
        ("inputs: {x: [2]}\nnodes:\n  - {name: a, op: add, inputs: [x, b]}\n  - {name: b, op: relu, inputs: [a]}\n  - {name: loss, op: l2, inputs: [b]}\nloss: loss",
         "cycle through nodes"),
    ])
    func badNetworkSpec(content: String, expected: String) throws {
        let path = content == "missing" ? "/nonexistent/net.yaml" : try temporaryFile(content)
        for command in ["gradcheck", "time"] {
            let run = try FeedBenchProcess([command, path])
            #expect(run.status == 1)
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(run.stderr)")
            #expect(run.stderr.contains(path), "\(run.stderr)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
        }
    }

    @Test func gradcheckOfTheExampleNetworkPasses() throws {
        let run = try FeedBenchProcess(["gradcheck", "benchmarks/nets/tied-autoencoder.yaml", "--tolerance", "1e-6"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first == "gradcheck benchmarks/nets/tied-autoencoder.yaml: batch 4, seed 1, tolerance 1.00e-06")
        #expect(lines.last == "6 passed, 0 failed")
        #expect(lines.filter { $0.hasSuffix(" ok") }.map { String($0.split(separator: " ")[0]) } == ["x", "W", "b", "V", "c", "k"])
    }

    @Test func gradcheckFailsWhenTheBoundIsTooTight() throws {
        let run = try FeedBenchProcess(["gradcheck", "benchmarks/nets/tied-autoencoder.yaml", "--tolerance", "1e-15"])
        #expect(run.status == 1)
        #expect(run.stdout.contains("FAIL"))
    }

    @Test func timePrintsEveryFunctionNode() throws {
        let run = try FeedBenchProcess(["time", "benchmarks/nets/mnist-mlp.yaml", "--batch", "8", "--iterations", "2", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let nodeLines = run.stdout.split(separator: "\n").dropFirst(2).dropLast()
        #expect(nodeLines.map { String($0.split(separator: " ")[0]) } == ["h1", "a1", "out", "loss"])
        #expect(run.stdout.split(separator: "\n").last?.hasPrefix("mean: forward ") == true)
    }
}
