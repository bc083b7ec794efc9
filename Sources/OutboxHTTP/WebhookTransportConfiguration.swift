extension WebhookTransport {
    /// How a ``WebhookTransport`` reaches its endpoint. Every default is the secure one.
    public struct Configuration: Sendable {
        /// What the request body holds.
        public enum BodyFormat: String, Sendable, Hashable, CaseIterable {
            /// The stored EventSauce envelope, byte for byte: `{"headers":{…},"payload":…}`. The default.
            case envelope
            /// Only the inner `payload` value, byte for byte.
            case payload
            /// A CloudEvents 1.0 structured-mode JSON object (`application/cloudevents+json`),
            /// with the payload as `data`.
            case cloudevents
        }

        /// Settings for the CloudEvents body format.
        public struct CloudEvents: Sendable, Hashable {
            /// The CloudEvents `source` attribute. Default `"outbox-relay"`.
            public var source: String

            /// Creates CloudEvents settings.
            public init(source: String = "outbox-relay") {
                self.source = source
            }
        }

        /// Standard Webhooks signing.
        public struct Signing: Sendable, Hashable {
            /// Secrets written as `whsec_<base64>`; each adds a `v1,…` entry to
            /// `webhook-signature`. Several at once allow rotation. Default: none (the
            /// `webhook-id` and `webhook-timestamp` headers are still sent).
            public var secrets: [String]

            /// Creates signing settings.
            public init(secrets: [String] = []) {
                self.secrets = secrets
            }
        }

        /// Time limits per request.
        public struct Timeouts: Sendable, Hashable {
            /// Limit for DNS, TCP and TLS set-up. Default 10 s.
            public var connect: Duration
            /// Limit for a whole request, connecting included. Default 30 s.
            public var total: Duration

            /// Creates time limits.
            public init(connect: Duration = .seconds(10), total: Duration = .seconds(30)) {
                self.connect = connect
                self.total = total
            }
        }

        /// Redirect handling.
        public struct Redirects: Sendable, Hashable {
            /// Whether 3xx responses are followed (keeping the `POST`, body and signature).
            /// Default `false`: a 3xx is a permanent failure, because a webhook URL that moved is
            /// a configuration error. A redirect to another origin (scheme, host or port) is sent
            /// without the custom ``Configuration/headers``; every hop is checked by the
            /// private-address guard.
            public var follow: Bool
            /// Most redirects followed for one request. Default 5.
            public var maximum: Int
            /// Whether an `https` URL may redirect to an `http` one (which sends the body and
            /// signature in clear text). Default `false`: such a redirect is a permanent failure.
            public var allowInsecure: Bool

            /// Creates redirect settings.
            public init(follow: Bool = false, maximum: Int = 5, allowInsecure: Bool = false) {
                self.follow = follow
                self.maximum = maximum
                self.allowInsecure = allowInsecure
            }
        }

        /// TLS and scheme rules.
        public struct TLS: Sendable, Hashable {
            /// A PEM file of CA certificates to trust instead of the system bundle. Default `nil`
            /// (the system bundle). Certificate and host name verification are always on.
            public var caFile: String?
            /// Refuse `http://` URLs and redirects to them. Default `false`.
            public var httpsOnly: Bool

            /// Creates TLS settings.
            public init(caFile: String? = nil, httpsOnly: Bool = false) {
                self.caFile = caFile
                self.httpsOnly = httpsOnly
            }
        }

        /// Which network addresses the transport may connect to.
        public struct Network: Sendable, Hashable {
            /// Allow loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7,
            /// 100.64/10), link-local (169.254/16, fe80::/10) and other non-public addresses.
            /// Checked on every connection after DNS resolution, redirects included.
            /// Default `false`: webhook URLs often come from users, and this stops them from
            /// reaching internal services (SSRF).
            public var allowPrivateNetworks: Bool

            /// Creates network settings.
            public init(allowPrivateNetworks: Bool = false) {
                self.allowPrivateNetworks = allowPrivateNetworks
            }
        }

        /// The endpoint, `https://…` (or `http://…` unless ``TLS-swift.struct/httpsOnly``).
        /// User info and query values are never logged.
        public var url: String
        /// What the body holds. Default ``BodyFormat-swift.enum/envelope``.
        public var bodyFormat: BodyFormat
        /// CloudEvents settings (used with ``BodyFormat-swift.enum/cloudevents``).
        public var cloudEvents: CloudEvents
        /// Extra headers sent with every request (e.g. `authorization`). Default none.
        /// They cannot replace `content-type` or the `webhook-*` headers.
        public var headers: [String: String]
        /// Standard Webhooks signing. Default: no secrets.
        public var signing: Signing
        /// Most requests in flight to this endpoint at once. Default 16. Messages with the same
        /// ordering key are always sent one after another.
        public var concurrency: Int
        /// Time limits. Defaults: connect 10 s, total 30 s.
        public var timeouts: Timeouts
        /// Largest body sent, in bytes; a larger message fails permanently (dead letter).
        /// Default 1 MiB.
        public var maximumBodySize: Int
        /// Redirect handling. Default: not followed.
        public var redirects: Redirects
        /// TLS settings. Default: verification on with the system CA bundle, `http://` allowed.
        public var tls: TLS
        /// Address rules. Default: only public addresses.
        public var network: Network
        /// How many times a 4xx answer (other than 410 and 429) is retried before the message
        /// is dead-lettered: 1 (the default) dead-letters on the first 4xx. Counted per event id
        /// while the process runs.
        public var maximumClientErrorAttempts: Int
        /// Upper bound for a `Retry-After` hint the endpoint sends. Default 1 hour.
        public var maximumRetryAfter: Duration
        /// The `user-agent` header. Default `"outbox-relay"`.
        public var userAgent: String

        /// Creates a configuration; every parameter but `url` has the documented default.
        public init(
            url: String,
            bodyFormat: BodyFormat = .envelope,
            cloudEvents: CloudEvents = CloudEvents(),
            headers: [String: String] = [:],
            signing: Signing = Signing(),
            concurrency: Int = 16,
            timeouts: Timeouts = Timeouts(),
            maximumBodySize: Int = 1 << 20,
            redirects: Redirects = Redirects(),
            tls: TLS = TLS(),
            network: Network = Network(),
            maximumClientErrorAttempts: Int = 1,
            maximumRetryAfter: Duration = .seconds(3600),
            userAgent: String = "outbox-relay"
        ) {
            self.url = url
            self.bodyFormat = bodyFormat
            self.cloudEvents = cloudEvents
            self.headers = headers
            self.signing = signing
            self.concurrency = concurrency
            self.timeouts = timeouts
            self.maximumBodySize = maximumBodySize
            self.redirects = redirects
            self.tls = tls
            self.network = network
            self.maximumClientErrorAttempts = maximumClientErrorAttempts
            self.maximumRetryAfter = maximumRetryAfter
            self.userAgent = userAgent
        }

        /// Headers the transport sets itself; configured headers may not replace them.
        static let reservedHeaders: Set<String> = [
            "content-type", "content-length", "webhook-id", "webhook-timestamp", "webhook-signature",
            "host", "transfer-encoding", "expect",
        ]

        /// Checks the settings.
        /// - Throws: ``WebhookTransportError`` naming the first problem.
        public func validate() throws(WebhookTransportError) {
            let target = try WebhookURL(url)
            if tls.httpsOnly && !target.isHTTPS {
                throw WebhookTransportError(
                    code: .invalidURL,
                    message: "\(target.redacted) is not https:// and https_only is set"
                )
            }
            _ = try WebhookSigner(secrets: signing.secrets)
            for (name, value) in headers {
                let lowered = name.lowercased()
                guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenCharacter) else {
                    throw WebhookTransportError(
                        code: .invalidHeader,
                        message: "header name \"\(name)\" is not a valid HTTP token"
                    )
                }
                guard !Self.reservedHeaders.contains(lowered) else {
                    throw WebhookTransportError(
                        code: .invalidHeader,
                        message: "header \"\(name)\" is set by the transport and cannot be configured"
                    )
                }
                guard value.utf8.allSatisfy({ $0 != 0x0d && $0 != 0x0a && $0 != 0 }) else {
                    throw WebhookTransportError(
                        code: .invalidHeader,
                        message: "the value of header \"\(name)\" contains a line break"
                    )
                }
            }
            guard (1...1024).contains(concurrency) else {
                throw WebhookTransportError(
                    code: .invalidConfiguration,
                    message: "concurrency must be 1…1024, not \(concurrency)"
                )
            }
            guard timeouts.connect > .zero, timeouts.total > .zero else {
                throw WebhookTransportError(code: .invalidConfiguration, message: "timeouts must be positive")
            }
            guard maximumBodySize > 0 else {
                throw WebhookTransportError(code: .invalidConfiguration, message: "maximum body size must be positive")
            }
            guard redirects.maximum >= 0 else {
                throw WebhookTransportError(
                    code: .invalidConfiguration,
                    message: "maximum redirects must not be negative"
                )
            }
            guard maximumClientErrorAttempts >= 1 else {
                throw WebhookTransportError(
                    code: .invalidConfiguration,
                    message: "max client error attempts must be at least 1"
                )
            }
            guard userAgent.utf8.allSatisfy({ $0 != 0x0d && $0 != 0x0a && $0 != 0 }) else {
                throw WebhookTransportError(code: .invalidHeader, message: "the user agent contains a line break")
            }
        }

        private static func isTokenCharacter(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}
