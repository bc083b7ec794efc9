/// A destination that messages are delivered to: Kafka, a webhook, an in-process consumer, a file.
///
/// The relay hands a transport **batches**: one call per batch, one result per message.
/// A transport may deliver the messages of a batch concurrently, but must keep the messages
/// that share an ``OutboxMessage/orderingKey`` in batch order: it must not deliver a message
/// before the earlier messages with its key were delivered. When one of them fails, report the
/// later ones with the same key as ``DeliveryResult/retryable(_:retryAfter:)`` (or leave them
/// unsent and report them so); the engine resends from the first failure of each key.
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
}

extension Transport {
    public func start() async throws {}
    public func shutdown() async {}
}
