import CoreMetrics
import Logging

/// Delivers messages to one HTTP endpoint as signed webhooks, through libcurl's multi interface.
///
/// Each message becomes a `POST` with `content-type: application/json` (or
/// `application/cloudevents+json`), the configured static headers and the Standard Webhooks
/// headers: `webhook-id` (the event id, the same on every retry and after restarts),
/// `webhook-timestamp` (unix seconds when the request starts) and `webhook-signature`
/// (`v1,<base64 HMAC-SHA256>` per configured secret).
///
/// One transport runs one thread with one curl multi handle: connections are reused, HTTP/2
/// is used where the server offers it over TLS, and at most
/// ``Configuration-swift.struct/concurrency`` requests are in flight. A batch is handed to
/// that thread once and its results come back together. Messages with the same
/// ``OutboxMessage/orderingKey`` are sent one after another; after one fails, the later
/// ones of that key are not sent and are reported retryable.
///
/// Results: 2xx is delivered; 429, 5xx, timeouts and connection errors are retryable (with
/// the `Retry-After` hint); 410 Gone disables the endpoint (logged as critical; its
/// messages are then dead-lettered); other 4xx are retryable until
/// ``Configuration-swift.struct/maximumClientErrorAttempts`` and then permanent; an
/// unfollowed 3xx is permanent. When the endpoint cannot be reached at all (connection
/// refused, DNS failure, connect timeout, an address the guard refuses), the messages of the
/// batches already queued are reported retryable without being sent, so a dead endpoint costs
/// one round of requests per batch, not one connect timeout per message. HTTP error answers
/// never cause that: only the failing message (and the later ones of its key) are retried.
///
/// Call ``shutdown()`` when done: it stops the transport's thread.
public final class WebhookTransport: Transport {
    /// The configured name routes refer to.
    public let name: String
    /// The settings this transport was created with.
    public let configuration: Configuration
    private let target: WebhookURL
    let encoder: WebhookBodyEncoder
    private let loop: CurlMultiLoop
    let logger: Logger

    /// Creates the transport and its thread; nothing is sent until ``deliver(_:)``.
    /// - Parameter metrics: where ``WebhookMetrics`` go; by default swift-metrics' global factory
    ///   as bootstrapped when ``start()`` (or the first ``deliver(_:)``) runs.
    /// - Throws: ``WebhookTransportError`` when the configuration is invalid (bad URL,
    ///   secret or header) or libcurl cannot be initialised.
    public init(
        name: String,
        configuration: Configuration,
        metrics: (any MetricsFactory)? = nil,
        logger: Logger = Logger(label: "outbox-relay.webhook")
    ) throws(WebhookTransportError) {
        try configuration.validate()
        let target = try WebhookURL(configuration.url)
        self.name = name
        self.configuration = configuration
        self.target = target
        self.logger = logger
        self.encoder = WebhookBodyEncoder(
            format: configuration.bodyFormat,
            cloudEventsSource: configuration.cloudEvents.source
        )
        let timeoutText =
            "connect \(Self.describe(configuration.timeouts.connect)), "
            + "total \(Self.describe(configuration.timeouts.total))"
        let settings = CurlMultiLoopSettings(
            transportName: name,
            redactedURL: target.redacted,
            endpoint: CurlEndpointSettings(
                url: configuration.url,
                connectTimeoutMilliseconds: Self.milliseconds(configuration.timeouts.connect),
                totalTimeoutMilliseconds: Self.milliseconds(configuration.timeouts.total),
                redirectPolicy: configuration.redirects.follow
                    ? WebhookRedirectPolicy(
                        maximumRedirects: configuration.redirects.maximum,
                        allowsInsecure: configuration.redirects.allowInsecure,
                        httpsOnly: configuration.tls.httpsOnly
                    ) : nil,
                caFile: configuration.tls.caFile,
                httpsOnly: configuration.tls.httpsOnly,
                guardPrivateAddresses: !configuration.network.allowPrivateNetworks,
                userAgent: configuration.userAgent
            ),
            concurrency: configuration.concurrency,
            contentType: encoder.contentType,
            staticHeaders: configuration.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" },
            signer: try WebhookSigner(secrets: configuration.signing.secrets),
            classifier: WebhookResponseClassifier(
                maximumClientErrorAttempts: configuration.maximumClientErrorAttempts,
                maximumRetryAfter: configuration.maximumRetryAfter,
                timeoutDescription: timeoutText
            ),
            metricsFactory: metrics
        )
        self.loop = try CurlMultiLoop(settings: settings, logger: logger)
    }

    /// The endpoint URL with user info removed and query values masked, safe for logs.
    public var redactedURL: String { target.redacted }

    /// Whether the endpoint answered 410 Gone; every message is then dead-lettered.
    public var isDisabled: Bool { loop.isDisabled }

    /// Set once the endpoint answered 410 Gone (see ``isDisabled``): readiness reports it.
    public var disabledReason: String? {
        isDisabled ? "the endpoint \(target.redacted) answered 410 Gone; restart the relay with a new URL" : nil
    }

    /// Checks that the endpoint's host resolves and, unless private networks are allowed,
    /// that it resolves to at least one public address. Sends nothing.
    /// - Throws: ``WebhookTransportError`` `.privateAddressRefused` when every address is
    ///   loopback, private or link-local. A host that does not resolve is only logged: DNS may
    ///   recover, and deliveries report it as retryable.
    public func start() async throws {
        loop.bindMetrics()
        let host = target.host
        let port = target.port
        let addresses = await loop.perform { PrivateAddressGuard.resolve(host, port: port) }
        guard let resolved = addresses ?? nil, !resolved.isEmpty else {
            logger.warning(
                "webhook host does not resolve yet; deliveries will be retried",
                metadata: [
                    "destination": "\(name)", "url": "\(target.redacted)",
                ]
            )
            return
        }
        guard !configuration.network.allowPrivateNetworks else { return }
        let refused = resolved.compactMap { address in
            PrivateAddressGuard.nonPublicReason(address).map { "\(PrivateAddressGuard.text(address)) (\($0))" }
        }
        if refused.count == resolved.count {
            throw WebhookTransportError(
                code: .privateAddressRefused,
                message:
                    "transport \(name): \(target.redacted) resolves only to non-public addresses: "
                    + "\(refused.joined(separator: ", ")). Set allow_private_networks: true if this is intended"
            )
        }
    }

    /// Sends a batch and returns one result per message, in order. Never blocks a
    /// cooperative thread: the batch is handed to the transport's thread and this awaits it.
    public func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        loop.bindMetrics()
        return await loop.deliver(batch.map(prepare))
    }

    /// Waits for the requests in flight, then stops the thread and releases libcurl's handles.
    public func shutdown() async {
        await loop.shutdown()
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int(duration.milliseconds))
    }

    private static func describe(_ duration: Duration) -> String {
        let milliseconds = milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
