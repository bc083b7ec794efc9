import OutboxRelay

/// A transport's own part of `outbox-relay explain`.
///
/// `explain` decodes a row as the relay would, routes it, and for each destination whose
/// transport conforms asks it what it would send for the message — the Kafka transport names
/// the topic, key, partitioner, headers and value, the webhook transport the URL, headers and
/// body. Transports are created from the configuration but never started, and nothing is sent:
/// answer from the message and the transport's settings alone. Plugin transports conform the
/// same way (as with ``DestinationChecking`` for `check`).
public protocol DeliveryExplaining {
    /// What this transport would send for `message`, without sending anything.
    func explainDelivery(of message: OutboxMessage) -> DeliveryExplanation
}

/// What a transport would send for one message, as `explain` prints it.
public struct DeliveryExplanation: Sendable {
    /// The details in print order: `explain` prints each as a `name: value` line (objects and
    /// arrays as indented lines), and with `--json` as the destination's `delivery` object. Keep
    /// secrets out: print `***` for a header whose value may be one.
    public var details: JSONObject
    /// Set when the transport would refuse the message without sending it (too large, an
    /// invalid topic): the relay would then dead-letter it at once.
    public var refusal: String?

    /// Creates an explanation.
    public init(details: JSONObject = [:], refusal: String? = nil) {
        self.details = details
        self.refusal = refusal
    }
}
