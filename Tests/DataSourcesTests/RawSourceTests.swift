import DataSources
import Foundation
import Testing

@Suite struct RawSourceTests {
    @Test(arguments: SampleOrder.allCases)
    func rawFolderReadsLikeTheHDF5ListItCameFrom(order: SampleOrder) throws {
        let list = try HDF5ListSource(path: fixture("list.txt"))
        let dir = temporaryDirectory().appendingPathComponent("raw").path
        try SourceLocation(kind: .raw, path: dir).writer(WriterOptions(type: .uint8)).write(list)
        let raw = try RawSource(path: dir)
        #expect(raw.sampleCount == 17)
        #expect(raw.sampleShape == [1, 4, 4])
        #expect(raw.classes == 4)
        // Same segments as one file, so compare under the raw source's own plan.
        let options = EpochOptions(batchSize: 4, order: order, seed: 3)
        let plan = EpochPlan.order(raw.segments, options)
        let all = try epoch(list, EpochOptions(batchSize: 17))[0]
        let batches = try epoch(raw, options)
        for (k, row) in batches.flatMap(\.data).enumerated() {
            #expect(row == all.data[plan[k]])
        }
        #expect(batches.flatMap(\.labels) == plan.map { all.labels[$0] })
    }

    @Test func damagedRawFolder() throws {
        let dir = temporaryDirectory().appendingPathComponent("raw").path
        try SourceLocation(kind: .raw, path: dir).writer(WriterOptions(type: .float32)).write(try HDF5ListSource(path: fixture("caffe_float.h5")))
        let data = (dir as NSString).appendingPathComponent("data.bin")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data))
        try handle.truncate(atOffset: 100)
        try handle.close()
        #expect(errorText { _ = try RawSource(path: dir) } == "\(data): has 100 bytes, meta.json describes 576")
        #expect(errorText { _ = try RawSource(path: "/nonexistent") } == "/nonexistent: not a raw folder (no meta.json)")
    }
}
