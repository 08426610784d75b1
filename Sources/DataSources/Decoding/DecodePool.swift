import Dispatch
import Foundation
import Synchronization

/// Runs a batch's decode tasks on up to `threads` threads at once, the calling thread among
/// them; tasks are taken in order as threads free up. The default is one thread per core.
/// No task touches HDF5 (chunks come from a mapping), so they run outside HDF5's global lock.
public struct DecodePool: Sendable {
    public let threads: Int

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threads = max(1, threads)
    }

    /// Runs `body(0..<count)`; rethrows the first error once every task has ended.
    func run(_ count: Int, _ body: (Int) throws -> Void) throws {
        guard count > 0 else { return }
        if threads == 1 || count == 1 {
            for i in 0..<count { try body(i) }
            return
        }
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        try withoutActuallyEscaping(body) { body in
            let task = UncheckedTask(body)
            DispatchQueue.concurrentPerform(iterations: min(threads, count)) { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard i < count, failure.withLock({ $0 == nil }) else { return }
                    do { try task.body(i) } catch { failure.withLock { if $0 == nil { $0 = error } } }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// A task handed to the pool's threads, which run disjoint indices of it.
private struct UncheckedTask: @unchecked Sendable {
    let body: (Int) throws -> Void
    init(_ body: @escaping (Int) throws -> Void) { self.body = body }
}
