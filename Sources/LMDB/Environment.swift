import CLMDB
import Foundation

/// An LMDB environment (a folder holding `data.mdb` and `lock.mdb`), closed exactly once in
/// `deinit`.
public final class Environment: @unchecked Sendable {
    /// The folder.
    public let path: String
    public let env: OpaquePointer
    let dbi: MDB_dbi
    public let readOnly: Bool

    private init(path: String, env: OpaquePointer, dbi: MDB_dbi, readOnly: Bool) {
        self.path = path
        self.env = env
        self.dbi = dbi
        self.readOnly = readOnly
    }

    deinit { mdb_env_close(env) }

    /// Opens an environment read-only (`MDB_RDONLY | MDB_NOTLS`, so a read transaction may
    /// move between threads). `readahead: false` sets `MDB_NORDAHEAD`, which helps random
    /// reads of data larger than memory. The data file is checked first (see `DataFileCheck`).
    ///
    /// LMDB must not have one environment open twice in a process (closing one copy breaks
    /// the other's locks), so while an environment for this folder is open, the same one is
    /// returned (whatever `readahead` asks).
    public static func openReadOnly(_ path: String, readahead: Bool = true) throws -> Environment {
        try DataFileCheck.validate(folder: path)
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardized.path
        return try OpenEnvironments.shared.reuse(key) {
            var flags = UInt32(MDB_RDONLY | MDB_NOTLS)
            if !readahead { flags |= UInt32(MDB_NORDAHEAD) }
            return try open(path, flags: flags, mapSize: 0, readOnly: true)
        }
    }

    /// Creates (or opens for writing) an environment in `path`, making the folder.
    public static func create(_ path: String, mapSize: Int = 1 << 26) throws -> Environment {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LMDBError(path: path, operation: "create the folder", message: (error as NSError).localizedDescription)
        }
        return try open(path, flags: UInt32(MDB_NOTLS), mapSize: mapSize, readOnly: false)
    }

    private static func open(_ path: String, flags: UInt32, mapSize: Int, readOnly: Bool) throws -> Environment {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), path, "create an environment")
        guard let env else { throw LMDBError(path: path, operation: "create an environment", message: "no handle") }
        if mapSize > 0 {
            let code = mdb_env_set_mapsize(env, mapSize)
            if code != 0 { mdb_env_close(env); throw LMDBError(path: path, operation: "set the map size", code: code) }
        }
        var code = mdb_env_open(env, path, flags, 0o644)
        if code != 0 { mdb_env_close(env); throw LMDBError(path: path, operation: "open", code: code) }
        var txn: OpaquePointer?
        code = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        if code != 0 { mdb_env_close(env); throw LMDBError(path: path, operation: "begin a transaction", code: code) }
        var dbi: MDB_dbi = 0
        code = mdb_dbi_open(txn, nil, 0, &dbi)
        if code != 0 { mdb_txn_abort(txn); mdb_env_close(env); throw LMDBError(path: path, operation: "open the database", code: code) }
        code = readOnly ? { mdb_txn_abort(txn); return 0 }() : mdb_txn_commit(txn)
        if code != 0 { mdb_env_close(env); throw LMDBError(path: path, operation: "open the database", code: code) }
        return Environment(path: path, env: env, dbi: dbi, readOnly: readOnly)
    }

    /// Entry count, page size, B-tree depth and page counts of the main database.
    public struct Statistics: Sendable {
        public let entries: Int
        public let pageSize: Int
        public let depth: Int
        public let branchPages: Int
        public let leafPages: Int
        public let overflowPages: Int
        public let mapSize: Int
        public let lastPage: Int
    }

    public func statistics() throws -> Statistics {
        var stat = MDB_stat()
        try check(mdb_env_stat(env, &stat), path, "read statistics")
        var info = MDB_envinfo()
        try check(mdb_env_info(env, &info), path, "read environment info")
        return Statistics(
            entries: Int(stat.ms_entries), pageSize: Int(stat.ms_psize), depth: Int(stat.ms_depth),
            branchPages: Int(stat.ms_branch_pages), leafPages: Int(stat.ms_leaf_pages),
            overflowPages: Int(stat.ms_overflow_pages), mapSize: Int(info.me_mapsize), lastPage: Int(info.me_last_pgno))
    }

    /// Starts a read transaction: a consistent snapshot for as long as it lives.
    public func beginRead() throws -> ReadTransaction {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), path, "begin a read transaction")
        return ReadTransaction(environment: self, txn: txn!)
    }

    /// Starts a write transaction; commit it with `commit()`, or it aborts in `deinit`.
    public func beginWrite() throws -> WriteTransaction {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), path, "begin a write transaction")
        return WriteTransaction(environment: self, txn: txn!)
    }

    /// The current map size in bytes.
    public var mapSize: Int { (try? statistics().mapSize) ?? 0 }

    /// Grows the map (no transaction of this process may be open).
    public func setMapSize(_ bytes: Int) throws {
        try check(mdb_env_set_mapsize(env, bytes), path, "grow the map to \(bytes) bytes")
    }

    /// Writes records in one transaction; when the map is full, aborts, doubles the map and
    /// replays the whole transaction.
    public func put(_ records: [(key: [UInt8], value: [UInt8])]) throws {
        while true {
            do {
                let txn = try beginWrite()
                for record in records { try txn.put(key: record.key, value: record.value) }
                try txn.commit()
                return
            } catch let error as LMDBError where error.isMapFull {
                try setMapSize(mapSize * 2)
            }
        }
    }
}

/// The read-only environments open in this process, by folder, held weakly.
final class OpenEnvironments: @unchecked Sendable {
    static let shared = OpenEnvironments()
    private let lock = NSLock()
    private var open: [String: WeakEnvironment] = [:]

    struct WeakEnvironment { weak var environment: Environment? }

    func reuse(_ key: String, _ make: () throws -> Environment) throws -> Environment {
        lock.lock()
        defer { lock.unlock() }
        if let existing = open[key]?.environment { return existing }
        let environment = try make()
        open[key] = WeakEnvironment(environment: environment)
        return environment
    }
}
