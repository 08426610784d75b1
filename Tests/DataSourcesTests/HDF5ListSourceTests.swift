@testable import DataSources
import Foundation
import Graph
import HDF5
import Testing

@Suite struct HDF5ListSourceTests {
    /// The 17 samples of list.txt as the fixture script defines them, scaled by 1/255.
    func expectedListSample(_ i: Int) -> (values: [Float], label: Float) {
        if i < 10 {
            return ((0..<16).map { Float((i * 16 + $0) % 251) / 255 }, Float(i % 4))
        }
        let j = i - 10
        return ((0..<16).map { Float((j * 16 + $0 + 160) % 251) / 255 }, Float((j + 10) % 4))
    }

    @Test(arguments: SampleOrder.allCases, HDF5ListSource.ReadPath.allCases)
    func listFixtureReadsExactlyInEveryOrder(order: SampleOrder, path: HDF5ListSource.ReadPath) throws {
        let source = try HDF5ListSource(path: fixture("list.txt"), readPath: path)
        #expect(source.sampleShape == [1, 4, 4])
        #expect(source.sampleCount == 17)
        #expect(source.classes == 4)
        #expect(source.segments.fileSizes == [10, 7])
        #expect(source.segments.chunkRows == [64, 3])
        let options = EpochOptions(batchSize: 5, order: order, seed: 11)
        let batches = try epoch(source, options)
        #expect(batches.map(\.labels.count) == [5, 5, 5, 2])
        let plan = EpochPlan.order(source.segments, options)
        let rows = batches.flatMap(\.data), labels = batches.flatMap(\.labels)
        for (k, index) in plan.enumerated() {
            let expected = expectedListSample(index)
            #expect(rows[k] == expected.values, "sample \(index) at position \(k)")
            #expect(labels[k] == expected.label)
        }
    }

    @Test func directAndLibraryPathsGiveTheSameBatches() throws {
        for file in ["caffe_float.h5", "chunked_plain.h5", "float64.h5", "list.txt"] {
            let direct = try HDF5ListSource(path: fixture(file))
            let library = try HDF5ListSource(path: fixture(file), readPath: .library)
            let options = EpochOptions(batchSize: 3, order: .shuffle, seed: 2)
            let a = try epoch(direct, options), b = try epoch(library, options)
            #expect(a.map(\.data) == b.map(\.data), "\(file)")
            #expect(a.map(\.labels) == b.map(\.labels), "\(file)")
        }
        #expect(try HDF5ListSource(path: fixture("chunked_plain.h5")).readsDirectly)
        #expect(try HDF5ListSource(path: fixture("caffe_float.h5")).readsDirectly)
        // The gzip member's chunks are decoded by FeedBench, not through HDF5.
        let list = try HDF5ListSource(path: fixture("list.txt"))
        #expect(list.readsDirectly && list.decodesChunks)
        #expect(list.members.map(\.readDescription) == ["mapped", "chunks decoded by FeedBench"])
    }

    @Test func floatDataIsUsedAsStored() throws {
        let source = try HDF5ListSource(path: fixture("caffe_float.h5"))
        let batches = try epoch(source, EpochOptions(batchSize: 4))
        let values: [Float] = batches.flatMap(\.data).flatMap { $0 }
        let expected: [Float] = (0..<144).map { i in Float(i) * 0.25 - 3 }
        #expect(values == expected)
        #expect(batches.flatMap(\.labels) == [0, 1, 2, 0, 1, 2])
        let f64 = try epoch(HDF5ListSource(path: fixture("float64.h5")), EpochOptions(batchSize: 5))
        let f64Values: [Float] = f64[0].data.flatMap { $0 }
        let f64Expected: [Float] = (0..<35).map { i in Float(i) / 8 }
        #expect(f64Values == f64Expected)
        #expect(f64[0].labels == [4, 3, 2, 1, 0])
    }

    @Test func scaleOverridesTheDefault() throws {
        let source = try HDF5ListSource(path: fixture("uint8.h5"), scale: 2)
        let batches = try epoch(source, EpochOptions(batchSize: 10))
        let scaled: [Float] = (48..<64).map { i in Float(i % 251) * 2 }
        #expect(batches[0].data[3] == scaled)
    }

    @Test func chunkedPlainAcrossPartialLastChunk() throws {
        let source = try HDF5ListSource(path: fixture("chunked_plain.h5"))
        #expect(source.segments.chunkRows == [7])
        let batches = try epoch(source, EpochOptions(batchSize: 16, order: .shuffle, seed: 8))
        let plan = EpochPlan.order(source.segments, EpochOptions(batchSize: 16, order: .shuffle, seed: 8))
        for (k, row) in batches.flatMap(\.data).enumerated() {
            let expected: [Float] = (0..<6).map { c in Float(plan[k] * 6 + c) * 0.5 }
            #expect(row == expected)
        }
    }

    @Test(arguments: [1, 4])
    func prefetchingGivesTheSameBatches(depth: Int) throws {
        let source = try HDF5ListSource(path: fixture("list.txt"))
        let options = EpochOptions(batchSize: 4, order: .fileShuffle, seed: 6)
        let plain = try epoch(source, options)
        let prefetched = try epoch(PrefetchingSource(source, depth: depth), options)
        #expect(plain.map(\.data) == prefetched.map(\.data))
        #expect(plain.map(\.labels) == prefetched.map(\.labels))
    }
}

@Suite struct HDF5ListSourceBadInputTests {
    /// Writes a small valid file with the given shapes (and optionally no label).
    func writeFile(_ path: String, rows: Int = 4, sample: [Int] = [3], labelRows: Int? = nil, label: Bool = true) throws {
        let file = try File.create(path)
        let data = try file.root.createDataset("data", type: .float32, shape: [rows] + sample)
        let values = [Float](repeating: 0.5, count: rows * sample.reduce(1, *))
        try values.withUnsafeBytes { try data.write(rows: 0..<rows, from: $0.baseAddress!, as: .float32) }
        if label {
            let n = labelRows ?? rows
            let l = try file.root.createDataset("label", type: .float32, shape: [n])
            try [Float](repeating: 1, count: n).withUnsafeBytes { try l.write(rows: 0..<n, from: $0.baseAddress!, as: .float32) }
        }
        try file.close()
    }

    func listOf(_ dir: URL, _ names: [String]) throws -> String {
        let list = dir.appendingPathComponent("list.txt").path
        try names.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        return list
    }

    @Test func missingFileInList() throws {
        let dir = temporaryDirectory()
        try writeFile(dir.appendingPathComponent("a.h5").path)
        let list = try listOf(dir, ["a.h5", "b.h5"])
        #expect(errorText { _ = try HDF5ListSource(path: list) } == "\(list): line 2: \(dir.path)/b.h5: no such file")
    }

    @Test func notHDF5() throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("a.h5").path
        try "not hdf5".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try HDF5ListSource(path: path) } == "\(path): not an HDF5 file")
    }

    @Test func truncatedFile() throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("big.h5").path
        try writeFile(path, rows: 2000, sample: [16])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 40_000)
        try handle.close()
        let text = errorText { _ = try HDF5ListSource(path: path) }
        #expect(text.hasPrefix("\(path): "), "\(text)")
        #expect(text.contains("truncated"), "\(text)")
    }

    @Test func missingDataOrLabel() throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("a.h5").path
        try writeFile(path, label: false)
        #expect(errorText { _ = try HDF5ListSource(path: path) }
            == "\(path): no dataset 'label' (Caffe's HDF5Data needs 'data' and 'label'; the file holds 'data'; name others with --data-key / --label-key)")
    }

    @Test func sampleCountMismatch() throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("a.h5").path
        try writeFile(path, rows: 4, labelRows: 3)
        #expect(errorText { _ = try HDF5ListSource(path: path) } == "\(path): 'data' has 4 samples but 'label' has 3")
    }

    @Test func shapeDiffersBetweenFiles() throws {
        let dir = temporaryDirectory()
        try writeFile(dir.appendingPathComponent("a.h5").path, sample: [3])
        try writeFile(dir.appendingPathComponent("b.h5").path, sample: [4])
        let list = try listOf(dir, ["a.h5", "b.h5"])
        #expect(errorText { _ = try HDF5ListSource(path: list) }
            == "\(list): line 2: \(dir.path)/b.h5: sample shape [4] differs from [3] in \(dir.path)/a.h5")
    }

    @Test func unsupportedType() throws {
        let path = fixture("uint16.h5")
        #expect(errorText { _ = try HDF5ListSource(path: path) }
            == "\(path): 'data' has type uint16; FeedBench reads uint8, int8–int64, float32 and float64")
    }

    @Test func emptyList() throws {
        let dir = temporaryDirectory()
        let list = try listOf(dir, ["# nothing here", "", "  "])
        #expect(errorText { _ = try HDF5ListSource(path: list) } == "\(list): the list names no HDF5 files")
    }

    @Test func relativePathFallsBackToTheWorkingDirectory() throws {
        let dir = temporaryDirectory()
        let listDir = dir.appendingPathComponent("lists")
        try FileManager.default.createDirectory(at: listDir, withIntermediateDirectories: true)
        try writeFile(dir.appendingPathComponent("a.h5").path)
        let list = try listOf(listDir, ["a.h5"])
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let source = try HDF5ListSource(path: list)
        #expect(source.sampleCount == 4)
    }
}

@Suite struct PrefetchingTests {
    final class FailingSource: DataSource {
        let name = "failing"
        let sampleShape = [2]
        let sampleCount = 10
        let classes: Int? = 2
        let segments = SampleSegments.single(10)
        let files: [String] = []
        let failAt: Int
        init(failAt: Int) { self.failAt = failAt }
        final class Iterator: BatchIterator {
            var n = 0
            let failAt: Int
            init(failAt: Int) { self.failAt = failAt }
            func next() throws -> Batch? {
                n += 1
                if n == failAt { throw DataSourceError("failing", "broken at batch \(n)") }
                return n > 5 ? nil : Batch(data: Tensor(zeros: [2, 2]), labels: Tensor(zeros: [2]))
            }
        }
        func makeIterator(_ options: EpochOptions) throws -> any BatchIterator { Iterator(failAt: failAt) }
    }

    @Test func errorsReachTheConsumerAtTheirBatch() throws {
        let iterator = try PrefetchingSource(FailingSource(failAt: 3), depth: 4).makeIterator(EpochOptions(batchSize: 2))
        #expect(try iterator.next() != nil)
        #expect(try iterator.next() != nil)
        #expect(errorText { _ = try iterator.next() } == "failing: broken at batch 3")
        #expect(try iterator.next() == nil)
    }

    @Test func stoppingEarlyEndsTheThread() throws {
        let source = try SyntheticSource(samples: 10_000, shape: [64], classes: 3, seed: 1)
        for _ in 0..<20 {
            let iterator = try PrefetchingSource(source, depth: 2).makeIterator(EpochOptions(batchSize: 8))
            _ = try iterator.next()
            // Dropping the iterator here must stop and join the reading thread.
        }
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        }
        #expect(!threads.contains { $0.hasPrefix("feedbench.prefe") })
    }
}

@Suite struct BoundedQueueTests {
    /// A popped batch is no longer held by the queue, so the reader's buffer ring can reuse
    /// it once the consumer lets go (otherwise every batch allocates a new buffer).
    @Test func popReleasesTheBatch() {
        let queue = BoundedQueue(capacity: 2)
        var data: Tensor<Float>? = Tensor(zeros: [1, 4])
        #expect(queue.push(Batch(data: data!, labels: Tensor(zeros: [1]))))
        if case .batch(let b) = queue.pop() { #expect(b.count == 1) } else { Issue.record("expected a batch") }
        #expect(isKnownUniquelyReferenced(&data))
    }
}

/// A chunked dataset with chunks never written inside its extent: through `H5Dread` HDF5
/// would return zeros for them, so it is refused on every read path.
@Test func unwrittenChunksAreRefusedOnEveryReadPath() throws {
    let path = makeTemporaryDirectory().appendingPathComponent("holes.h5").path
    let file = try File.create(path)
    let data = try file.root.createDataset("data", type: .uint8, shape: [100, 4], chunkRows: 25, gzipLevel: 4)
    let values = [UInt8](repeating: 7, count: 50 * 4)
    try values.withUnsafeBufferPointer { try data.write(rows: 0..<50, from: $0.baseAddress!, as: .uint8) }
    try data.close()
    let label = try file.root.createDataset("label", type: .float32, shape: [100])
    let labels = [Float](repeating: 1, count: 100)
    try labels.withUnsafeBufferPointer { try label.write(rows: 0..<100, from: $0.baseAddress!, as: .float32) }
    try label.close()
    try file.close()
    for readPath in HDF5ListSource.ReadPath.allCases {
        let text = errorText { _ = try HDF5ListSource(path: path, readPath: readPath) }
        #expect(text.contains("never written") || text.contains("chunks written of the 4"), "\(readPath): \(text)")
    }
}
