import OutboxHTTP
import OutboxRelay

/// `type: http` — signed webhooks through libcurl; see ``WebhookTransport``.
///
/// Keys (defaults in brackets): `url` (required), `body` [`envelope`] (`envelope` | `payload` |
/// `cloudevents`), `cloudevents` {`source` [`outbox-relay`]}, `headers` [none], `secrets`
/// (`whsec_…`, a list for rotation) [none], `concurrency` [16], `connect_timeout` [10s],
/// `timeout` [30s], `max_body_size` [1048576], `follow_redirects` [false], `max_redirects` [5],
/// `allow_insecure_redirects` [false], `ca_file` [system bundle], `https_only` [false],
/// `allow_private_networks` [false], `max_client_error_attempts` [1], `max_retry_after` [1h],
/// `user_agent` [`outbox-relay`].
enum HTTPTransportConfig: TransportConfigParser {
    static let type = "http"
    static let keys: Set<String> = [
        "url", "body", "cloudevents", "headers", "secrets", "concurrency", "connect_timeout", "timeout",
        "max_body_size", "follow_redirects", "max_redirects", "allow_insecure_redirects", "ca_file", "https_only",
        "allow_private_networks",
        "max_client_error_attempts", "max_retry_after", "user_agent",
    ]

    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
        let configuration = try configuration(node)
        do {
            return try WebhookTransport(name: name, configuration: configuration)
        } catch {
            throw ConfigError(keyPath: node.keyPath(key(for: error.code)), problem: error.message)
        }
    }

    /// The transport configuration `node` describes.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func configuration(_ node: ConfigNode) throws -> WebhookTransport.Configuration {
        var configuration = WebhookTransport.Configuration(url: try node.requiredString("url"))
        if let body = try node.choice("body", as: WebhookTransport.Configuration.BodyFormat.self) {
            configuration.bodyFormat = body
        }
        if let cloudEvents = try node.child("cloudevents") {
            try cloudEvents.rejectUnknownKeys(["source"])
            if let source = try cloudEvents.string("source") { configuration.cloudEvents.source = source }
        }
        if let headers = try node.stringMap("headers") { configuration.headers = headers }
        if let secrets = try node.stringList("secrets") { configuration.signing.secrets = secrets }
        if let concurrency = try node.int("concurrency") {
            guard (1...1024).contains(concurrency) else {
                throw ConfigError(
                    keyPath: node.keyPath("concurrency"),
                    problem: "must be between 1 and 1024, not \(concurrency)"
                )
            }
            configuration.concurrency = concurrency
        }
        if let timeout = try node.duration("connect_timeout") {
            guard timeout > .zero else {
                throw ConfigError(keyPath: node.keyPath("connect_timeout"), problem: "must be positive")
            }
            configuration.timeouts.connect = timeout
        }
        if let timeout = try node.duration("timeout") {
            guard timeout > .zero else {
                throw ConfigError(keyPath: node.keyPath("timeout"), problem: "must be positive")
            }
            configuration.timeouts.total = timeout
        }
        if let size = try node.int("max_body_size") {
            guard size > 0 else {
                throw ConfigError(keyPath: node.keyPath("max_body_size"), problem: "must be a positive number of bytes")
            }
            configuration.maximumBodySize = size
        }
        if let follow = try node.bool("follow_redirects") { configuration.redirects.follow = follow }
        if let maximum = try node.int("max_redirects") {
            guard maximum >= 0 else {
                throw ConfigError(keyPath: node.keyPath("max_redirects"), problem: "must not be negative")
            }
            configuration.redirects.maximum = maximum
        }
        if let allow = try node.bool("allow_insecure_redirects") { configuration.redirects.allowInsecure = allow }
        if let caFile = try node.string("ca_file") { configuration.tls.caFile = caFile }
        if let httpsOnly = try node.bool("https_only") { configuration.tls.httpsOnly = httpsOnly }
        if let allow = try node.bool("allow_private_networks") { configuration.network.allowPrivateNetworks = allow }
        if let attempts = try node.int("max_client_error_attempts") {
            guard attempts >= 1 else {
                throw ConfigError(keyPath: node.keyPath("max_client_error_attempts"), problem: "must be at least 1")
            }
            configuration.maximumClientErrorAttempts = attempts
        }
        if let maximum = try node.duration("max_retry_after") { configuration.maximumRetryAfter = maximum }
        if let userAgent = try node.string("user_agent") { configuration.userAgent = userAgent }
        do {
            try configuration.validate()
        } catch {
            throw ConfigError(keyPath: node.keyPath(key(for: error.code)), problem: error.message)
        }
        return configuration
    }

    private static func key(for code: WebhookTransportError.Code) -> String {
        switch code {
        case .invalidURL: return "url"
        case .invalidSecret: return "secrets"
        case .invalidHeader: return "headers"
        default: return "type"
        }
    }
}
