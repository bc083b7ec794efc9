import OutboxRelay
import Synchronization

/// An in-process consumer that counts the messages and envelope bytes it is handed: the
/// cheapest possible destination, so the benchmark measures the relay, not the consumer.
public final class CountingConsumer: MessageConsumer {
    private let messageCount = Atomic<Int>(0)
    private let byteCount = Atomic<Int>(0)

    public init() {}

    /// Messages handled so far.
    public var messages: Int { messageCount.load(ordering: .relaxed) }
    /// Envelope bytes handled so far (equals the stored payload bytes: no expander is set).
    public var bytes: Int { byteCount.load(ordering: .relaxed) }

    public func handle(_ message: OutboxMessage) async throws {
        messageCount.wrappingAdd(1, ordering: .relaxed)
        byteCount.wrappingAdd(message.envelope.count, ordering: .relaxed)
    }
}
