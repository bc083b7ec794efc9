/// Swift code that consumes outbox messages in-process: the counterpart of EventSauce's
/// PHP `MessageConsumer`.
///
/// Register consumers on a ``SynchronousDispatcher``. Throwing makes the delivery fail:
/// throw ``PermanentDeliveryError`` for a message that can never be handled (it goes to the
/// dead-letter table); any other error is retried with the transport's ``RetryPolicy``.
public protocol MessageConsumer: Sendable {
    /// Handles one message. Called once per delivery attempt, in outbox order per aggregate.
    /// - Throws: ``PermanentDeliveryError`` to dead-letter the message, anything else to retry it.
    func handle(_ message: OutboxMessage) async throws
}

/// Thrown by a ``MessageConsumer`` for a message that must not be retried.
public struct PermanentDeliveryError: Error, Sendable, CustomStringConvertible {
    /// Why the message can never be handled.
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// A ``MessageConsumer`` made from a closure.
public struct MessageConsumerClosure: MessageConsumer {
    private let body: @Sendable (OutboxMessage) async throws -> Void

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable (OutboxMessage) async throws -> Void) {
        self.body = body
    }

    public func handle(_ message: OutboxMessage) async throws {
        try await body(message)
    }
}
