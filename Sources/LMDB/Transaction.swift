import CLMDB

/// A read-only snapshot. Values it lends are valid only inside the closure that receives
/// them, and never after the transaction ends. Aborted (ended) exactly once, in `deinit`.
public final class ReadTransaction: @unchecked Sendable {
    let environment: Environment
    let txn: OpaquePointer

    init(environment: Environment, txn: OpaquePointer) {
        self.environment = environment
        self.txn = txn
    }

    deinit { mdb_txn_abort(txn) }

    /// Lends the value stored under `key` to `body` (nil when absent), without copying.
    /// The bytes are valid only during `body`.
    public func withValue<R>(forKey key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try key.withUnsafeBytes { try withValue(forKey: $0, body) }
    }

    /// The same, with the key lent as bytes (no array per lookup on a hot path).
    public func withValue<R>(forKey key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let code = mdb_get(txn, environment.dbi, &k, &v)
        if code == MDB_NOTFOUND { return try body(nil) }
        try check(code, environment.path, "read a record")
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// A cursor over the database in key order.
    public func cursor() throws -> Cursor {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, environment.dbi, &cursor), environment.path, "open a cursor")
        return Cursor(environment: environment, cursor: cursor!, transaction: self)
    }
}

/// A write transaction: `commit()` makes its writes durable and reports failure; a
/// transaction not committed is aborted in `deinit`.
public final class WriteTransaction {
    let environment: Environment
    private var txn: OpaquePointer?

    init(environment: Environment, txn: OpaquePointer) {
        self.environment = environment
        self.txn = txn
    }

    deinit { if let txn { mdb_txn_abort(txn) } }

    /// Stores `value` under `key`, replacing what was there.
    public func put(key: [UInt8], value: [UInt8]) throws {
        guard let txn else { throw LMDBError(path: environment.path, operation: "write", message: "the transaction has ended") }
        try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                try check(mdb_put(txn, environment.dbi, &kv, &vv, 0), environment.path, "write a record")
            }
        }
    }

    /// Commits; the transaction has ended afterwards, whatever the outcome.
    public func commit() throws {
        guard let txn else { return }
        self.txn = nil
        try check(mdb_txn_commit(txn), environment.path, "commit")
    }
}

/// Walks records in key order. Keys and values are lent to the closure only.
public final class Cursor {
    let environment: Environment
    let cursor: OpaquePointer
    let transaction: ReadTransaction  // keeps the snapshot alive while the cursor lives
    private var started = false

    init(environment: Environment, cursor: OpaquePointer, transaction: ReadTransaction) {
        self.environment = environment
        self.cursor = cursor
        self.transaction = transaction
    }

    deinit { mdb_cursor_close(cursor) }

    /// Moves to the next record (the first on the first call) and lends its key and value to
    /// `body`; returns nil at the end. The bytes are valid only during `body`.
    public func next<R>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(), v = MDB_val()
        let code = mdb_cursor_get(cursor, &k, &v, started ? MDB_NEXT : MDB_FIRST)
        started = true
        if code == MDB_NOTFOUND { return nil }
        try check(code, environment.path, "move the cursor")
        return try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                        UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Moves to the record with `key` and lends its key and value to `body`; nil when there
    /// is no such key. `next` continues from there.
    public func seek<R>(_ key: UnsafeRawBufferPointer, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let code = mdb_cursor_get(cursor, &k, &v, MDB_SET_KEY)
        started = true
        if code == MDB_NOTFOUND { return nil }
        try check(code, environment.path, "move the cursor to a key")
        return try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                        UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}
