import DataSources
import Experiments
import Foundation
import Graph
import HDF5
import Testing
import TestSupport

/// `feedbench` under `mpirun`, two ranks on this machine's loopback (Open MPI from
/// `make setup`; these tests fail, not skip, when it is missing).
struct MPIRun {
    let status: Int32
    let stdout: String
    let stderr: String
    let seconds: Double

    /// Runs `mpirun -n ranks feedbench arguments`, killed after `timeout` seconds (a hang
    /// is a failure, not a wait forever).
    init(ranks: Int, _ arguments: [String], timeout: Double = 180) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        var launcher = ["--quiet", "--oversubscribe", "-n", String(ranks)]
        if getuid() == 0 { launcher.insert("--allow-run-as-root", at: 0) }
        process.arguments = launcher + [FeedBenchProcess.executable.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Containers often forbid the cross-memory attach of Open MPI's shared-memory transport.
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        process.environment = environment
        process.currentDirectoryURL = FeedBenchProcess.repository
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let start = Date()
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        seconds = Date().timeIntervalSince(start)
        #expect(seconds < timeout, "mpirun hung and was killed after \(timeout) s")
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}

@Suite(.serialized) struct MPITrainTests {
    let folder = makeTemporaryDirectory()

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func generate(_ arguments: [String]) throws {
        let run = try FeedBenchProcess(["generate"] + arguments)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// The parameters of a snapshot of the `--hidden 16` MLP on 1×8×8 samples.
    func weights(_ snapshot: String) throws -> [String: [Float]] {
        let graph = try Graph<Float>(spec: .mlp(inputShape: [1, 8, 8], hidden: [16], classes: 10), seed: 99)
        _ = try Snapshot.load(snapshot, into: graph)
        return Dictionary(uniqueKeysWithValues: graph.parameters.map { ($0.name, $0.value.scalars) })
    }

    /// Two ranks with batch B, sequential, the last batch kept, step exactly like one
    /// process with batch 2·B: 1,010 samples make a last global batch of 10, all of it on
    /// rank 0 while rank 1 takes part with no samples.
    @Test func twoRanksEqualOneProcessWithTheDoubledBatch() throws {
        try generate(["--samples", "1010", "--shape", "1,8,8", "--to", path("set.h5")])
        let common = ["train", "--train", path("set.h5"), "--hidden", "16", "--epochs", "2", "--order", "sequential",
                      "--learning-rate", "0.1", "--momentum", "0.9", "--weight-decay", "0.0001"]
        for overlap in ["--overlap", "--no-overlap"] {
            let two = try MPIRun(ranks: 2, common + ["--batch-size", "10", "--snapshot", path("two\(overlap).h5"), overlap])
            #expect(two.status == 0, "\(two.stderr)")
            #expect(two.stdout.contains("2 ranks on 1 host, global batch 20: each global batch of 2×B samples cut into 2 blocks"))
            #expect(two.stdout.components(separatedBy: "on every rank]").count == 3, "\(two.stdout)")
            // Only rank 0 prints: one line per epoch.
            #expect(two.stdout.components(separatedBy: "epoch 2/2").count == 2)
            let one = try FeedBenchProcess(common + ["--batch-size", "20", "--snapshot", path("one.h5")])
            #expect(one.status == 0, "\(one.stderr)")
            let a = try weights(path("one.h5")), b = try weights(path("two\(overlap).h5"))
            #expect(a.count == 4)
            for (name, x) in a {
                let y = try #require(b[name])
                let difference = zip(x, y).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
                let norm = x.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                #expect(difference <= 1e-5 * norm, "\(name) \(overlap): ‖Δ‖/‖w‖ = \(difference / norm)")
                #expect(x != (try Graph<Float>(spec: .mlp(inputShape: [1, 8, 8], hidden: [16], classes: 10), seed: 1))
                    .parameter(named: name)!.value.scalars, "\(name) did not train")
            }
            // The same losses, as printed.
            let losses = { (text: String) in text.split(separator: "\n").filter { $0.hasPrefix("epoch") }.map { $0.split(separator: " ")[4] } }
            #expect(losses(two.stdout) == losses(one.stdout), "\(two.stdout)\n\(one.stdout)")
        }
    }

    /// Whole files round-robin: with four files, each rank reads two; every epoch's
    /// checksum line is there, and the log has the communication column.
    @Test func filesAreSharedRoundRobin() throws {
        try generate(["--samples", "800", "--shape", "1,8,8", "--files", "4", "--to", path("four.txt")])
        let run = try MPIRun(ranks: 2, ["train", "--train", path("four.txt"), "--test", path("four.txt"), "--hidden", "16",
                                        "--epochs", "2", "--batch-size", "16", "--log", path("log.csv")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("whole files round-robin over 2 ranks"))
        #expect(run.stdout.contains("test loss"))
        let log = try String(contentsOfFile: path("log.csv"), encoding: .utf8).split(separator: "\n")
        #expect(log.count == 3)
        #expect(log[0].hasSuffix("ranks,compute_s,data_wait_s,communication_s,weights_checksum"))
        #expect(log[1].split(separator: ",").map(String.init)[8] == "2")
    }

    /// A corrupt chunk in rank 1's file: every rank ends, rank 0 prints rank 1's line, the
    /// exit is non-zero and nothing hangs.
    @Test func oneRanksBadFileEndsEveryRankWithItsMessage() throws {
        try generate(["--samples", "400", "--shape", "1,8,8", "--files", "2", "--compression", "gzip", "--chunk", "20",
                      "--to", path("gz.txt")])
        let second = path("gz-001.h5")
        let chunks = try File.open(second).root.dataset("data").chunkLocations()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: second))
        try handle.seek(toOffset: UInt64(chunks[3].address + 2))
        try handle.write(contentsOf: Data([0xFF, 0xFF, 0xFF, 0xFF]))
        try handle.close()
        let run = try MPIRun(ranks: 2, ["train", "--train", path("gz.txt"), "--hidden", "16", "--epochs", "1", "--batch-size", "10"],
                             timeout: 120)
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(lines.first?.hasPrefix("Error: rank 1: \(second): 'data': the chunk at [60, 0, 0, 0] does not decode") == true, "\(run.stderr)")
    }

    /// `mpirun -n 2 feedbench bench`: each rank reads its share at the same time, rank 0
    /// writes rows that count every rank's samples, cold epochs start with nothing resident
    /// on the host, and the cases that do not run over ranks are named.
    @Test func benchOverTwoRanks() throws {
        let config = path("mpi.yaml")
        try """
            experiment: mpi-test
            dataset:
              name: small
              generate: {samples: 600, shape: [1, 8, 8], classes: 10, seed: 1}
            backends:
              - {name: raw, format: raw}
              - {name: hdf5-contiguous, format: hdf5, files: 3}
              - {name: lmdb, format: lmdb}
            orders: [shuffle]
            cache: [warm, cold]
            batch_sizes: [32]
            prefetch: [2]
            modes: [read, train]
            repeats: 2
            warmup: 1
            network: {hidden: [16], learning_rate: 0.01, momentum: 0.9}
            peers: true
            data_dir: \(path("data"))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try MPIRun(ranks: 2, ["bench", config, "--out", path("out")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("not measured over 2 ranks: h5py, h5py-getitem, py-lmdb, torch"), "\(run.stdout)")
        #expect(run.stdout.components(separatedBy: "wrote ").count == 2)  // rank 0 alone writes and prints
        let rows = try ResultsCSV.read(path("out/results.csv"))
        #expect(rows.count == 3 * 2 * 2 * 2)  // backends × caches × modes × repeats
        for row in rows {
            #expect(row.ranks == 2)
            #expect(row.samples == 600, "\(row.backend) \(row.mode.rawValue): every rank's samples")
            if row.cache == .cold { #expect(row.residentBefore == 0, "\(row.backend) cold: \(row.residentBefore ?? -1) resident") }
            if row.mode == .train {
                let au = try #require(row.au), least = try #require(row.auMin)
                #expect(least <= au && least > 0)
            }
        }
    }

    /// Emulated accelerators over two ranks: a probe of N per rank runs 2·N accelerators on
    /// disjoint shards, its figures are every rank's, and max_accelerators counts them all.
    @Test func emulatedAcceleratorsSpreadOverRanks() throws {
        let config = path("emulate.yaml")
        try """
            experiment: mpi-emulate
            dataset:
              name: small
              generate: {samples: 960, shape: [1, 8, 8], classes: 10, seed: 1}
            accelerators: {profile: custom, record_bytes: 64, batch_size: 8, compute_seconds: 0.002, au_threshold: 0.5, probe_seconds: 0.2, max_accelerators: 4}
            backends:
              - {name: raw, format: raw}
            orders: [shuffle]
            cache: [warm]
            modes: [emulate]
            peers: [dlio]
            data_dir: \(path("data"))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try MPIRun(ranks: 2, ["bench", config, "--out", path("emulated")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("peer skipped: dlio (not run over MPI ranks"), "\(run.stdout)")
        let rows = try AcceleratorColumns.read(path("emulated/accelerators.csv"))
        let probes = rows.filter { $0.kind == .probe }
        #expect(!probes.isEmpty)
        for row in rows { #expect(row.ranks == 2) }
        for probe in probes {
            #expect(probe.accelerators % 2 == 0 && probe.accelerators <= 4, "\(probe.accelerators) accelerators")
            // Every accelerator of both ranks took its steps: samples = accelerators × steps × batch.
            #expect(probe.samples == probe.accelerators * (probe.steps ?? 0) * 8)
        }
        let answer = try #require(rows.first { $0.kind == .answer })
        #expect(answer.limit == 4 && answer.accelerators <= 4)
    }

    /// A bad option under mpirun: one line, not one per rank.
    @Test func aBadOptionIsReportedOnce() throws {
        let run = try MPIRun(ranks: 2, ["train", "--train", "x.h5", "--hidden", "8", "--epochs", "0"], timeout: 60)
        #expect(run.status != 0)
        #expect(run.stderr.components(separatedBy: "--epochs must be at least 1").count == 2, "\(run.stderr)")
    }
}
