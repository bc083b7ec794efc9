/// A row, or one of its messages, that the relay set aside instead of delivering.
///
/// Sources store dead letters in `outbox_relay_dead_letters` in the same transaction that
/// marks (or deletes) the row, so a row is never marked without its failure recorded.
public struct DeadLetter: Sendable, Hashable {
    /// The outbox row the failure belongs to.
    public var rowID: OutboxRowID
    /// The stored `payload` column of that row, untouched; empty when
    /// ``payloadStaysInOutbox``.
    public var payload: [UInt8]
    /// The payload was never loaded (see ``OutboxRow/oversizedPayload``): the source copies it
    /// from the outbox row into the dead-letter table itself (`INSERT … SELECT`), in the same
    /// transaction that marks the row, so the relay never holds it.
    public var payloadStaysInOutbox: Bool
    /// The event id of the failed message, when the row could be decoded.
    public var eventID: String?
    /// The event type of the failed message, when the row could be decoded.
    public var eventType: String?
    /// The transport that failed, or `nil` when the row could not be decoded or routed.
    public var destination: String?
    /// How many delivery attempts were made (0 for rows that were never sent).
    public var attempts: Int
    /// Why the message was set aside.
    public var lastError: String
    /// When the first attempt failed.
    public var firstFailedAt: Timestamp
    /// When the last attempt failed.
    public var lastFailedAt: Timestamp

    public init(
        rowID: OutboxRowID,
        payload: [UInt8],
        eventID: String? = nil,
        eventType: String? = nil,
        destination: String?,
        attempts: Int,
        lastError: String,
        firstFailedAt: Timestamp,
        lastFailedAt: Timestamp,
        payloadStaysInOutbox: Bool = false
    ) {
        self.rowID = rowID
        self.payload = payload
        self.payloadStaysInOutbox = payloadStaysInOutbox
        self.eventID = eventID
        self.eventType = eventType
        self.destination = destination
        self.attempts = attempts
        self.lastError = lastError
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
    }

    /// The name of the dead-letter table every source writes to.
    public static let defaultTable = "outbox_relay_dead_letters"
}
