import CSQLite

/// One prepared `sqlite3_stmt*`. Parameters and columns are 1- and 0-based as in SQLite's C API.
final class SQLiteStatement {
    private var handle: OpaquePointer?
    private let database: OpaquePointer
    /// The statement's SQL text (no bound values).
    let sql: String

    init(handle: OpaquePointer, database: OpaquePointer, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit {
        finalize()
    }

    // MARK: Binding (values are copied by SQLite during the call)

    func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    func bind(_ text: String?, at index: Int32) throws(SQLiteError) {
        guard var utf8 = text else { return try bindNull(at: index) }
        let result = utf8.withUTF8 { buffer in
            Self.withNonNullBase(buffer) { base, count in
                csqlite_bind_text_transient(
                    handle,
                    index,
                    UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                    count
                )
            }
        }
        try check(result)
    }

    /// Binds bytes as TEXT when they are valid UTF-8, as a BLOB otherwise: the stored value
    /// reads back byte for byte either way, and text stays readable for `sqlite3` and `json_*`.
    func bind(bytes: [UInt8], at index: Int32) throws(SQLiteError) {
        // Validated in place: `String(validating:)` would copy the whole payload first.
        let isText = (try? UTF8Span(validating: bytes.span)) != nil
        let result = bytes.withUnsafeBufferPointer { buffer in
            Self.withNonNullBase(buffer) { base, count in
                isText
                    ? csqlite_bind_text_transient(
                        handle,
                        index,
                        UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                        count
                    )
                    : csqlite_bind_blob_transient(handle, index, base, count)
            }
        }
        try check(result)
    }

    /// Empty buffers may have no base address, and SQLite binds a NULL pointer as SQL NULL:
    /// pass a pointer to a static byte instead so an empty value stays an empty value.
    private static func withNonNullBase(
        _ buffer: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafePointer<UInt8>, Int32) -> Int32
    ) -> Int32 {
        if let base = buffer.baseAddress, buffer.count > 0 {
            return body(base, Int32(clamping: buffer.count))
        }
        return withUnsafePointer(to: UInt8(0)) { body($0, 0) }
    }

    // MARK: Running

    /// Runs to the next row.
    /// - Returns: `true` when a row is available, `false` when done.
    /// - Throws: ``SQLiteError`` (the statement is reset).
    func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(
                code: SQLiteConnection.code(for: result),
                message: String(cString: sqlite3_errmsg(database)),
                sql: sql,
                resultCode: sqlite3_extended_errcode(database)
            )
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs a statement that returns no rows.
    /// - Throws: ``SQLiteError``.
    func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    /// Resets the statement for reuse and clears its bindings.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Frees the statement. Safe to call twice.
    func finalize() {
        if let handle {
            sqlite3_finalize(handle)
            self.handle = nil
        }
    }

    // MARK: Reading the current row

    func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func text(at column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The size in bytes of the column's stored value (TEXT or BLOB, without converting it).
    func byteCount(at column: Int32) -> Int {
        // sqlite3_column_blob first: sqlite3_column_bytes alone may convert a TEXT value.
        _ = sqlite3_column_blob(handle, column)
        return Int(sqlite3_column_bytes(handle, column))
    }

    /// The column's stored bytes, untouched (TEXT and BLOB alike; empty for NULL and `''`).
    func bytes(at column: Int32) -> [UInt8] {
        // sqlite3_column_blob first, then _bytes: the documented order that never converts.
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func check(_ result: Int32) throws(SQLiteError) {
        guard result == SQLITE_OK else {
            throw SQLiteError(
                code: SQLiteConnection.code(for: result),
                message: String(cString: sqlite3_errmsg(database)),
                sql: sql,
                resultCode: result
            )
        }
    }
}
