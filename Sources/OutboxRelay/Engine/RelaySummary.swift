import Logging

/// What a relay run did: counts since it started.
public struct RelaySummary: Sendable, Hashable, CustomStringConvertible {
    /// Rows marked or deleted (delivered, set aside or skipped).
    public var rowsCompleted = 0
    /// Messages the rows expanded into.
    public var messages = 0
    /// Successful deliveries (one per message and destination).
    public var deliveries = 0
    /// Dead letters written (undecodable rows, failed deliveries, dead-lettered unrouted messages).
    public var deadLetters = 0
    /// Rows that could not be decoded (counted in ``deadLetters`` too).
    public var undecodableRows = 0
    /// Messages no route matched that were skipped.
    public var skippedUnrouted = 0
    /// Rows that were in flight when the relay stopped; they stay undelivered and are
    /// relayed again next time.
    public var rowsLeftInFlight = 0
    /// Messages parked for a destination that had not delivered them within its in-window
    /// budget (``RetryPolicy/parkAfter``), including those parked behind them.
    public var parked = 0
    /// Parked messages that their destination later acknowledged from the parked queue (also
    /// counted in ``deliveries``).
    public var parkedDelivered = 0

    public init() {}

    /// The counts as log metadata (`rows_completed`, `messages`, `deliveries`, `dead_letters`,
    /// `undecodable_rows`, `skipped_unrouted`, `rows_left_in_flight`, `parked`, `parked_delivered`).
    public var logMetadata: Logger.Metadata {
        [
            "rows_completed": "\(rowsCompleted)", "messages": "\(messages)", "deliveries": "\(deliveries)",
            "dead_letters": "\(deadLetters)", "undecodable_rows": "\(undecodableRows)",
            "skipped_unrouted": "\(skippedUnrouted)", "rows_left_in_flight": "\(rowsLeftInFlight)",
            "parked": "\(parked)", "parked_delivered": "\(parkedDelivered)",
        ]
    }

    public var description: String {
        var text = "\(rowsCompleted) rows, \(messages) messages, \(deliveries) deliveries, \(deadLetters) dead letters"
        if undecodableRows > 0 { text += " (\(undecodableRows) undecodable rows)" }
        if skippedUnrouted > 0 { text += ", \(skippedUnrouted) unrouted skipped" }
        if rowsLeftInFlight > 0 { text += ", \(rowsLeftInFlight) rows left for redelivery" }
        if parked > 0 || parkedDelivered > 0 {
            text += ", \(parked) parked, \(parkedDelivered) delivered from the parked queue"
        }
        return text
    }
}
