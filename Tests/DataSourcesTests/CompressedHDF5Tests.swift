@testable import DataSources
import Foundation
import HDF5
import Testing

/// Compressed HDF5 read chunk by chunk by FeedBench (no HDF5 filter pipeline): files written
/// by h5py + hdf5plugin (datasets/fixtures/filters.h5) and by FeedBench itself.
@Suite struct CompressedHDF5Tests {
    static let pipelines = ["deflate", "shuffle_deflate", "deflate_fletcher32", "lz4", "zstd", "blosc_lz4",
                            "blosc_zstd_bitshuffle", "blosc_zlib", "blosc_blosclz", "bitshuffle", "bitshuffle_lz4",
                            "bitshuffle_zstd", "shuffle_lz4_fletcher32"]

    /// The fixture's values for sample `row` of a prefix, as FeedBench delivers them.
    static func expected(_ prefix: String, row: Int) -> [Float] {
        switch prefix {
        case "u8": return (0..<15).map { Float(((row * 15 + $0) * 7 + 3) % 256) / 255 }
        case "f32": return (0..<15).map { Float(row * 15 + $0) * 0.5 - 10 }
        default: return (0..<4).map { Float(((row * 4 + $0) * 37) % 2000 - 1000) }
        }
    }

    @Test(arguments: ["u8", "f32", "i16"], pipelines)
    func everyFilterH5pyWritesReadsExactly(prefix: String, pipeline: String) throws {
        let source = try HDF5ListSource(path: fixture("filters.h5"), keys: DatasetKeys(data: "\(prefix)_\(pipeline)", label: "label"))
        #expect(source.decodesChunks && source.readsDirectly)
        for order in [SampleOrder.sequential, .shuffle, .chunkShuffle] {
            let options = EpochOptions(batchSize: 5, order: order, seed: 3)
            let plan = EpochPlan.order(source.segments, options)
            let rows = try epoch(source, options).flatMap(\.data)
            #expect(rows.count == 37)
            for (k, row) in rows.enumerated() where row != Self.expected(prefix, row: plan[k]) {
                Issue.record("\(prefix)_\(pipeline) \(order): sample \(plan[k]) differs")
                break
            }
        }
    }

    @Test func chunksThatSplitSamplesAndChunksStoredRawWithAMask() throws {
        let split = try HDF5ListSource(path: fixture("filters.h5"), keys: DatasetKeys(data: "u8_split_deflate", label: "label"))
        let rows = try epoch(split, EpochOptions(batchSize: 6, order: .shuffle, seed: 1))
        let plan = EpochPlan.order(split.segments, EpochOptions(batchSize: 6, order: .shuffle, seed: 1))
        #expect(rows.flatMap(\.data).enumerated().allSatisfy { $0.element == Self.expected("u8", row: plan[$0.offset]) })
        // Blosc could not compress these chunks; hdf5plugin stored them raw with mask 1.
        let masked = try HDF5ListSource(path: fixture("filters.h5"), keys: DatasetKeys(data: "u8_random_blosc", label: "label"))
        let plain = try HDF5ListSource(path: fixture("filters.h5"), keys: DatasetKeys(data: "u8_random", label: "label"))
        let options = EpochOptions(batchSize: 7, order: .shuffle, seed: 2)
        #expect(try epoch(masked, options).map(\.data) == epoch(plain, options).map(\.data))
    }

    /// Every compression FeedBench writes reads back exactly, with the standard filter ids.
    @Test(arguments: ["gzip:1", "lz4", "zstd:7", "blosc", "blosc:zstd:3", "blosc:zlib:6"], [false, true])
    func everyCompressionRoundTrips(compression: String, shuffleAndChecksum: Bool) throws {
        let source = try SyntheticSource(samples: 101, shape: [2, 5], classes: 4, seed: 9)
        for type in [StoredType.uint8, .float32] {
            let dir = temporaryDirectory().path
            let options = WriterOptions(files: 2, type: type, chunkRows: 16, compression: try Compression(parsing: compression),
                                        shuffle: shuffleAndChecksum, fletcher32: shuffleAndChecksum)
            try SourceLocation(kind: .hdf5List, path: dir + "/set.txt").writer(options).write(source)
            let back = try HDF5ListSource(path: dir + "/set.txt")
            #expect(back.decodesChunks)
            let ids = back.members[0].data.filters.map(\.id)
            let codec: Int32 = compression.hasPrefix("gzip") ? 1 : compression == "lz4" ? 32004 : compression.hasPrefix("zstd") ? 32015 : 32001
            #expect(ids.contains(codec) && ids.contains(3) == shuffleAndChecksum)
            let o = EpochOptions(batchSize: 9, order: .shuffle, seed: 4)  // a permutation of all samples, whatever the files
            #expect(try epoch(back, o).map(\.data) == epoch(source, o).map(\.data), "\(compression) \(type)")
        }
    }

    /// A file with one compressed dataset `data` of 40 × [3, 4] uint8 in chunks of 8, and
    /// the address and size of each chunk.
    func compressedFile(_ compression: String, fletcher32: Bool = false) throws -> (path: String, chunks: [ChunkLocation]) {
        let path = temporaryDirectory().appendingPathComponent("c.h5").path
        let source = try SyntheticSource(samples: 40, shape: [3, 4], classes: 2, seed: 1)
        try SourceLocation(kind: .hdf5File, path: path)
            .writer(WriterOptions(type: .uint8, chunkRows: 8, compression: try Compression(parsing: compression), fletcher32: fletcher32))
            .write(source)
        let chunks = try File.open(path).root.dataset("data").chunkLocations()
        return (path, chunks)
    }

    func corrupt(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    func readError(_ path: String) -> String {
        errorText {
            let source = try HDF5ListSource(path: path)
            _ = try epoch(source, EpochOptions(batchSize: 8))
        }
    }

    @Test func aCorruptChunkNamesFileDatasetChunkAndCodec() throws {
        let gzip = try compressedFile("gzip")
        try corrupt(gzip.path, at: gzip.chunks[2].address + 2, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(readError(gzip.path).hasPrefix("\(gzip.path): 'data': the chunk at [16, 0, 0] does not decode (deflate: libdeflate: bad data"))

        let checked = try compressedFile("lz4", fletcher32: true)
        try corrupt(checked.path, at: checked.chunks[1].address + 20, with: [0x5A])
        #expect(readError(checked.path).contains("'data': the chunk at [8, 0, 0] does not decode (fletcher32: checksum mismatch (stored "))

        let lz4 = try compressedFile("lz4")
        try corrupt(lz4.path, at: lz4.chunks[0].address, with: [0, 0, 0, 0, 0, 0, 0x10, 0])  // declared size 4096
        #expect(readError(lz4.path).contains("the chunk at [0, 0, 0] does not decode (lz4: the header says 4096 bytes, more than the chunk's 96)"))

        let zstd = try compressedFile("zstd")
        try corrupt(zstd.path, at: zstd.chunks[4].address, with: [0, 0, 0, 0])  // the frame's magic number
        #expect(readError(zstd.path).contains("the chunk at [32, 0, 0] does not decode (zstd: Unknown frame descriptor)"))
    }

    @Test func missingChunksAndFiltersNobodyDecodesFailBeforeTheFirstBatch() throws {
        let path = temporaryDirectory().appendingPathComponent("m.h5").path
        let file = try File.create(path)
        // Only two of the three chunks written: HDF5 would return zeros for the third.
        let data = try file.root.createDataset("data", type: .uint8, shape: [24, 4], chunkRows: 8, filters: [Filter(id: 32004, values: [0])])
        let chunk = try [UInt8](repeating: 7, count: 32).withUnsafeBytes { try H5LZ4.encode($0, blockBytes: 0) }
        try chunk.withUnsafeBytes { try data.writeChunk(at: [0, 0], bytes: $0) }
        try chunk.withUnsafeBytes { try data.writeChunk(at: [16, 0], bytes: $0) }
        // A filter neither FeedBench nor this HDF5 can undo (zfp, optional so HDF5 accepts it).
        let zfp = try file.root.createDataset("zfp", type: .uint8, shape: [8, 4], chunkRows: 8, filters: [Filter(id: 32013, values: [1])])
        try [UInt8](repeating: 1, count: 32).withUnsafeBytes { try zfp.writeChunk(at: [0, 0], bytes: $0) }
        let label = try file.root.createDataset("label", type: .float32, shape: [24])
        try [Float](repeating: 0, count: 24).withUnsafeBytes { try label.write(rows: 0..<24, from: $0.baseAddress!, as: .float32) }
        let label8 = try file.root.createDataset("label8", type: .float32, shape: [8])
        try [Float](repeating: 0, count: 8).withUnsafeBytes { try label8.write(rows: 0..<8, from: $0.baseAddress!, as: .float32) }
        try data.close(); try zfp.close(); try label.close(); try label8.close(); try file.close()
        #expect(errorText { _ = try HDF5ListSource(path: path) }
            == "\(path): 'data': the chunk at [8, 0] was never written (2 of the 3 chunks its extent needs are; HDF5 would return fill values for the others)")
        #expect(errorText { _ = try HDF5ListSource(path: path, keys: DatasetKeys(data: "zfp", label: "label8")) }
            == "\(path): 'zfp' uses filter 32013 (zfp), which neither FeedBench nor HDF5 (no plugin found) can decode")
    }

    @Test func filtersWithWrongParametersAreRefusedBeforeTheFirstBatch() throws {
        for (filter, problem) in [(Filter(id: 32008, values: [0, 4, 2, 0, 2]), "an element size of 2 for elements of 1 bytes"),
                                  (Filter(id: 32008, values: [0, 4, 1, 12, 2]), "a block of 12 elements, not a multiple of 8"),
                                  (Filter(id: 32008, values: [0, 4, 1, 0, 7]), "compression 7 (0 none, 2 LZ4, 3 Zstandard)"),
                                  (Filter(id: 32001, values: [2, 2, 1, 32, 5, 1, 9]), "compressor code 9 (Blosc has 0–5)")] {
            let path = temporaryDirectory().appendingPathComponent("p.h5").path
            let file = try File.create(path)
            let data = try file.root.createDataset("data", type: .uint8, shape: [8, 4], chunkRows: 8, filters: [filter])
            try [UInt8](repeating: 0, count: 40).withUnsafeBytes { try data.writeChunk(at: [0, 0], bytes: $0) }
            let label = try file.root.createDataset("label", type: .float32, shape: [8])
            try [Float](repeating: 0, count: 8).withUnsafeBytes { try label.write(rows: 0..<8, from: $0.baseAddress!, as: .float32) }
            try data.close(); try label.close(); try file.close()
            #expect(errorText { _ = try HDF5ListSource(path: path) }
                == "\(path): 'data': filter \(filter.id) (\(filter.name)) has wrong parameters: \(problem)")
        }
    }

    /// Sequential and chunk-shuffle epochs decode each chunk once; a shuffled epoch too while
    /// the decoded chunks fit the budget, and more often when they do not.
    @Test func readAmplificationFollowsThePlan() throws {
        let dir = temporaryDirectory().path
        let source = try SyntheticSource(samples: 1000, shape: [16], classes: 2, seed: 3)
        try SourceLocation(kind: .hdf5List, path: dir + "/z.txt").writer(WriterOptions(files: 3, type: .uint8, chunkRows: 50, compression: .zstd(level: 1))).write(source)
        let set = try HDF5ListSource(path: dir + "/z.txt")
        let chunks = set.members.reduce(0) { $0 + ($1.rows + 49) / 50 }
        for order in [SampleOrder.sequential, .chunkShuffle, .shuffle] {
            let iterator = try set.makeIterator(EpochOptions(batchSize: 32, order: order, seed: 5))
            while try iterator.next() != nil {}
            let stats = try #require(iterator.statistics)
            #expect(stats.blockDecodes == chunks, "\(order)")
            #expect(stats.readAmplification == 1, "\(order)")
        }
        let small = try set.makeIterator(EpochOptions(batchSize: 32, order: .shuffle, seed: 5, decodedCacheBytes: 3 * 50 * 16))
        while try small.next() != nil {}
        #expect(try #require(small.statistics?.readAmplification) > 2)
        // Prefetching passes the counters on; one decode thread gives the same batches.
        let prefetched = try PrefetchingSource(set, depth: 2).makeIterator(EpochOptions(batchSize: 32, order: .sequential))
        while try prefetched.next() != nil {}
        #expect(prefetched.statistics?.blockDecodes == chunks)
        let single = try HDF5ListSource(path: dir + "/z.txt", decodePool: DecodePool(threads: 1))
        let o = EpochOptions(batchSize: 32, order: .shuffle, seed: 8)
        #expect(try epoch(single, o).map(\.data) == epoch(set, o).map(\.data))
    }
}
