import Foundation

/// The physical limit of a compressed layout: the same stored chunks, copied into memory
/// first, decoded on all the pool's threads by the same codecs, and each block's rows
/// converted to float32 as a batch would be — with no HDF5, no file, no batching, no order.
/// A reader cannot decode and convert faster than this; the benchmark reports every
/// compressed read as a ratio to it.
public final class DecodeLimit {
    private let source: HDF5ListSource
    private let copies: [[(bytes: [UInt8], mask: UInt32)]]
    private let contexts = ContextPool { DecodeContext() }
    /// Samples an epoch decodes (every sample of the chunk-decoded files).
    public let sampleCount: Int

    /// Copies every stored chunk of the source's chunk-decoded files; throws when no file of
    /// the source is read chunk by chunk.
    public init(_ source: HDF5ListSource) throws {
        self.source = source
        var copies: [[(bytes: [UInt8], mask: UInt32)]] = [], count = 0
        for member in source.members {
            if case .chunks(let chunked) = member.access {
                copies.append(try chunked.copyStoredChunks())
                count += member.rows
            } else {
                copies.append([])
            }
        }
        guard count > 0 else { throw DataSourceError(source.name, "has no compressed chunks to decode") }
        self.copies = copies
        sampleCount = count
    }

    /// Decodes every block once; returns the samples decoded and the seconds it took.
    public func run() throws -> (samples: Int, seconds: Double) {
        var tasks: [(member: Int, block: Int)] = []
        for (m, member) in source.members.enumerated() {
            if case .chunks(let chunked) = member.access { tasks += (0..<chunked.blockCount).map { (m, $0) } }
        }
        let clock = ContinuousClock()
        let start = clock.now
        try source.decodePool.run(tasks.count) { t in
            let (m, block) = tasks[t]
            let member = source.members[m]
            guard case .chunks(let chunked) = member.access else { return }
            try contexts.with { context in
                let buffer = context.limitBuffer(chunked.blockBytes)
                try chunked.decodeBlock(block, into: buffer, context: context, copies: copies[m])
                let rows = min(chunked.blockRows, member.rows - block * chunked.blockRows)
                let elements = rows * chunked.rowBytes / member.elementType.size
                convertToFloat(buffer, type: member.elementType, count: elements, scaling: member.scaling,
                               into: context.limitOutput(elements))
            }
        }
        let d = clock.now - start
        return (sampleCount, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }
}
