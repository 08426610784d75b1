import Synchronization

/// What decoding cost in one epoch: counted by the reader, read by the benchmark (the
/// `read_amplification` column).
public final class EpochStatistics: Sendable {
    private let decoded = Atomic<Int>(0)
    private let decodes = Atomic<Int>(0)
    private let delivered = Atomic<Int>(0)

    public init() {}

    /// Bytes of decoded chunks produced (stored element type, before conversion).
    public var decodedBytes: Int { decoded.load(ordering: .relaxed) }
    /// Chunks (blocks) decoded.
    public var blockDecodes: Int { decodes.load(ordering: .relaxed) }
    /// Bytes the epoch's samples hold, stored, from the decoded datasets.
    public var deliveredBytes: Int { delivered.load(ordering: .relaxed) }
    /// Decoded bytes over delivered bytes: 1 when every chunk was decoded once for the
    /// samples it holds (chunks whose rows the epoch does not all use, or that a full cache
    /// dropped and decoded again, raise it). Nil when nothing was decoded.
    public var readAmplification: Double? { deliveredBytes > 0 ? Double(decodedBytes) / Double(deliveredBytes) : nil }

    func recordDecode(bytes: Int) {
        decoded.add(bytes, ordering: .relaxed)
        decodes.add(1, ordering: .relaxed)
    }

    func recordDelivered(bytes: Int) { delivered.add(bytes, ordering: .relaxed) }
}
