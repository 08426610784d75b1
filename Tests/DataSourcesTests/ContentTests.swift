import DataSources
import Foundation
import HDF5
import Testing

/// Generated content that behaves like the data it stands for.
@Suite struct ContentTests {
    @Test(arguments: SampleContent.allCases)
    func samplesDependOnSeedAndIndexOnlyAndFitUInt8(content: SampleContent) throws {
        let source = try SyntheticSource(samples: 50, shape: [3, 12, 10], classes: 4, seed: 3, content: content)
        let sequential = try epoch(source, EpochOptions(batchSize: 50))[0]
        let options = EpochOptions(batchSize: 7, order: .shuffle, seed: 9)
        let plan = EpochPlan.order(source.segments, options)
        for (k, row) in try epoch(source, options).flatMap(\.data).enumerated() { #expect(row == sequential.data[plan[k]]) }
        #expect(sequential.labels == (0..<50).map { Float($0 % 4) })
        #expect(sequential.data.joined().allSatisfy { v in v >= 0 && v <= 1 && (v * 255).rounded() == v * 255 })
        let other = try epoch(SyntheticSource(samples: 50, shape: [3, 12, 10], classes: 4, seed: 4, content: content),
                              EpochOptions(batchSize: 50))[0]
        #expect(other.data != sequential.data)
    }

    /// gzip level 4 on 64-sample chunks: noise does not compress, digits compress like MNIST
    /// (about 0.21 for MNIST's own file), photos like CIFAR-10 (about 0.88).
    @Test(arguments: [(SampleContent.noise, [1, 28, 28], 0.95...1.01), (.digits, [1, 28, 28], 0.15...0.32),
                      (.photos, [3, 32, 32], 0.80...0.95)])
    func compressionRatioBehavesLikeTheRealData(content: SampleContent, shape: [Int], expected: ClosedRange<Double>) throws {
        let path = temporaryDirectory().appendingPathComponent("c.h5").path
        let source = try SyntheticSource(samples: 640, shape: shape, classes: 10, seed: 1, content: content)
        try SourceLocation(kind: .hdf5File, path: path).writer(WriterOptions(type: .uint8, chunkRows: 64, compression: .gzip(level: 4))).write(source)
        let data = try File.open(path).root.dataset("data")
        let ratio = Double(data.storageSize) / Double(640 * shape.reduce(1, *))
        #expect(expected.contains(ratio), "\(content): gzip ratio \(ratio)")
    }

    @Test func optionsTheContentCannotServeAreRefused() {
        #expect(errorText { _ = try SyntheticSource(samples: 5, shape: [3, 8, 8], classes: 11, seed: 1, content: .photos) }
            == "--classes: photos content has 10 classes (one per photograph); give --classes 10 or fewer")
        #expect(errorText { _ = try SyntheticSource(samples: 5, shape: [64], classes: 2, seed: 1, content: .digits) }
            == "--shape: digits content needs an image shape [H, W] or [C, H, W], got [64]")
        #expect(errorText { _ = try SyntheticSource(samples: 5, shape: [4, 8, 8], classes: 2, seed: 1, content: .photos) }
            == "--shape: photos have 1 or 3 channels, not 4")
        #expect(SampleContent.default(for: [3, 224, 224]) == .photos && SampleContent.default(for: [1, 28, 28]) == .digits)
        #expect(SampleContent.default(for: [64]) == .noise && SampleContent.default(for: [2, 2]) == .noise)
    }
}
