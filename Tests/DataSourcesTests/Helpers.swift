import DataSources
import Foundation
import Graph
import Testing

@_exported import TestSupport

func fixture(_ name: String) -> String { repositoryPath("datasets/fixtures/" + name) }

/// A fresh temporary directory.
func temporaryDirectory() -> URL { makeTemporaryDirectory() }

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
