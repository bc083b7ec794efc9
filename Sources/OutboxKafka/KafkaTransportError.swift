/// Why a ``KafkaTransport`` could not be created, started, or asked about topics.
///
/// Delivery failures of single messages are not errors: they come back as
/// ``DeliveryResult/retryable(_:retryAfter:)`` or ``DeliveryResult/permanent(_:)``.
public struct KafkaTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem. Extensible: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, clientCreationFailed, connectionFailed, notStarted, shutDown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A setting is invalid: a template, an unknown or malformed librdkafka property.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// librdkafka refused to create the producer (e.g. a TLS file that cannot be read).
        public static let clientCreationFailed = Code(.clientCreationFailed)
        /// The cluster did not answer a metadata request in time (unreachable brokers, TLS or
        /// SASL failures).
        public static let connectionFailed = Code(.connectionFailed)
        /// The transport was used before ``KafkaTransport/start()``.
        public static let notStarted = Code(.notStarted)
        /// The transport was used after ``KafkaTransport/shutdown()``.
        public static let shutDown = Code(.shutDown)

        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// A human-readable explanation (never contains property values, which may be secrets).
    public var message: String
    /// The configuration setting at fault, when one is: `topic`, `key`, `headers`, or
    /// `properties.NAME` for a librdkafka property.
    public var setting: String?

    /// Creates an error.
    public init(code: Code, message: String, setting: String? = nil) {
        self.code = code
        self.message = message
        self.setting = setting
    }

    public var description: String { "Kafka: \(message) [\(code)]" }
}
