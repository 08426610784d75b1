import DataSources
import Foundation
import Graph

/// What one probe measured: N emulated accelerators fed by one layout for whole epochs.
public struct ProbeResult: Sendable, Equatable {
    public var accelerators: Int
    public var epochs: Int
    /// Steps each accelerator took (every one takes the same number).
    public var steps: Int
    /// From the start to the end of the last accelerator's last step.
    public var seconds: Double
    /// Samples consumed by all accelerators together.
    public var samples: Int
    /// Each accelerator's AU: its compute after the first step over its time after the first
    /// step (DLIO's definition, over the whole probe).
    public var au: [Double]
    /// Seconds each accelerator spent waiting for batches, on average.
    public var waitSeconds: Double
    /// The highest fraction of the files resident when an epoch started (cold: after dropping
    /// them; warm: before the probe).
    public var residentBefore: Double?

    public var auMean: Double { au.isEmpty ? 0 : au.reduce(0, +) / Double(au.count) }
    public var auMin: Double { au.min() ?? 0 }
    public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
}

/// Emulated accelerators reading one layout, as a data-parallel training job's would: each
/// accelerator has its own reader threads (each with its own source handle where the source
/// allows, its own queue of ready batches and its own buffers) over its shard of every epoch
/// — the epoch's order cut into N contiguous blocks, a new order each epoch — and spends the
/// profile's compute time per batch asleep, using no CPU, as a GPU would. Epochs follow one
/// another without a pause (the readers start the next epoch while the accelerator still
/// works on the last batches of this one); a cold probe drops the files from memory before
/// every epoch, once every reader has finished the one before. (Sendable: a probe's threads
/// only read its settings and handles, which change only between probes.)
public final class AcceleratorEmulator: @unchecked Sendable {
    public let settings: EmulationSettings
    public let sampleCount: Int
    public let sampleElements: Int
    private let open: () throws -> any DataSource
    private let files: [String]
    private let evictOthers: () -> Void
    private var handles: [any DataSource] = []
    /// Reader threads' batch buffers, kept from probe to probe (shared by every layout of
    /// one data set, which take turns).
    private let rings: RingPool
    /// Over MPI ranks: this rank's place. A probe of `n` runs this rank's `n` of the
    /// `n · ranks` accelerators, which share every epoch between them.
    public let rank: Int
    public let ranks: Int

    /// `open` gives a source handle for one reader thread (a new one, or a shared one for
    /// sources whose opening reads the whole data set); `files` are what the layout reads;
    /// `evictOthers` drops the pages of any other open source mapping the same files.
    public init(settings: EmulationSettings, first: any DataSource, files: [String], rings: RingPool? = nil, rank: Int = 0, ranks: Int = 1,
                evictOthers: @escaping () -> Void = {}, open: @escaping () throws -> any DataSource) {
        self.settings = settings
        self.rank = rank
        self.ranks = max(1, ranks)
        self.rings = rings ?? RingPool()
        sampleCount = first.sampleCount
        sampleElements = first.sampleElements
        self.files = files
        self.evictOthers = evictOthers
        self.open = open
        handles = [first]
    }

    var profile: AcceleratorProfile { settings.profile }

    /// Steps one of `n` accelerators (per rank) takes per epoch (whole batches of its shard).
    public func stepsPerEpoch(_ n: Int) -> Int { n >= 1 ? (sampleCount / (n * ranks)) / profile.batchSize : 0 }

    /// The most accelerators per rank that each get at least one batch per epoch.
    public var dataLimit: Int { sampleCount / profile.batchSize / ranks }

    /// Epochs a probe of `n` accelerators runs: enough for `probeSeconds` of compute, at least one.
    public func epochs(_ n: Int) -> Int {
        let perEpoch = Double(stepsPerEpoch(n)) * profile.computeSeconds
        guard perEpoch > 0 else { return 1 }
        return max(1, Int(min(settings.probeSeconds / perEpoch, 1e6).rounded(.up)))
    }

    private func handle(_ i: Int) throws -> any DataSource {
        while handles.count <= i { handles.append(try open()) }
        return handles[i]
    }

    /// Drops the files from memory through every handle that maps them; returns the fraction
    /// still resident.
    private func evict() -> Double {
        var seen = Set<ObjectIdentifier>()
        for h in handles where seen.insert(ObjectIdentifier(h)).inserted { (h as? any FileBacked)?.evictFromPageCache() }
        evictOthers()
        return PageCache.residency(files)
    }

    /// Runs `n` accelerators for `epochs(n)` epochs in `order`. `computeScale` multiplies the
    /// compute time (0: read-only, the accelerators take batches as fast as they come).
    /// Nil when `stop` ended it early; throws the first reader error.
    public func probe(_ n: Int, order: SampleOrder, cache: CacheState, seed: UInt64, computeScale: Double = 1,
                      stop: @escaping @Sendable () -> Bool = { false }) throws -> ProbeResult? {
        let steps = stepsPerEpoch(n)
        guard steps >= 1 else {
            throw DataSourceError(handles[0].name, "\(sampleCount) samples give \(n * ranks) accelerators no full batch of \(profile.batchSize) each")
        }
        let lanes = settings.readerThreads
        let epochs = epochs(n)
        let total = epochs * steps
        var readers: [(source: any DataSource, ring: BatchRing, queue: BoundedQueue)] = []
        for i in 0..<(n * lanes) {
            let source = try handle(i)
            let ring = rings.ring(i, count: settings.prefetch + 2, sampleShape: source.sampleShape, batchSize: profile.batchSize)
            readers.append((source, ring, BoundedQueue(capacity: settings.prefetch)))
        }
        var residentBefore: Double? = nil
        if !files.isEmpty {
            if cache == .warm {
                if PageCache.residency(files) < 0.999 { PageCache.warm(files) }
                residentBefore = PageCache.residency(files)
            }
        }
        let state = ProbeState(accelerators: n, readers: n * lanes)
        let decodedBudget = Int(ProcessInfo.processInfo.physicalMemory / 4) / max(n * lanes, 1)
        let cold = cache == .cold && !files.isEmpty
        let epochGate = Barrier(parties: n * lanes)
        let stepGate = Barrier(parties: n)
        let queues = readers.map(\.queue)
        // Ends the probe early (a failure or a stop): every thread is released.
        state.onCancel = {
            queues.forEach { $0.cancel() }
            epochGate.breakAll()
            stepGate.breakAll()
        }
        let group = DispatchGroup()

        for (i, reader) in readers.enumerated() {
            let (a, k) = (i / lanes, i % lanes)
            let box = UncheckedSendable((reader.source, reader.ring, reader.queue))
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                let (source, ring, queue) = box.value
                state.start.wait()
                do {
                    for e in 0..<epochs {
                        if cold {
                            // Every reader has finished the epoch before; the last to arrive
                            // drops the files.
                            guard epochGate.wait(leader: { state.noteResidency(self.evict()) }) else { break }
                        }
                        if state.isStopped { break }
                        var options = EpochOptions(batchSize: profile.batchSize, order: order, seed: seed &+ UInt64(e), dropLast: true,
                                                   decodedCacheBytes: decodedBudget)
                        options.shard = rank * n + a
                        options.shards = n * ranks
                        options.lane = k
                        options.lanes = lanes
                        options.ring = ring
                        let iterator = try source.makeIterator(options)
                        while let batch = try iterator.next() {
                            if !queue.push(batch) { return }
                        }
                    }
                    queue.finish(nil)
                } catch {
                    queue.finish(error)
                    state.fail(error)
                }
            }
            thread.name = "feedbench.emulate.reader"
            thread.start()
        }

        let scale = computeScale
        for a in 0..<n {
            let queues = UncheckedSendable((0..<lanes).map { readers[a * lanes + $0].queue })
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                var generator = SeededGenerator(seed: seed, stream: "compute \(a)")
                state.start.wait()
                let start = state.startTime
                var firstStepEnd = start, computed = 0.0, waited = 0.0
                for i in 0..<total {
                    if state.isStopped { break }
                    if stop() { state.stop(); break }
                    let lane = (i % steps) % lanes
                    let asked = Self.now()
                    var batch: Batch?
                    switch queues.value[lane].pop() {
                    case .batch(let b): batch = b
                    case .end:
                        if !state.isStopped { state.fail(DataSourceError(handles[0].name, "a reader ended its epochs early")) }
                    case .failure(let error):
                        state.fail(error)
                    }
                    if batch == nil { break }
                    waited += Self.now() - asked
                    let compute = max(0, profile.computeSeconds + profile.computeSD * Self.normal(&generator)) * scale
                    if compute > 0 { Self.sleep(compute) }
                    batch = nil
                    if settings.synchronous && !stepGate.wait() { break }
                    if i == 0 { firstStepEnd = Self.now() } else { computed += compute }
                }
                let end = Self.now()
                let span = end - firstStepEnd
                // One step only: its own share (nothing after the first step to measure).
                let au = total > 1 ? (span > 0 ? min(1, computed / span) : 0) : 0
                state.finish(accelerator: a, end: end, au: au, waited: waited)
            }
            thread.name = "feedbench.emulate.accelerator"
            thread.start()
        }
        state.begin()
        group.wait()
        if let error = state.error { throw error }
        if state.isStopped { return nil }
        if cold { residentBefore = state.highestResidency }
        return ProbeResult(accelerators: n, epochs: epochs, steps: total, seconds: state.lastEnd - state.startTime,
                           samples: n * total * profile.batchSize, au: state.au, waitSeconds: state.waited / Double(n),
                           residentBefore: residentBefore)
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Sleeps `seconds` (the emulated compute: no CPU used).
    static func sleep(_ seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// A standard normal draw (Box–Muller).
    static func normal(_ generator: inout SeededGenerator) -> Double {
        let u1 = max(Double.random(in: 0..<1, using: &generator), 1e-300)
        let u2 = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Batch buffers for reader threads, allocated once (before a probe starts: a 400-image batch
/// is 241 MB, and faulting its pages in during the first steps would count against the
/// accelerators) and lent to whichever probe runs.
public final class RingPool {
    private var rings: [BatchRing] = []
    private var shape: [Int] = []

    public init() {}

    func ring(_ i: Int, count: Int, sampleShape: [Int], batchSize: Int) -> BatchRing {
        if sampleShape != shape {
            rings = []
            shape = sampleShape
        }
        while rings.count <= i {
            let ring = BatchRing(count: count, sampleShape: sampleShape)
            ring.allocate(count: batchSize)
            rings.append(ring)
        }
        return rings[i]
    }
}

/// What the threads of one probe share.
private final class ProbeState: @unchecked Sendable {
    let start: DispatchSemaphore
    private let parties: Int
    private let lock = NSLock()
    private(set) var startTime = 0.0
    private(set) var lastEnd = 0.0
    private(set) var au: [Double]
    private(set) var waited = 0.0
    private(set) var error: (any Error)?
    private var stopped = false

    init(accelerators: Int, readers: Int) {
        start = DispatchSemaphore(value: 0)
        parties = accelerators + readers
        au = Array(repeating: 0, count: accelerators)
    }

    /// Releases every thread at once and notes the time.
    func begin() {
        startTime = AcceleratorEmulator.now()
        for _ in 0..<parties { start.signal() }
    }

    /// Releases every waiting thread (set once the probe's queues and barriers exist).
    var onCancel: () -> Void = {}
    private(set) var highestResidency = 0.0

    var isStopped: Bool { lock.withLock { stopped || error != nil } }

    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped && error == nil
        }
        if first { onCancel() }
    }

    func fail(_ e: any Error) {
        let first = lock.withLock { () -> Bool in
            guard error == nil else { return false }
            error = e
            return !stopped
        }
        if first { onCancel() }
    }

    func noteResidency(_ r: Double) { lock.withLock { highestResidency = max(highestResidency, r) } }

    func finish(accelerator: Int, end: Double, au value: Double, waited w: Double) {
        lock.withLock {
            au[accelerator] = value
            lastEnd = max(lastEnd, end)
            waited += w
        }
    }
}

/// A reusable barrier for a fixed number of threads; `breakAll` releases everyone for good
/// (a failed or stopped probe), after which `wait` returns false.
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var arrived = 0
    private var generation = 0
    private var broken = false

    init(parties: Int) { self.parties = max(1, parties) }

    /// Waits for all parties; the last to arrive runs `leader` first. False when broken.
    @discardableResult
    func wait(leader: () -> Void = {}) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if broken { return false }
        let mine = generation
        arrived += 1
        if arrived == parties {
            leader()
            arrived = 0
            generation += 1
            condition.broadcast()
            return true
        }
        while generation == mine && !broken { condition.wait() }
        return !broken || generation != mine
    }

    func breakAll() {
        condition.lock()
        broken = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A value handed to another thread that alone uses it (or uses it only in ways that are
/// thread-safe).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
