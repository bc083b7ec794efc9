/// The generation of EventSauce outbox table a source reads.
///
/// - ``dispatcher``: `eventsauce/doctrine-outbox-message-dispatcher` 0.1 (EventSauce 0.7/0.8),
///   default table `messages_outbox (id, payload, time_of_recording, dispatched, time_of_dispatching)`,
///   relayed in `time_of_recording` order.
/// - ``outbox``: `eventsauce/message-outbox` for Doctrine (EventSauce 1.x – 3.x), default table
///   `outbox_messages (id, consumed, payload)`, relayed in `id` order.
public enum OutboxFlavour: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case dispatcher
    case outbox

    /// The table name PHP uses when the application does not configure one.
    public var defaultTable: String {
        switch self {
        case .dispatcher: return "messages_outbox"
        case .outbox: return "outbox_messages"
        }
    }

    public var description: String { rawValue }
}

/// What a source does with a row once every destination has it.
public enum AfterDelivery: String, Sendable, Hashable, CaseIterable {
    /// Keep PHP's semantics: `dispatched = true` and `time_of_dispatching = now`, or `consumed = true`.
    case mark
    /// Delete the row.
    case delete
}
