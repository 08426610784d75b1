import Foundation

/// Wraps any source so that a background thread reads ahead into a bounded queue of
/// `depth` batches while the consumer computes.
///
/// Errors raised on the reading thread reach the consumer at the batch where they happened.
/// Dropping the iterator before the epoch ends stops the thread and waits for it to exit,
/// so an early stop leaks no thread.
public final class PrefetchingSource: DataSource {
    public let inner: any DataSource
    /// Batches read ahead at most.
    public let depth: Int

    public init(_ inner: any DataSource, depth: Int) {
        self.inner = inner
        self.depth = max(1, depth)
    }

    public var name: String { inner.name }
    public var sampleShape: [Int] { inner.sampleShape }
    public var sampleCount: Int { inner.sampleCount }
    public var classes: Int? { inner.classes }
    public var segments: SampleSegments { inner.segments }
    public var storedType: StoredType? { inner.storedType }

    public func makeIterator(_ options: EpochOptions) throws -> any BatchIterator {
        var options = options
        options.buffers = max(options.buffers, depth + 3)
        return PrefetchingIterator(inner: try inner.makeIterator(options), depth: depth)
    }
}

/// The consumer's side of a prefetching epoch.
public final class PrefetchingIterator: BatchIterator {
    private let queue: BoundedQueue
    private let finished = DispatchSemaphore(value: 0)
    private var ended = false
    /// The inner iterator's counters (thread-safe).
    public let statistics: EpochStatistics?

    init(inner: any BatchIterator, depth: Int) {
        let queue = BoundedQueue(capacity: depth)
        self.queue = queue
        statistics = inner.statistics
        let producer = UncheckedBox(inner)
        let finished = self.finished
        let thread = Thread {
            defer { finished.signal() }
            while true {
                do {
                    guard let batch = try producer.value.next() else {
                        queue.finish(nil)
                        return
                    }
                    if !queue.push(batch) { return }  // cancelled
                } catch {
                    queue.finish(error)
                    return
                }
            }
        }
        thread.name = "feedbench.prefetch"
        thread.start()
    }

    public func next() throws -> Batch? {
        guard !ended else { return nil }
        switch queue.pop() {
        case .batch(let batch): return batch
        case .end:
            ended = true
            return nil
        case .failure(let error):
            ended = true
            throw error
        }
    }

    deinit {
        queue.cancel()
        finished.wait()
    }
}

/// A value handed to one other thread, which alone uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A bounded FIFO of batches between one producer thread and one consumer.
public final class BoundedQueue: @unchecked Sendable {
    public enum Item {
        case batch(Batch)
        case end
        case failure(any Error)
    }

    private let condition = NSCondition()
    private var items: [Batch?] = []
    private var head = 0
    private let capacity: Int
    private var terminal: Item?
    private var cancelled = false

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds a batch, waiting while the queue is full. Returns false when cancelled.
    public func push(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(batch)
        condition.broadcast()
        return true
    }

    /// Marks the end of the epoch, or the error that ended it.
    public func finish(_ error: (any Error)?) {
        condition.lock()
        terminal = error.map { .failure($0) } ?? .end
        condition.broadcast()
        condition.unlock()
    }

    /// The next item, waiting while none is ready.
    public func pop() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && terminal == nil { condition.wait() }
        if items.count > head {
            // Take the batch out of the queue, so that the producer's buffer ring sees it as
            // free again once the consumer drops it.
            let batch = items[head]!
            items[head] = nil
            head += 1
            if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            condition.broadcast()
            return .batch(batch)
        }
        return terminal!
    }

    /// Wakes both sides and makes them stop: the producer's `push` returns false, the
    /// consumer's `pop` returns `.end`.
    public func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        head = 0
        if terminal == nil { terminal = .end }
        condition.broadcast()
        condition.unlock()
    }
}
