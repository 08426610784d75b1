import DataSources
import Foundation
import Graph
import LMDB
import SwiftProtobuf
import Testing
@testable import DataSources

@Suite struct LMDBSourceTests {
    /// A copy of a committed fixture, so opening it (which makes lock.mdb) leaves the repository clean.
    func fixtureCopy(_ name: String) throws -> String {
        let dir = temporaryDirectory().appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: fixture(name), toPath: dir)
        return dir
    }

    @Test(arguments: SampleOrder.allCases)
    func caffeBytesFixtureReadsExactly(order: SampleOrder) throws {
        let source = try LMDBSource(path: try fixtureCopy("lmdb_bytes"))
        #expect(source.sampleShape == [3, 2, 4])
        #expect(source.sampleCount == 12)
        #expect(source.classes == 5)
        #expect(source.elementType == .uint8)
        let options = EpochOptions(batchSize: 5, order: order, seed: 4)
        let plan = EpochPlan.order(source.segments, options)
        let batches = try epoch(source, options)
        #expect(batches.map(\.labels.count) == [5, 5, 2])
        for (k, row) in batches.flatMap(\.data).enumerated() {
            let i = plan[k]
            let expected: [Float] = (0..<24).map { j in Float((7 * i + j) % 256) / 255 }
            #expect(row == expected, "record \(i)")
        }
        #expect(batches.flatMap(\.labels) == plan.map { Float($0 % 5) })
    }

    @Test func unpackedFloatDataFixture() throws {
        let source = try LMDBSource(path: try fixtureCopy("lmdb_float"))
        #expect(source.elementType == .float32)
        let rows = try epoch(source, EpochOptions(batchSize: 5)).flatMap(\.data)
        for (i, row) in rows.enumerated() {
            let expected: [Float] = (0..<6).map { j in Float(Double(i) / 2 + Double(j) / 8) }
            #expect(row == expected)
        }
    }

    /// The zero-copy view reads what swift-protobuf writes: packed and unpacked floats,
    /// bytes, labels, and unknown fields skipped.
    @Test func datumViewAgreesWithSwiftProtobuf() throws {
        var g = SeededGenerator(seed: 3)
        for trial in 0..<50 {
            var datum = Caffe_Datum()
            datum.channels = Int32(g.next() % 4 + 1)
            datum.height = Int32(g.next() % 5 + 1)
            datum.width = Int32(g.next() % 6 + 1)
            datum.label = Int32(g.next() % 1000)
            let n = Int(datum.channels * datum.height * datum.width)
            if trial % 2 == 0 {
                datum.data = Data((0..<n).map { _ in UInt8(g.next() % 256) })
            } else {
                datum.floatData = (0..<n).map { _ in Float(g.nextUnit() * 4 - 2) }
            }
            var bytes: [UInt8] = try datum.serializedBytes()
            if trial % 3 == 0 { bytes += [0x40, 0x05] }  // an unknown varint field 8
            try bytes.withUnsafeBytes { raw in
                let view = try DatumView(raw)
                #expect(view.channels == datum.channels && view.height == datum.height && view.width == datum.width)
                #expect(view.label == datum.label)
                #expect(!view.encoded)
                if trial % 2 == 0 {
                    #expect(view.data.map { Data($0) } == datum.data)
                } else {
                    #expect(view.floatCount == n)
                    var floats = [Float](repeating: 0, count: n)
                    view.copyFloats(into: &floats, scale: 1)
                    #expect(floats == datum.floatData)
                }
            }
        }
    }

    @Test func writerRoundTripsAndUsesCaffeKeys() throws {
        let list = try HDF5ListSource(path: fixture("list.txt"))
        let path = temporaryDirectory().appendingPathComponent("out").path
        var writer = try LMDBWriter(destination: SourceLocation(kind: .lmdb, path: path), options: WriterOptions(type: .uint8))
        writer.recordsPerCommit = 5
        try writer.write(list)
        let back = try LMDBSource(path: path)
        let options = EpochOptions(batchSize: 17)
        #expect(try epoch(back, options).map(\.data) == epoch(list, options).map(\.data))
        #expect(try epoch(back, options).map(\.labels) == epoch(list, options).map(\.labels))
        let txn = try back.environment.beginRead()
        #expect(try txn.withValue(forKey: Array("00000016".utf8)) { $0 != nil })
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.temporaryPath(for: path)))
    }

    /// Writes records with the given values into a new environment.
    func environment(_ values: [[UInt8]]) throws -> String {
        let path = temporaryDirectory().appendingPathComponent("bad").path
        let env = try Environment.create(path)
        try env.put(values.enumerated().map { (Array(String(format: "%08d_x.jpg", $0.offset).utf8), $0.element) })
        return path
    }

    func datum(_ shape: (Int32, Int32, Int32), label: Int32 = 1, data: Bool = true, encoded: Bool = false) throws -> [UInt8] {
        var d = Caffe_Datum()
        (d.channels, d.height, d.width) = shape
        d.label = label
        if data { d.data = Data(count: Int(shape.0 * shape.1 * shape.2)) }
        if encoded { d.encoded = true }
        return try d.serializedBytes()
    }

    @Test func badRecordsAreNamedByKey() throws {
        let good = try datum((1, 2, 2))
        var path = try environment([good, [0xFF, 0xFF, 0xFF]])
        #expect(errorText { _ = try LMDBSource(path: path) } == "\(path): record '00000001_x.jpg': not a Datum (truncated varint)")
        path = try environment([good, try datum((1, 2, 2), data: false)])
        #expect(errorText { _ = try LMDBSource(path: path) } == "\(path): record '00000001_x.jpg': a Datum without data or float_data")
        path = try environment([good, good, try datum((1, 2, 3))])
        #expect(errorText { _ = try LMDBSource(path: path) }
            == "\(path): record '00000002_x.jpg': shape 1×2×3 uint8 differs from the first record's 1×2×2 uint8")
        path = try environment([try datum((1, 2, 2), label: -3)])
        #expect(errorText { _ = try LMDBSource(path: path) } == "\(path): record '00000000_x.jpg': label -3 is negative")
        path = try environment([try datum((1, 2, 2), encoded: true)])
        // Encoded records are images now: bytes that are not one are named.
        #expect(errorText { _ = try LMDBSource(path: path) }
            == "\(path): record '00000000_x.jpg': not a JPEG or PNG image (it starts with 00 00 00 00)")
        path = try environment([])
        #expect(errorText { _ = try LMDBSource(path: path) } == "\(path): the LMDB holds no records")
    }

    @Test func badEnvironmentFiles() throws {
        let path = try fixtureCopy("lmdb_bytes")
        let data = path + "/data.mdb"
        try Data(count: 12_288).write(to: URL(fileURLWithPath: data))
        #expect(errorText { _ = try LMDBSource(path: path) }.hasPrefix("\(path): data.mdb is not an LMDB data file"))
        let notLMDB = temporaryDirectory().path
        #expect(errorText { _ = try LMDBSource(path: notLMDB) } == "\(notLMDB): no data.mdb: not an LMDB environment")
    }

    @Test func readaheadAdviceFollowsTheOrder() throws {
        let source = try LMDBSource(path: try fixtureCopy("lmdb_bytes"))
        #expect(source.advice(for: .sequential) == .sequential)
        #expect(source.advice(for: .shuffle) == .normal)
        #expect(source.advice(for: .chunkShuffle) == .normal)
        let off = try LMDBSource(path: try fixtureCopy("lmdb_bytes"), readahead: .off)
        #expect(off.advice(for: .sequential) == .random)
        #expect(off.advice(for: .shuffle) == .random)
        // The environment finds LMDB's map, so the advice reaches it.
        #expect(source.environment.dataMap != nil && source.environment.advise(.normal))
    }
}
