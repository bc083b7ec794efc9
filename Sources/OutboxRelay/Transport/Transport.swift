/// A destination that messages are delivered to: Kafka, a webhook, an in-process consumer, a file.
///
/// ## Contract
///
/// The relay hands a transport **batches**: one call per batch, one result per message, in
/// batch order. For each destination the engine sends one batch at a time, in claim order,
/// and owns what happens after a failure (``HeldBackOrderingKeys``): it resends, per
/// ``OutboxMessage/orderingKey``, every message from the key's first failure on — also those
/// the transport reported delivered after it — and counts an attempt only against a message's
/// own failures, until each message is delivered or dead-lettered by its ``RetryPolicy``.
///
/// A transport therefore only sequences what it has in flight itself:
/// - It may deliver the messages of a batch concurrently, but not a message before the
///   earlier messages with its key were acknowledged.
/// - After one of them failed it should not send the later ones of that key (report them
///   ``DeliveryResult/retryable(_:retryAfter:)``, e.g. "not attempted"): they will be resent
///   after it. Sending them anyway is safe for the relay's last copy (at-least-once), but the
///   destination sees them out of order once.
/// - ``DeliveryResult/delivered`` only once the destination has the message durably;
///   ``DeliveryResult/permanent(_:)`` for messages that can never be accepted (they are
///   dead-lettered at once); ``DeliveryResult/retryable(_:retryAfter:)`` otherwise.
///
/// Transports own their C handles and threads; `deliver` must not block the cooperative
/// thread pool.
public protocol Transport: Sendable {
    /// The configured name routes refer to.
    var name: String { get }

    /// Prepares the transport (connects, starts threads) and checks that it can deliver.
    /// The engine calls it once before the first batch; `outbox-relay check` calls it too.
    /// - Throws: an error that says what is wrong (unreachable broker, bad certificate, …).
    func start() async throws

    /// Delivers a batch and returns exactly one result per message, in the same order.
    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult]

    /// Flushes what is in flight and releases resources. Called once, after the last batch.
    func shutdown() async

    /// Why the transport can no longer deliver anything until the relay is restarted (a
    /// webhook endpoint that answered 410 Gone), or `nil` while it can. Readiness checks
    /// (``RelayHealth/disabledTransports``) report it. Default `nil`.
    var disabledReason: String? { get }
}

extension Transport {
    public func start() async throws {}
    public func shutdown() async {}
    public var disabledReason: String? { nil }
}
