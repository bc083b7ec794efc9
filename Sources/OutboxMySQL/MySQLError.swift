/// An error from the MySQL/MariaDB source, with what went wrong and what to do about it.
///
/// ``code`` says what kind of failure it is (extensible: switch with a `default`),
/// ``serverCode`` carries the server's or Connector/C's error number when there is one (e.g.
/// `1146`, `2013`), and ``message`` is the text to show. URLs in messages are redacted.
public struct MySQLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure an error is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, authenticationFailed, connectionLost, missingTable, missingColumn
            case permissionDenied, packetTooLarge, queryFailed, invalidConfiguration, unexpectedResult
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached or refused the connection.
        public static let connectionFailed = Code(.connectionFailed)
        /// The server rejected the credentials (`1045`, `1044`, `1698`).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The connection broke during a statement (`server has gone away`, lost connection,
        /// server shutdown, killed connection).
        public static let connectionLost = Code(.connectionLost)
        /// The configured outbox table does not exist.
        public static let missingTable = Code(.missingTable)
        /// A configured column does not exist in the outbox table.
        public static let missingColumn = Code(.missingColumn)
        /// The database user lacks a privilege the relay needs (`1142`, `1143`).
        public static let permissionDenied = Code(.permissionDenied)
        /// A row or statement is larger than the server's `max_allowed_packet`.
        public static let packetTooLarge = Code(.packetTooLarge)
        /// Any other failed statement.
        public static let queryFailed = Code(.queryFailed)
        /// The configuration cannot work (bad URL, bad column type, …).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The server answered with something the relay did not expect.
        public static let unexpectedResult = Code(.unexpectedResult)

        /// The code's name, e.g. `missingColumn`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The server's or Connector/C's error number, when there is one.
    public var serverCode: UInt32?
    /// What went wrong, naming the table, column, setting or privilege concerned.
    public var message: String

    /// Creates an error.
    public init(code: Code, serverCode: UInt32? = nil, message: String) {
        self.code = code
        self.serverCode = serverCode
        self.message = message
    }

    /// `MySQL <code> [<number>]: <message>`.
    public var description: String {
        if let serverCode { return "MySQL \(code) [\(serverCode)]: \(message)" }
        return "MySQL \(code): \(message)"
    }

    /// Whether the error means the connection is gone and must be re-established.
    public var isConnectionFailure: Bool {
        code == .connectionLost || code == .connectionFailed
    }
}
