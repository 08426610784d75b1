import Foundation

/// Turns a SIGBUS in a file mapping — the file was truncated (or its storage failed) while
/// an epoch read it — into an error naming the file, instead of a crash.
///
/// Every mapping registers its address range. The SIGBUS handler looks the faulting address
/// up; when it lies in a registered mapping, it maps a page of zeros over the faulting page
/// (so the interrupted copy finishes, with zeros) and marks the mapping as faulted; the
/// reader checks the mark after every batch (`check`) and throws, so the zeros never reach
/// training. A fault anywhere else is passed to the handler that was there before (the
/// tool's one-line crash report). The handler reads only a fixed table and calls `mmap`.
enum MappingGuard {
    static let capacity = 4096
    // Slot i: [start, end) of a mapping (end 0: free), and whether it faulted. Written under
    // `lock` by registration; read without it by the handler.
    nonisolated(unsafe) static let starts = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    nonisolated(unsafe) static let ends = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    nonisolated(unsafe) static let faulted = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) static var previous = sigaction()
    // An NSLock, not a `static let Mutex`: the optimizer placed a statically initialised
    // Mutex in read-only memory and its first contended-path lock trapped in release builds.
    static let lock = NSLock()

    private static let installed: Void = {
        starts.initialize(repeating: 0, count: capacity)
        ends.initialize(repeating: 0, count: capacity)
        faulted.initialize(repeating: 0, count: capacity)
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { number, info, context in
            let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
            for i in 0..<MappingGuard.capacity where MappingGuard.ends[i] != 0 {
                guard address >= MappingGuard.starts[i] && address < MappingGuard.ends[i] else { continue }
                let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
                let start = UnsafeMutableRawPointer(bitPattern: address & ~(page - 1))
                _ = mmap(start, Int(page), PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                MappingGuard.faulted[i] = 1
                return
            }
            // Not a mapping of ours: the handler from before takes the fault when it recurs.
            sigaction(SIGBUS, &MappingGuard.previous, nil)
        }
        action.sa_flags = SA_SIGINFO | SA_NODEFER
        sigemptyset(&action.sa_mask)
        sigaction(SIGBUS, &action, &previous)
    }()

    /// Registers a mapping; returns its slot (nil when the table is full: unguarded).
    static func register(_ base: UnsafeRawPointer, length: Int) -> Int? {
        _ = installed
        return lock.withLock {
            for i in 0..<capacity where ends[i] == 0 {
                faulted[i] = 0
                starts[i] = UInt(bitPattern: base)
                ends[i] = UInt(bitPattern: base) + UInt(length)
                return i
            }
            return nil
        }
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.withLock { ends[slot] = 0 }
    }

    /// Throws naming `path` when a read of the mapping in `slot` faulted.
    static func check(_ slot: Int?, path: String) throws {
        guard let slot, faulted[slot] != 0 else { return }
        throw DataSourceError(path, "became shorter (or could not be read) while it was being read: refusing the batch, whose bytes would be zeros")
    }
}
