import Foundation
import Graph
import Synchronization

/// The batches of one epoch of an HDF5 set whose chunks FeedBench decodes, assembled ahead:
/// the next `ahead` batches are laid out at once (buffers taken, labels and any uncompressed
/// rows filled), and their work — one item per block a batch reads: decode the block when
/// this batch is its first user, then convert the batch's rows from it — is done in order by
/// the decode threads, with the consuming thread helping while it waits. Decoding and
/// converting a block on the same thread keeps its bytes in that core's cache; working across
/// batches keeps every thread busy. Blocks are decoded as the epoch's `DecodeSchedule` says
/// (each once, for sequential and chunk-shuffle epochs) and released after their last batch.
///
/// Dropping the iterator stops its threads and waits for them.
final class ChunkAssembler: BatchIterator {
    /// One batch being assembled.
    private final class Slot {
        let position: Int
        let batch: Batch
        /// (index, slot) of its samples, sorted by index, and its block items.
        var sorted: [(index: Int, slot: Int)] = []
        var items: [(member: Int, block: Int, job: Int, range: Range<Int>)] = []
        var remaining = 0
        init(position: Int, batch: Batch) {
            self.position = position
            self.batch = batch
        }
    }

    /// What the threads share: one lock; waiting threads are woken by any progress. A thread
    /// with nothing to do spins briefly on `progress` before it sleeps: items take tens of
    /// microseconds, and a sleep and wake-up costs several.
    private final class Shared: @unchecked Sendable {
        let lock = NSCondition()
        let progress = Atomic<Int>(0)
        var sleepers = 0
        var slots: [Slot] = []  // batches being assembled, in order
        var cursor = (slot: 0, item: 0)  // the next item to take
        var decoded: [UnsafeMutableRawPointer?]
        var claimed: [Bool]
        var failure: (any Error)?
        var stopped = false
        var spare: [Int: [UnsafeMutableRawPointer]] = [:]
        init(jobs: Int) {
            decoded = Array(repeating: nil, count: jobs)
            claimed = Array(repeating: false, count: jobs)
        }
    }

    private let reader: HDF5BatchReader
    private let batches: [ArraySlice<Int>]
    private let schedule: DecodeSchedule
    private let ring: BatchRing
    private let ahead: Int
    private let shared: Shared
    private var nextPosition = 0  // the next batch to lay out
    private var returned = 0  // batches returned so far
    private var threads = 0
    private let finished = DispatchSemaphore(value: 0)
    private let context = DecodeContext()
    private var current: [Int: Int] = [:]  // block → the job whose copy batches being laid out read
    let statistics: EpochStatistics?

    init(reader: HDF5BatchReader, batches: [ArraySlice<Int>], schedule: DecodeSchedule, sampleShape: [Int], ahead: Int, threads: Int,
         ring: BatchRing? = nil) {
        self.reader = reader
        self.batches = batches
        self.schedule = schedule
        self.ahead = max(1, ahead)
        self.ring = ring ?? BatchRing(count: self.ahead + 3, sampleShape: sampleShape)
        shared = Shared(jobs: schedule.jobs.count)
        statistics = reader.statistics
        start(threads: threads)
    }

    deinit {
        shared.lock.lock()
        shared.stopped = true
        shared.progress.add(1, ordering: .releasing)
        shared.lock.broadcast()
        shared.lock.unlock()
        for _ in 0..<threads { finished.wait() }
        for buffer in shared.decoded { buffer?.deallocate() }
        for list in shared.spare.values { list.forEach { $0.deallocate() } }
    }

    func next() throws -> Batch? {
        guard returned < batches.count else { return nil }
        try layOut()
        shared.lock.lock()
        defer { shared.lock.unlock() }
        let slot = shared.slots[0]
        // Help with the work until this batch is complete.
        while slot.remaining > 0 && shared.failure == nil {
            if !takeItem(context: context) { Self.waitForProgress(shared) }
        }
        if let failure = shared.failure { throw failure }
        shared.slots.removeFirst()
        shared.cursor = shared.cursor.slot == 0 ? (0, 0) : (shared.cursor.slot - 1, shared.cursor.item)
        release(after: slot.position)
        returned += 1
        return slot.batch
    }

    /// Lays out batches up to `ahead` past the one to return next (on the consuming thread:
    /// the buffer ring is not shared).
    private func layOut() throws {
        while nextPosition < batches.count && nextPosition < returned + ahead {
            let p = nextPosition
            let indices = batches[p]
            let slot = Slot(position: p, batch: ring.take(count: indices.count))
            for j in schedule.starting[p] { current[schedule.jobs[j].key] = j }
            let groups = try reader.layOut(indices, into: slot.batch)
            slot.sorted = groups.sorted
            slot.items = try groups.blocks.map { b in
                guard let job = current[reader.key(member: b.member, block: b.block)] else {
                    throw DataSourceError("decode", "a block is not in the epoch's schedule")
                }
                return (b.member, b.block, job, b.range)
            }
            slot.remaining = slot.items.count
            shared.lock.lock()
            shared.slots.append(slot)
            Self.announce(shared)
            shared.lock.unlock()
            nextPosition += 1
        }
    }

    /// Blocks whose last batch was `position` are released.
    private func release(after position: Int) {
        for j in schedule.ending[position] {
            if let buffer = shared.decoded[j] {
                shared.spare[schedule.jobs[j].bytes, default: []].append(buffer)
                shared.decoded[j] = nil
            }
        }
    }

    /// Takes and runs the next item, if there is one (the lock is held on entry and return).
    private func takeItem(context: DecodeContext) -> Bool {
        Self.takeItem(shared, schedule: schedule, reader: reader, context: context)
    }

    /// Records progress and wakes sleeping threads (the lock is held).
    private static func announce(_ shared: Shared) {
        shared.progress.add(1, ordering: .releasing)
        if shared.sleepers > 0 { shared.lock.broadcast() }
    }

    /// Waits for any progress: spins for a while, then sleeps (the lock is held on entry and return).
    private static func waitForProgress(_ shared: Shared) {
        let seen = shared.progress.load(ordering: .acquiring)
        shared.lock.unlock()
        var spins = 0
        while spins < 2000 && shared.progress.load(ordering: .acquiring) == seen { spins += 1 }
        shared.lock.lock()
        if shared.progress.load(ordering: .acquiring) == seen && !shared.stopped {
            shared.sleepers += 1
            shared.lock.wait()
            shared.sleepers -= 1
        }
    }

    private static func takeItem(_ shared: Shared, schedule: DecodeSchedule, reader: HDF5BatchReader, context: DecodeContext) -> Bool {
        guard !shared.stopped, shared.failure == nil, shared.cursor.slot < shared.slots.count else { return false }
        let slot = shared.slots[shared.cursor.slot]
        guard shared.cursor.item < slot.items.count else {
            shared.cursor = (shared.cursor.slot + 1, 0)
            return true
        }
        let item = slot.items[shared.cursor.item]
        shared.cursor.item += 1
        let job = schedule.jobs[item.job]
        var buffer = shared.decoded[item.job]
        if buffer == nil && !shared.claimed[item.job] {
            // This batch is the block's first user: decode it here.
            shared.claimed[item.job] = true
            let target = shared.spare[job.bytes]?.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: job.bytes, alignment: 64)
            shared.lock.unlock()
            var failure: (any Error)? = nil
            do { try reader.decodeBlock(member: item.member, block: item.block, into: target, context: context) } catch { failure = error }
            shared.lock.lock()
            if let failure {
                target.deallocate()
                if shared.failure == nil { shared.failure = failure }
                announce(shared)
                return true
            }
            shared.decoded[item.job] = target
            announce(shared)
            buffer = target
        }
        while buffer == nil && !shared.stopped && shared.failure == nil {
            // Another thread is decoding it for an earlier batch.
            waitForProgress(shared)
            buffer = shared.decoded[item.job]
        }
        guard let buffer else { return true }
        shared.lock.unlock()
        reader.convert(item.member, item.block, item.range, sorted: slot.sorted, from: buffer, into: slot.batch.data.pointer)
        shared.lock.lock()
        slot.remaining -= 1
        if slot.remaining == 0 { announce(shared) }
        return true
    }

    private func start(threads count: Int) {
        let shared = shared, schedule = schedule, reader = UncheckedBox(reader), finished = finished
        for _ in 0..<max(1, count) {
            let thread = Thread {
                defer { finished.signal() }
                let context = DecodeContext()
                shared.lock.lock()
                defer { shared.lock.unlock() }
                while !shared.stopped {
                    if !ChunkAssembler.takeItem(shared, schedule: schedule, reader: reader.value, context: context) {
                        ChunkAssembler.waitForProgress(shared)
                    }
                }
            }
            thread.name = "feedbench.decode"
            thread.start()
            threads += 1
        }
    }
}
