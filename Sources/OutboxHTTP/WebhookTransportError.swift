/// Why a webhook transport could not be configured or started.
///
/// Delivery failures are not errors: they are ``DeliveryResult`` values. Messages never
/// contain signing secrets, URL user info or query values.
public struct WebhookTransportError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The URL is malformed, not HTTP(S), or not HTTPS while `httpsOnly` is set.
        public static let invalidURL = Code("invalidURL")
        /// A signing secret is not `whsec_<base64>` or is too short.
        public static let invalidSecret = Code("invalidSecret")
        /// A configured header has a bad name or a value with a line break.
        public static let invalidHeader = Code("invalidHeader")
        /// A number or duration is out of range.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// The host resolves only to loopback, private or link-local addresses and
        /// `allowPrivateNetworks` is off.
        public static let privateAddressRefused = Code("privateAddressRefused")
        /// libcurl could not be initialised.
        public static let curlUnavailable = Code("curlUnavailable")
        /// The transport was shut down.
        public static let shutDown = Code("shutDown")
    }

    /// The kind of problem.
    public var code: Code
    /// What went wrong, for people.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "webhook transport: \(message)" }
}
