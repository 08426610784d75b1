/// The search for the most accelerators a layout sustains: 1, 2, 4, … while probes pass,
/// then bisection between the largest that passed and the smallest that failed. `limit` is the
/// most that may be probed (memory, the data set's size, or the config's `max_accelerators`).
public struct AcceleratorSearch: Sendable, Equatable {
    public let limit: Int
    /// The largest N known to pass (0: none yet).
    public private(set) var passed = 0
    /// The smallest N known to fail.
    public private(set) var failed: Int?
    /// Every probe in order: (N, passed).
    public private(set) var probes: [(Int, Bool)] = []

    public init(limit: Int) { self.limit = max(0, limit) }

    /// The next N to probe, nil when the answer is known.
    public var next: Int? {
        guard limit >= 1 else { return nil }
        if let failed {
            return failed - passed > 1 ? (passed + failed) / 2 : nil
        }
        if passed == 0 { return 1 }
        if passed >= limit { return nil }
        return min(passed * 2, limit)
    }

    public mutating func record(_ n: Int, passed ok: Bool) {
        probes.append((n, ok))
        if ok {
            passed = max(passed, n)
        } else {
            failed = min(failed ?? n, n)
        }
        // A noisy machine can pass N after failing a smaller one: the failure stands, and the
        // answer stays below it.
        if let f = failed, passed >= f { passed = f - 1 }
    }

    /// The answer: the most accelerators sustained (0 when even one is not).
    public var answer: Int { passed }
    /// Whether the search stopped at its limit with every probe passing: the layout may
    /// sustain more than the answer.
    public var reachedLimit: Bool { failed == nil && passed >= limit && limit >= 1 }

    public static func == (a: Self, b: Self) -> Bool {
        a.limit == b.limit && a.passed == b.passed && a.failed == b.failed && a.probes.elementsEqual(b.probes, by: { $0 == $1 })
    }
}
