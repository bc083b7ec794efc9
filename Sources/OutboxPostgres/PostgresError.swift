/// An error from the PostgreSQL source, with what went wrong and what to do about it.
///
/// ``code`` says what kind of failure it is (extensible: switch with a `default`),
/// ``sqlState`` carries PostgreSQL's own five-character code when the server sent one, and
/// ``message`` is the text to show. Connection strings in messages are redacted.
public struct PostgresError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure an error is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, authenticationFailed, connectionLost, missingTable, missingColumn
            case permissionDenied, statementTimeout, queryFailed, invalidConfiguration, unexpectedResult
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached or refused the connection.
        public static let connectionFailed = Code(.connectionFailed)
        /// The server rejected the credentials (SQLSTATE `28P01`/`28000`).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The connection broke during a statement (server restart, terminated backend, network).
        public static let connectionLost = Code(.connectionLost)
        /// The configured outbox table does not exist.
        public static let missingTable = Code(.missingTable)
        /// A configured column does not exist in the outbox table.
        public static let missingColumn = Code(.missingColumn)
        /// The database user lacks a privilege the relay needs (SQLSTATE `42501`).
        public static let permissionDenied = Code(.permissionDenied)
        /// A statement ran longer than `statement_timeout` (SQLSTATE `57014`).
        public static let statementTimeout = Code(.statementTimeout)
        /// Any other failed statement.
        public static let queryFailed = Code(.queryFailed)
        /// The configuration cannot work (e.g. retention by age on a table without a time column).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The server answered with something the relay did not expect.
        public static let unexpectedResult = Code(.unexpectedResult)

        /// The code's name, e.g. `missingColumn`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// PostgreSQL's SQLSTATE, when the server reported one (e.g. `42P01`).
    public var sqlState: String?
    /// What went wrong, naming the table, column or privilege concerned.
    public var message: String

    /// Creates an error.
    public init(code: Code, sqlState: String? = nil, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// `PostgreSQL <code> [<SQLSTATE>]: <message>`.
    public var description: String {
        if let sqlState { return "PostgreSQL \(code) [\(sqlState)]: \(message)" }
        return "PostgreSQL \(code): \(message)"
    }

    /// Whether the error means the connection is gone and must be re-established.
    public var isConnectionFailure: Bool {
        code == .connectionLost || code == .connectionFailed
    }
}
