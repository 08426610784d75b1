import CHDF5
import Glibc
import Synchronization

/// An HDF5 failure: what FeedBench was doing, the file and object it concerns, and the
/// messages of HDF5's own error stack (innermost last).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// The file the error concerns.
    public let file: String
    /// The dataset or group path inside the file, if any.
    public let object: String?
    /// What was being done (`open`, `read rows 0..<128`, …).
    public let operation: String
    /// HDF5's messages, outermost first.
    public let stack: [String]

    public var description: String {
        var text = file
        if let object { text += ": \(object)" }
        text += ": cannot \(operation)"
        let details = stack.filter { !$0.isEmpty }
        if !details.isEmpty {
            // The innermost messages say what really went wrong; keep the line short.
            text += " (" + details.suffix(2).joined(separator: "; ") + ")"
        }
        return text
    }

    /// Reads and clears the current thread's HDF5 error stack.
    init(file: String, object: String? = nil, operation: String) {
        self.file = file
        self.object = object
        self.operation = operation
        self.stack = HDF5Library.takeErrorStack()
    }

    /// An error found by FeedBench itself rather than reported by HDF5.
    init(file: String, object: String? = nil, operation: String, message: String) {
        self.file = file
        self.object = object
        self.operation = operation
        self.stack = [message]
        _ = HDF5Library.takeErrorStack()
    }
}

/// Library-wide set-up and facts.
public enum HDF5Library {
    /// Initialises the library and turns off its automatic printing of errors to stderr on
    /// this thread (HDF5's thread-safe build keeps that setting per thread), so that errors
    /// reach the user once, as Swift errors.
    static func prepare() {
        H5open()
        H5Eset_auto2(feedbench_H5E_DEFAULT(), nil, nil)
        _ = exitHook
    }

    /// Registered once, after `H5open` registered HDF5's own shutdown, so it runs first at
    /// exit: from then on handles are not closed (HDF5 closes every identifier as it shuts
    /// down, and a handle freed later on another thread — a prefetcher still holding a file
    /// when an error ends the process — would print HDF5's diagnostics for an invalid id).
    private static let exitHook: Void = {
        atexit { HDF5Library.exiting.store(true, ordering: .relaxed) }
    }()

    /// Whether the process is exiting (see `exitHook`).
    static let exiting = Atomic<Bool>(false)

    /// The library version, such as `1.10.8`.
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Whether HDF5 can apply filter `id` itself (built in, or a plugin it found).
    public static func filterAvailable(_ id: Int32) -> Bool {
        prepare()
        let available = H5Zfilter_avail(id) > 0
        _ = takeErrorStack()
        return available
    }

    /// Collects the descriptions on the current thread's error stack, then clears it.
    static func takeErrorStack() -> [String] {
        final class Collector { var messages: [String] = [] }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        H5Ewalk2(feedbench_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, entry, context in
            guard let entry, let context else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            var text = entry.pointee.desc.map { String(cString: $0) } ?? ""
            var buffer = [CChar](repeating: 0, count: 256)
            if H5Eget_msg(entry.pointee.min_num, nil, &buffer, 256) > 0 {
                let minor = String(cString: buffer)
                if !minor.isEmpty && !text.contains(minor) { text = text.isEmpty ? minor : "\(text): \(minor)" }
            }
            collector.messages.append(text)
            return 0
        }, context)
        H5Eclear2(feedbench_H5E_DEFAULT())
        return collector.messages
    }
}

/// Owns one HDF5 identifier and closes it exactly once: explicitly with `close()`, which
/// reports failure, or in `deinit`.
final class Handle {
    let id: hid_t
    private let closer: (hid_t) -> herr_t
    private var isOpen = true

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    /// Closes the identifier; throws `HDF5Error` built by `error` when HDF5 refuses.
    func close(orThrow error: () -> HDF5Error) throws {
        guard isOpen else { return }
        isOpen = false
        if closer(id) < 0 { throw error() }
    }

    deinit {
        if isOpen && !HDF5Library.exiting.load(ordering: .relaxed) { _ = closer(id) }
    }
}
