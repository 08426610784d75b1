import DataSources
import Foundation
import Graph
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("datasets/fixtures")

func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

/// A fresh temporary directory.
func temporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("feedbench-ds-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Every batch of an epoch, as (rows of values, labels).
func epoch(_ source: any DataSource, _ options: EpochOptions) throws -> [(data: [[Float]], labels: [Float])] {
    let iterator = try source.makeIterator(options)
    var result: [(data: [[Float]], labels: [Float])] = []
    let d = source.sampleElements
    while let batch = try iterator.next() {
        #expect(batch.data.shape == [batch.count] + source.sampleShape)
        let values = batch.data.scalars
        result.append(((0..<batch.count).map { Array(values[$0 * d..<($0 + 1) * d]) }, batch.labels.scalars))
    }
    return result
}

/// The error text `body` throws.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return String(describing: error)
    }
}
