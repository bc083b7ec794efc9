import CSQLite

/// One `sqlite3*` handle. Not thread-safe: owned by ``SQLiteSource`` on its dedicated thread
/// (or by a single test).
final class SQLiteConnection {
    private var handle: OpaquePointer?
    /// The database file.
    let path: String
    private var cachedStatements: [String: SQLiteStatement] = [:]

    /// Opens the database.
    /// - Parameters:
    ///   - path: a file path (`:memory:` works, but only one connection can see it).
    ///   - create: whether to create the file if it does not exist.
    ///   - busyTimeout: how long a statement waits for another connection's lock.
    /// - Throws: ``SQLiteError`` with code `cannotOpen`.
    init(path: String, create: Bool, busyTimeout: Duration) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags =
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | (create ? SQLITE_OPEN_CREATE : 0)
        let result = sqlite3_open_v2(path, &db, flags, nil)
        guard result == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_close_v2(db)
            let hint = create ? "" : " (the file must exist; check the path in source.url)"
            throw SQLiteError(
                code: .cannotOpen,
                message: "cannot open SQLite database \(path): \(message)\(hint)",
                resultCode: result
            )
        }
        handle = db
        let milliseconds = max(0, min(Int64(Int32.max), busyTimeout.milliseconds))
        sqlite3_busy_timeout(db, Int32(milliseconds))
    }

    deinit {
        close()
    }

    /// Runs one or more `;`-separated statements without results.
    /// - Throws: ``SQLiteError``.
    func execute(_ sql: String) throws(SQLiteError) {
        let db = try requireHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        if result != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errorMessage)
            throw SQLiteError(
                code: Self.code(for: result),
                message: message,
                sql: sql,
                resultCode: sqlite3_extended_errcode(db)
            )
        }
    }

    /// A prepared statement for `sql`, reused across calls (reset, bindings cleared).
    /// - Throws: ``SQLiteError`` when the SQL does not prepare (e.g. a missing column).
    func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = cachedStatements[sql] { return cached }
        let statement = try prepare(sql)
        cachedStatements[sql] = statement
        return statement
    }

    /// A new prepared statement the caller finalizes (or drops).
    /// - Throws: ``SQLiteError``.
    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let db = try requireHandle()
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else {
            throw error(result: result, sql: sql)
        }
        return SQLiteStatement(handle: statement, database: db, sql: sql)
    }

    /// The rows a query returns, each read by `read`.
    /// - Throws: ``SQLiteError``.
    func query<Row>(_ sql: String, read: (SQLiteStatement) -> Row) throws(SQLiteError) -> [Row] {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        var rows: [Row] = []
        while try statement.step() {
            rows.append(read(statement))
        }
        return rows
    }

    /// The error SQLite reports for the last call on this connection.
    func error(result: Int32, sql: String?) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? result
        return SQLiteError(code: Self.code(for: result), message: message, sql: sql, resultCode: extended)
    }

    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// Finalizes every statement and closes the handle. Safe to call twice.
    func close() {
        for statement in cachedStatements.values { statement.finalize() }
        cachedStatements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    private func requireHandle() throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: .notOpen, message: "the SQLite connection to \(path) is closed")
        }
        return handle
    }

    static func code(for result: Int32) -> SQLiteError.Code {
        switch result & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        case SQLITE_CANTOPEN, SQLITE_NOTADB: return .cannotOpen
        default: return .statementFailed
        }
    }
}
