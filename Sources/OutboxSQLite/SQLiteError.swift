/// An error from the SQLite source: what went wrong, SQLite's own message, and the SQL that failed.
///
/// Bound values never appear in ``sql`` (statements use parameters), so the text is safe to log.
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem. Extensible: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case cannotOpen, missingTable, missingColumn, busy, statementFailed, invalidCursor, notOpen
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The database file could not be opened (missing file, no permission, not a database).
        public static let cannotOpen = Code(.cannotOpen)
        /// The configured outbox table does not exist.
        public static let missingTable = Code(.missingTable)
        /// A configured column does not exist in its table.
        public static let missingColumn = Code(.missingColumn)
        /// Another connection held a lock for longer than the busy timeout; retrying is safe.
        public static let busy = Code(.busy)
        /// A statement failed to prepare or run.
        public static let statementFailed = Code(.statementFailed)
        /// A cursor of the wrong shape was passed to `fetch` (e.g. a text id for the `outbox` flavour).
        public static let invalidCursor = Code(.invalidCursor)
        /// The source was used before `open()` or after `close()`.
        public static let notOpen = Code(.notOpen)

        /// The code's name, e.g. `missingColumn`.
        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// SQLite's message (`sqlite3_errmsg`), or the relay's explanation.
    public var message: String
    /// The SQL that failed, when a statement failed.
    public var sql: String?
    /// SQLite's extended result code, when SQLite reported the error.
    public var resultCode: Int32?

    /// Creates an error.
    public init(code: Code, message: String, sql: String? = nil, resultCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.resultCode = resultCode
    }

    /// The message, the code and SQLite's result code, and the SQL that failed.
    public var description: String {
        var text = "\(message) [\(code)"
        if let resultCode { text += ", SQLite result code \(resultCode)" }
        text += "]"
        if let sql { text += " in: \(sql)" }
        return text
    }
}
