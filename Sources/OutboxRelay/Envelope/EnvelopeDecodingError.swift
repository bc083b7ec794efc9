/// Why an outbox row could not be read as an EventSauce message.
///
/// The relay sets such rows aside in the dead-letter table with ``description`` as the reason
/// and goes on; PHP's relay would throw on them forever.
public struct EnvelopeDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem. Extensible: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyPayload, truncatedJSON, invalidJSON, notAnObject, missingHeaders
            case missingPayload, invalidHeader, missingHeader, expanderFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The payload column is empty (PHP stored a failed `json_encode`).
        public static let emptyPayload = Code(.emptyPayload)
        /// The JSON ends early (e.g. cut at a `varchar(16001)` limit).
        public static let truncatedJSON = Code(.truncatedJSON)
        /// The payload column is not valid JSON.
        public static let invalidJSON = Code(.invalidJSON)
        /// The JSON is not an object.
        public static let notAnObject = Code(.notAnObject)
        /// The object has no `headers` member (or it is not an object).
        public static let missingHeaders = Code(.missingHeaders)
        /// The object has no `payload` member.
        public static let missingPayload = Code(.missingPayload)
        /// A required header is absent.
        public static let missingHeader = Code(.missingHeader)
        /// A header has the wrong type.
        public static let invalidHeader = Code(.invalidHeader)
        /// A configured ``MessageExpander`` threw.
        public static let expanderFailed = Code(.expanderFailed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The row that failed.
    public var rowID: OutboxRowID
    /// A human-readable explanation.
    public var detail: String

    public init(code: Code, rowID: OutboxRowID, detail: String) {
        self.code = code
        self.rowID = rowID
        self.detail = detail
    }

    public var description: String { "row \(rowID): \(detail) [\(code)]" }
}
