import CMPI
import Foundation

/// A failed MPI call, with Open MPI's own message.
public struct MPIError: Error, CustomStringConvertible {
    public let call: String
    public let message: String
    public var description: String { "\(call): \(message)" }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(feedbench_MPI_MAX_ERROR_STRING()) + 1)
        var length: Int32 = 0
        let message = MPI_Error_string(code, &text, &length) == MPI_SUCCESS
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "MPI error \(code)"
        throw MPIError(call: call, message: message)
    }
}

/// One rank's error, agreed on by every rank: the lowest failing rank's one-line message.
/// Every rank throws it; rank 0 prints it.
public struct RankFailure: Error, CustomStringConvertible {
    /// The failing rank; nil when every rank found the same error (a loss that became NaN).
    public let rank: Int?
    public let ranks: Int
    public let message: String
    public var description: String { ranks > 1 && rank != nil ? "rank \(rank!): \(message)" : message }

    public init(rank: Int?, ranks: Int, message: String) {
        self.rank = rank
        self.ranks = ranks
        self.message = message
    }
}

/// The ranks a run is spread over: `MPI_COMM_WORLD` when started by `mpirun` (or asked to
/// with `--mpi`), otherwise one rank that needs no MPI at all. Every collective of a single
/// rank is the identity, so the code that trains or measures is the same either way.
///
/// Open MPI is started with `MPI_THREAD_FUNNELED`: prefetch and decode threads never call
/// MPI; only the thread that started it does.
public final class Ranks: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Whether MPI was started (false for a plain run).
    public let usesMPI: Bool
    /// This rank's index among the ranks of its host, and how many share the host
    /// (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`).
    public let localRank: Int
    public let localSize: Int
    /// Hosts in the run, and this host's index (the order of the hosts' lowest ranks).
    public let nodes: Int
    public let node: Int
    /// The host's name as MPI reports it.
    public let hostName: String
    private let world: MPI_Comm?
    /// Whether `finish` ended MPI.
    public private(set) var finished = false

    public var isRoot: Bool { rank == 0 }
    /// The one rank of each host that acts for the host (drops its page cache, for one).
    public var leadsNode: Bool { localRank == 0 }

    /// One rank, no MPI.
    public static let single = Ranks()

    private init() {
        rank = 0; size = 1; usesMPI = false; localRank = 0; localSize = 1; nodes = 1; node = 0
        hostName = ProcessInfo.processInfo.hostName
        world = nil
    }

    private init(world: MPI_Comm) throws {
        try MPIError.check(MPI_Comm_set_errhandler(world, feedbench_MPI_ERRORS_RETURN()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, n: Int32 = 0
        try MPIError.check(MPI_Comm_rank(world, &r), "MPI_Comm_rank")
        try MPIError.check(MPI_Comm_size(world, &n), "MPI_Comm_size")
        // The ranks of this host: their count, this rank's place, and the host's lowest rank.
        var shared = feedbench_MPI_COMM_NULL()
        try MPIError.check(MPI_Comm_split_type(world, feedbench_MPI_COMM_TYPE_SHARED(), r, feedbench_MPI_INFO_NULL(), &shared), "MPI_Comm_split_type")
        defer { MPI_Comm_free(&shared) }
        var lr: Int32 = 0, ln: Int32 = 0
        try MPIError.check(MPI_Comm_rank(shared, &lr), "MPI_Comm_rank")
        try MPIError.check(MPI_Comm_size(shared, &ln), "MPI_Comm_size")
        var lowest = Double(r)
        try MPIError.check(MPI_Allreduce(feedbench_MPI_IN_PLACE(), &lowest, 1, feedbench_MPI_DOUBLE(), feedbench_MPI_MIN(), shared), "MPI_Allreduce")
        // Hosts are numbered by their lowest rank: count the hosts' leaders below this one's.
        var leaders = [Double](repeating: 0, count: Int(n))
        leaders[Int(r)] = lr == 0 ? 1 : 0
        try MPIError.check(MPI_Allreduce(feedbench_MPI_IN_PLACE(), &leaders, n, feedbench_MPI_DOUBLE(), feedbench_MPI_SUM(), world), "MPI_Allreduce")
        var name = [CChar](repeating: 0, count: Int(feedbench_MPI_MAX_PROCESSOR_NAME()) + 1)
        var length: Int32 = 0
        try MPIError.check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        rank = Int(r); size = Int(n); localRank = Int(lr); localSize = Int(ln)
        nodes = Int(leaders.reduce(0, +))
        node = Int(leaders[..<Int(lowest)].reduce(0, +))
        hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        usesMPI = true
        self.world = world
    }

    /// Whether this process was started by `mpirun` (Open MPI or PMIx sets these).
    public static var launchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }

    /// This process's rank as `mpirun` set it in the environment, before MPI starts.
    public static var worldRankFromLauncher: Int? {
        let environment = ProcessInfo.processInfo.environment
        return (environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMIX_RANK"] ?? environment["PMI_RANK"]).flatMap { Int($0) }
    }

    /// The ranks of this run: MPI's world when launched by `mpirun` or when `force` is set,
    /// otherwise `single`. MPI is started once per process.
    public static func start(force: Bool = false) throws -> Ranks {
        guard force || launchedByMPI else { return .single }
        if let started = current { return started }
        var provided: Int32 = 0
        try MPIError.check(MPI_Init_thread(nil, nil, feedbench_MPI_THREAD_FUNNELED(), &provided), "MPI_Init_thread")
        let ranks = try Ranks(world: feedbench_MPI_COMM_WORLD())
        current = ranks
        return ranks
    }

    /// The ranks `start` made, if MPI was started.
    nonisolated(unsafe) public private(set) static var current: Ranks?

    /// Ends MPI (once); a plain run does nothing.
    public func finish() {
        guard usesMPI, !finished else { return }
        finished = true
        MPI_Finalize()
    }

    /// Ends every rank at once, for an error found outside the points where ranks agree.
    public func abort(_ code: Int32 = 1) -> Never {
        if let world { MPI_Abort(world, code) }
        exit(code)
    }

    // MARK: - Collectives

    public enum Reduction { case sum, max, min
        var op: MPI_Op {
            switch self { case .sum: feedbench_MPI_SUM(); case .max: feedbench_MPI_MAX(); case .min: feedbench_MPI_MIN() }
        }
    }

    /// Every rank waits for the others.
    public func barrier() throws {
        guard let world else { return }
        try MPIError.check(MPI_Barrier(world), "MPI_Barrier")
    }

    /// Sums (or max, min) `count` floats in place over every rank.
    public func allreduce(_ values: UnsafeMutablePointer<Float>, count: Int, _ reduction: Reduction = .sum) throws {
        guard let world, count > 0 else { return }
        try chunked(count) { offset, n in
            try MPIError.check(MPI_Allreduce(feedbench_MPI_IN_PLACE(), values + offset, n, feedbench_MPI_FLOAT(), reduction.op, world), "MPI_Allreduce")
        }
    }

    /// Reduces doubles over every rank; every rank gets the result.
    public func allreduce(_ values: [Double], _ reduction: Reduction = .sum) throws -> [Double] {
        guard let world, !values.isEmpty else { return values }
        var result = values
        try MPIError.check(MPI_Allreduce(feedbench_MPI_IN_PLACE(), &result, Int32(values.count), feedbench_MPI_DOUBLE(), reduction.op, world), "MPI_Allreduce")
        return result
    }

    public func allreduce(_ value: Double, _ reduction: Reduction = .sum) throws -> Double {
        try allreduce([value], reduction)[0]
    }

    /// Every rank's `values` (all of one length), in rank order; every rank gets them.
    public func allgather(_ values: [Double]) throws -> [[Double]] {
        guard let world else { return [values] }
        var all = [Double](repeating: 0, count: values.count * size)
        try MPIError.check(MPI_Allgather(values, Int32(values.count), feedbench_MPI_DOUBLE(), &all, Int32(values.count), feedbench_MPI_DOUBLE(), world), "MPI_Allgather")
        return stride(from: 0, to: all.count, by: max(values.count, 1)).map { Array(all[$0..<$0 + values.count]) }
    }

    /// Every rank's 64-bit value, in rank order.
    public func allgather(_ value: UInt64) throws -> [UInt64] {
        guard let world else { return [value] }
        var all = [UInt64](repeating: 0, count: size)
        var mine = value
        try MPIError.check(MPI_Allgather(&mine, 1, feedbench_MPI_UINT64_T(), &all, 1, feedbench_MPI_UINT64_T(), world), "MPI_Allgather")
        return all
    }

    /// `root`'s text, on every rank.
    public func broadcast(_ text: String, from root: Int) throws -> String {
        guard let world else { return text }
        var bytes = Array(text.utf8).map { CChar(bitPattern: $0) }
        var length = Int64(bytes.count)
        try MPIError.check(MPI_Bcast(&length, 1, feedbench_MPI_INT64_T(), Int32(root), world), "MPI_Bcast")
        if rank != root { bytes = [CChar](repeating: 0, count: Int(length)) }
        if length > 0 {
            try MPIError.check(MPI_Bcast(&bytes, Int32(length), feedbench_MPI_CHAR(), Int32(root), world), "MPI_Bcast")
        }
        return String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts summing `count` floats in place over every rank; `wait` finishes it.
    public func startAllreduce(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> Request {
        let request = Request()
        guard let world, count > 0 else { return request }
        try chunked(count) { offset, n in
            var handle: MPI_Request? = feedbench_MPI_REQUEST_NULL()
            try MPIError.check(MPI_Iallreduce(feedbench_MPI_IN_PLACE(), values + offset, n, feedbench_MPI_FLOAT(), feedbench_MPI_SUM(), world, &handle), "MPI_Iallreduce")
            request.handles.append(handle)
        }
        return request
    }

    /// Reductions started by `startAllreduce`.
    public final class Request {
        var handles: [MPI_Request?] = []

        /// Lets MPI move the reductions on (Open MPI progresses non-blocking collectives
        /// only inside MPI calls); true when they are done.
        public func test() throws -> Bool {
            guard !handles.isEmpty else { return true }
            var done: Int32 = 0
            try MPIError.check(MPI_Testall(Int32(handles.count), &handles, &done, feedbench_MPI_STATUSES_IGNORE()), "MPI_Testall")
            if done != 0 { handles.removeAll() }
            return done != 0
        }

        public func wait() throws {
            guard !handles.isEmpty else { return }
            try MPIError.check(MPI_Waitall(Int32(handles.count), &handles, feedbench_MPI_STATUSES_IGNORE()), "MPI_Waitall")
            handles.removeAll()
        }
    }

    /// MPI counts are 32-bit: larger buffers go in pieces.
    private func chunked(_ count: Int, _ body: (Int, Int32) throws -> Void) throws {
        let piece = 1 << 30
        var offset = 0
        while offset < count {
            let n = min(piece, count - offset)
            try body(offset, Int32(n))
            offset += n
        }
    }

    // MARK: - Agreeing on errors

    /// Runs `work` on every rank; if it throws on any rank, every rank throws the same
    /// `RankFailure` (the lowest failing rank's message) instead of waiting for the others.
    @discardableResult
    public func together<T>(_ work: () throws -> T) throws -> T {
        guard usesMPI else { return try work() }  // one rank: its error as it is
        var result: T?
        var failure: String?
        do { result = try work() } catch { failure = Self.message(error) }
        try agree(failure)
        return result!
    }

    /// Runs `work` on rank 0 first, then on the others (writing what the others then open,
    /// such as a data set's layouts); a failure on any rank ends every rank, as `together`.
    public func rootFirst<T>(_ work: () throws -> T) throws -> T {
        guard size > 1 else { return try together(work) }
        var result: T?
        for rootsTurn in [true, false] {
            try together { if rootsTurn == isRoot { result = try work() } }
        }
        return result!
    }

    /// Every rank says whether it failed; when one did, every rank throws its message.
    public func agree(_ failure: String?) throws {
        guard usesMPI else {
            if let failure { throw RankFailure(rank: 0, ranks: 1, message: failure) }
            return
        }
        let first = Int(try allreduce(failure == nil ? Double(size) : Double(rank), .min))
        guard first < size else { return }
        let message = try broadcast(failure ?? "", from: first)
        throw RankFailure(rank: first, ranks: size, message: message)
    }

    /// An error's one line.
    public static func message(_ error: Error) -> String {
        if let failure = error as? RankFailure { return failure.message }
        return String(describing: error)
    }
}
