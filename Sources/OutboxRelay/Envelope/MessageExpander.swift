/// Turns one decoded message into zero or more messages (EventSauce 0.x upcasting).
///
/// EventSauce 0.x upcasters could split one stored row into several messages when it was
/// read. Port such an upcaster to Swift and configure it on the relay to reproduce what the
/// PHP consumers saw. The default (no expander) forwards one message per row.
///
/// Expanders run on the relay's hot path: keep them free of I/O.
public protocol MessageExpander: Sendable {
    /// Returns the messages that replace `message`, in delivery order.
    /// - Throws: any error; the row is then set aside in the dead-letter table.
    func expand(_ message: OutboxMessage) throws -> [OutboxMessage]
}
