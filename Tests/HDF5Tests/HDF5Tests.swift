import Foundation
import HDF5
import Testing

import TestSupport

func fixture(_ name: String) -> String { repositoryPath("datasets/fixtures/" + name) }

func temporaryPath(_ name: String) -> String { makeTemporaryDirectory().appendingPathComponent(name).path }

@Suite struct HDF5ReadTests {
    @Test func caffeFloatFixtureMetadataAndValues() throws {
        let file = try File.open(fixture("caffe_float.h5"))
        #expect(try file.root.memberNames() == ["data", "label"])
        let data = try file.root.dataset("data")
        #expect(data.shape == [6, 2, 3, 4])
        #expect(data.elementType == .float32)
        #expect(data.layout == .contiguous)
        #expect(data.chunkShape == nil)
        #expect(data.filters.isEmpty)
        #expect(data.contiguousFileOffset != nil)
        var rows = [Float](repeating: .nan, count: 2 * 24)
        try rows.withUnsafeMutableBytes { try data.read(rows: 2..<4, into: $0.baseAddress!, as: .float32) }
        #expect(rows == (48..<96).map { Float($0) * 0.25 - 3 })
        let labels: [Float] = try file.root.dataset("label").readAll(as: .float32)
        #expect(labels == [0, 1, 2, 0, 1, 2])
    }

    @Test func hdf5ConvertsStoredTypes() throws {
        let f64 = try File.open(fixture("float64.h5")).root.dataset("data")
        #expect(f64.elementType == .float64)
        let values: [Float] = try f64.readAll(as: .float32)
        #expect(values == (0..<35).map { Float($0) / 8 })
        let u8 = try File.open(fixture("uint8.h5")).root.dataset("data")
        #expect(u8.elementType == .uint8)
        var floats = [Float](repeating: 0, count: 16 * 3)
        try floats.withUnsafeMutableBytes { try u8.read(rows: 7..<10, into: $0.baseAddress!, as: .float32) }
        #expect(floats == (112..<160).map { Float($0 % 251) })
        let label = try File.open(fixture("uint8.h5")).root.dataset("label")
        #expect(label.shape == [10, 1])
        #expect(label.elementType == .int64)
        let labels: [Int64] = try label.readAll(as: .int64)
        #expect(labels == (0..<10).map { Int64($0 % 4) })
    }

    @Test func chunkedGzipFixture() throws {
        let data = try File.open(fixture("parts/uint8_part2.h5")).root.dataset("data")
        #expect(data.layout == .chunked)
        #expect(data.chunkShape == [3, 1, 4, 4])
        #expect(data.filters == [Filter(id: 1, flags: 1, values: [4])])
        #expect(data.filters[0].description == "deflate(4)" && data.filters[0].level == 4)
        // Chunk locations, and the stored bytes of one chunk through H5Dread_chunk.
        let chunks = try data.chunkLocations()
        #expect(try data.chunkCount() == 3 && chunks.map(\.offset) == [[0, 0, 0, 0], [3, 0, 0, 0], [6, 0, 0, 0]])
        #expect(chunks.allSatisfy { $0.filterMask == 0 && $0.address > 0 && $0.size > 0 })
        let size = try #require(data.storedChunkSize(at: [3, 0, 0, 0]))
        #expect(size == chunks[1].size)
        #expect(data.storedChunkSize(at: [9, 0, 0, 0]) == nil)  // outside: never written
        var stored = [UInt8](repeating: 0, count: size)
        let mask = try stored.withUnsafeMutableBytes { try data.readChunk(at: [3, 0, 0, 0], into: $0.baseAddress!) }
        #expect(mask == 0 && stored.prefix(2) == [0x78, 0x5E])  // a zlib stream at level 4
        var bytes = [UInt8](repeating: 0, count: 7 * 16)
        try bytes.withUnsafeMutableBytes { try data.read(rows: 0..<7, into: $0.baseAddress!, as: .uint8) }
        #expect(bytes == (0..<112).map { UInt8(($0 + 160) % 251) })
    }

    @Test func unionOfRunsArrivesInAscendingOrder() throws {
        let data = try File.open(fixture("chunked_plain.h5")).root.dataset("data")
        #expect(data.chunkShape == [7, 6])
        #expect(try data.chunkLocations().count == 8)  // 50 rows in chunks of 7
        var values = [Float](repeating: 0, count: 4 * 6)
        try values.withUnsafeMutableBytes { try data.read(runs: [40..<42, 3..<4, 49..<50], into: $0.baseAddress!, as: .float32) }
        let expectedRows = [3, 40, 41, 49]
        let expected: [Float] = expectedRows.flatMap { r in (0..<6).map { c in Float(r * 6 + c) * 0.5 } }
        #expect(values == expected)
        #expect(throws: HDF5Error.self) {
            try values.withUnsafeMutableBytes { try data.read(runs: [0..<2, 1..<3], into: $0.baseAddress!, as: .float32) }
        }
    }

    @Test func unsupportedTypeIsDescribed() throws {
        let data = try File.open(fixture("uint16.h5")).root.dataset("data")
        #expect(data.elementType == nil)
        #expect(data.storedTypeName == "uint16")
    }
}

@Suite struct HDF5WriteTests {
    @Test(arguments: [(nil, nil), (4, nil), (3, 6)] as [(Int?, Int?)])
    func roundTrip(chunkRows: Int?, gzip: Int?) throws {
        let path = temporaryPath("round.h5")
        do {
            let file = try File.create(path)
            let data = try file.root.createDataset("data", type: .uint8, shape: [10, 2, 3], chunkRows: chunkRows, gzipLevel: gzip)
            let bytes = (0..<60).map { UInt8($0 * 3 % 256) }
            try bytes.withUnsafeBytes { try data.write(rows: 0..<10, from: $0.baseAddress!, as: .uint8) }
            let params = try file.root.createGroup("params")
            let w = try params.createDataset("fc1.W", type: .float32, shape: [2, 2])
            try [Float(1.5), -2, 3, 4].withUnsafeBytes { try w.write(rows: 0..<2, from: $0.baseAddress!, as: .float32) }
            try file.root.setAttribute("network", string: "mlp: {input: 6}")
            try file.root.setAttribute("epoch", integer: 3)
            try file.close()
            try file.close()  // a second close does nothing
        }
        let file = try File.open(path)
        let data = try file.root.dataset("data")
        #expect(data.layout == (chunkRows == nil ? .contiguous : .chunked))
        #expect(data.chunkShape == chunkRows.map { [$0, 2, 3] })
        let expectedFilters: [Filter] = gzip.map { [Filter(id: 1, flags: 1, values: [UInt32($0)])] } ?? []
        #expect(data.filters == expectedFilters)
        let back: [UInt8] = try data.readAll(as: .uint8)
        #expect(back == (0..<60).map { UInt8($0 * 3 % 256) })
        let w: [Float] = try file.root.group("params").dataset("fc1.W").readAll(as: .float32)
        #expect(w == [1.5, -2, 3, 4])
        #expect(try file.root.stringAttribute("network") == "mlp: {input: 6}")
        #expect(try file.root.integerAttribute("epoch") == 3)
        #expect(try file.root.integerAttribute("missing") == nil)
    }

    @Test func compressionWithoutChunksIsRefused() throws {
        let file = try File.create(temporaryPath("x.h5"))
        #expect(throws: HDF5Error.self) { try file.root.createDataset("d", type: .uint8, shape: [2, 2], gzipLevel: 4) }
    }
}

@Suite struct HDF5ErrorTests {
    func message(_ body: () throws -> Void) -> String { errorText(body) }

    @Test func missingFile() {
        #expect(message { _ = try File.open("/nonexistent/a.h5") } == "/nonexistent/a.h5: cannot open (no such file)")
    }

    @Test func notHDF5() throws {
        let path = temporaryPath("text.h5")
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(message { _ = try File.open(path) } == "\(path): cannot open (not an HDF5 file)")
    }

    @Test func truncatedFileIsAnErrorWithHDF5sOwnMessage() throws {
        let path = temporaryPath("cut.h5")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("caffe_float.h5")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        let text = message {
            let file = try File.open(path)
            let d = try file.root.dataset("data")
            let _: [Float] = try d.readAll(as: .float32)
        }
        #expect(text.hasPrefix(path + ": cannot "), "\(text)")
        #expect(text.contains("truncated") || text.contains("eof") || text.contains("address"), "\(text)")
    }

    @Test func missingDataset() throws {
        let file = try File.open(fixture("float64.h5"))
        #expect(message { _ = try file.root.dataset("images") }.hasSuffix("float64.h5: /images: cannot open dataset (no such dataset)"))
    }

    @Test func versionIsTheSystemLibrary() {
        #expect(HDF5Library.version.hasPrefix("1."))
    }
}
