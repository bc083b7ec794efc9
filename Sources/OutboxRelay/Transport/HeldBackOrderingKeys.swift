/// The per-aggregate ordering rule, written once: after a message of an ordering key failed,
/// the later messages with that key wait — they are not handed on, and are resent after it.
///
/// The engine applies it between delivery rounds (a key's messages from its first failure on
/// are sent again, even those reported delivered after it). A transport that hands messages
/// on one after another within a batch (``SynchronousDispatcher``) applies it to what it has
/// in flight, so a consumer never sees a later message of an aggregate before an earlier one.
public struct HeldBackOrderingKeys: Sendable {
    private var keys: Set<String> = []

    public init() {}

    /// Whether `message` must wait because an earlier message of its key failed.
    public func holdsBack(_ message: OutboxMessage) -> Bool {
        !keys.isEmpty && keys.contains(message.orderingKey)
    }

    /// Records that `message` failed: the later messages of its key wait.
    public mutating func holdBack(after message: OutboxMessage) {
        keys.insert(message.orderingKey)
    }

    /// Whether no key is held back.
    public var isEmpty: Bool { keys.isEmpty }
}
