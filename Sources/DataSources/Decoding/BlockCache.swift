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

/// Decoded blocks of one epoch, kept as the epoch's plan says they will be needed: a block
/// leaves when its last use has passed, so sequential and chunk-shuffle epochs decode each
/// chunk once; past the byte budget (shuffled epochs over large data), the block needed
/// farthest in the future leaves first — the fewest decodes any cache of that size allows.
final class BlockCache {
    /// A block: its buffer, and the batches that use it (ascending).
    private final class Entry {
        var buffer: UnsafeMutableRawPointer?
        let bytes: Int
        var uses: [Int] = []
        var nextUse = 0  // index into uses
        init(bytes: Int) { self.bytes = bytes }
        var upcoming: Int { nextUse < uses.count ? uses[nextUse] : Int.max }
    }

    private var entries: [Int: Entry] = [:]
    private var cached: Set<Int> = []
    private var cachedBytes = 0
    private let budget: Int
    private var spare: [Int: [UnsafeMutableRawPointer]] = [:]

    /// `budget`: bytes of decoded blocks kept at most (a batch's own blocks are always kept).
    init(budget: Int) { self.budget = max(budget, 0) }

    deinit {
        for e in entries.values { e.buffer?.deallocate() }
        for list in spare.values { list.forEach { $0.deallocate() } }
    }

    /// Registers that batch `position` uses block `key` of `bytes` bytes (positions in order).
    func plan(_ key: Int, bytes: Int, position: Int) {
        let entry = entries[key] ?? { let e = Entry(bytes: bytes); entries[key] = e; return e }()
        if entry.uses.last != position { entry.uses.append(position) }
    }

    /// The buffers of a batch's blocks; `true` marks those that must be decoded now.
    func take(_ keys: [Int], position: Int) -> [(buffer: UnsafeMutableRawPointer, decode: Bool)] {
        let needed = Set(keys)
        return keys.map { key in
            let entry = entries[key]!
            while entry.upcoming < position { entry.nextUse += 1 }
            if let buffer = entry.buffer { return (buffer, false) }
            evict(toFit: entry.bytes, keeping: needed, position: position)
            let buffer = spare[entry.bytes]?.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: entry.bytes, alignment: 64)
            entry.buffer = buffer
            cached.insert(key)
            cachedBytes += entry.bytes
            return (buffer, true)
        }
    }

    /// After batch `position`: blocks no later batch uses are dropped.
    func finish(_ keys: [Int], position: Int) {
        for key in keys {
            guard let entry = entries[key] else { continue }
            while entry.upcoming <= position { entry.nextUse += 1 }
            if entry.upcoming == Int.max { drop(key) }
        }
    }

    private func evict(toFit bytes: Int, keeping needed: Set<Int>, position: Int) {
        while cachedBytes + bytes > budget {
            var victim: Int? = nil, farthest = -1
            for key in cached where !needed.contains(key) {
                let entry = entries[key]!
                while entry.upcoming < position { entry.nextUse += 1 }
                if entry.upcoming > farthest {
                    farthest = entry.upcoming
                    victim = key
                }
            }
            guard let victim else { return }
            drop(victim)
        }
    }

    private func drop(_ key: Int) {
        guard let entry = entries[key], let buffer = entry.buffer else { return }
        spare[entry.bytes, default: []].append(buffer)
        entry.buffer = nil
        cached.remove(key)
        cachedBytes -= entry.bytes
    }
}
