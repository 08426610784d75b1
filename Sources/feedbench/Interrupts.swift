import DataSources
@preconcurrency import Glibc
import Foundation

/// Ctrl-C and SIGTERM: the partial outputs being written are removed, one line says so, and
/// the process ends with 128 + the signal's number. The signal handler only writes the
/// signal's number to a pipe (what a handler may do); a thread waiting on the pipe does the
/// rest in ordinary code. Handlers, unlike ignored signals, are reset in child processes, so
/// the Python peers and the LMDB check still end on Ctrl-C.
enum Interrupts {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    /// Called on the first Ctrl-C instead of ending (bench finishes the case it runs and
    /// writes what it measured); a second one ends at once.
    nonisolated(unsafe) static var onFirst: (@Sendable () -> Void)?

    static func install() {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        writeEnd = ends[1]
        let readEnd = ends[0]
        let waiter = Thread {
            var seen = 0
            while true {
                var number: Int32 = 0
                let count = read(readEnd, &number, MemoryLayout<Int32>.size)
                if count < 0 && errno == EINTR { continue }
                guard count == MemoryLayout<Int32>.size else { return }
                seen += 1
                if seen == 1, number == SIGINT, let onFirst {
                    onFirst()
                    continue
                }
                end(signal: number)
            }
        }
        waiter.name = "interrupts"
        waiter.start()
        // A parent may have started this process with the signals blocked (blocked masks are
        // inherited): unblock them, or the handler never runs.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { number in
                let saved = errno  // the interrupted code may be about to read it
                var value = number
                _ = write(Interrupts.writeEnd, &value, MemoryLayout<Int32>.size)
                errno = saved
            }
        }
    }

    private static func end(signal number: Int32) -> Never {
        let removed = PartialOutputs.removeAll()
        let name = number == SIGINT ? "interrupted" : number == SIGTERM ? "terminated" : "hung up"
        let what = removed.isEmpty ? "" : "; removed the partial output\(removed.count == 1 ? "" : "s") " + removed.joined(separator: ", ")
        FileHandle.standardError.write(Data("feedbench: \(name)\(what)\n".utf8))
        _exit(128 + number)
    }
}
