/// What one destination has parked for an outbox table, as `outbox-relay status` shows it
/// (``ParkedDeliveryStore/parkedSummary()``).
public struct ParkedQueueSummary: Sendable, Hashable {
    /// The transport whose messages wait.
    public var destination: String
    /// Parked entries.
    public var entries: Int
    /// Their stored payload bytes.
    public var bytes: Int
    /// The oldest entry's ``ParkedDelivery/firstFailedAt``: when the longest-waiting message was
    /// first not delivered. `nil` only for a destination without entries.
    public var oldestFirstFailedAt: Timestamp?
    /// The earliest ``ParkedDelivery/nextAttemptAt``: when the drain tries this destination next.
    public var nextAttemptAt: Timestamp?

    /// Creates a summary.
    public init(
        destination: String,
        entries: Int,
        bytes: Int,
        oldestFirstFailedAt: Timestamp?,
        nextAttemptAt: Timestamp?
    ) {
        self.destination = destination
        self.entries = entries
        self.bytes = bytes
        self.oldestFirstFailedAt = oldestFirstFailedAt
        self.nextAttemptAt = nextAttemptAt
    }

    /// Whether the destination's queue is at the relay's cap
    /// (``RelayEngine/Configuration/Parking-swift.struct``): a relay with these limits claims no
    /// more rows until the queue drains.
    public func isAtCap(_ limits: RelayEngine.Configuration.Parking) -> Bool {
        entries >= limits.maximumEntries || bytes >= limits.maximumBytes
    }
}

/// Which parked entries ``ParkedDeliveryStore/parkedDeliveries(matching:includingPayloads:)``
/// selects; every criterion left `nil` selects all. Entries come by `id` (per destination and
/// ordering key, outbox order), always of the source's own table.
public struct ParkedDeliveryFilter: Sendable, Hashable {
    /// Only entries of this destination (transport name).
    public var destination: String?
    /// Only entries whose event type matches.
    public var eventType: EventTypePattern?
    /// At most this many entries (after every other criterion).
    public var limit: Int?

    /// Creates a filter.
    public init(destination: String? = nil, eventType: EventTypePattern? = nil, limit: Int? = nil) {
        self.destination = destination
        self.eventType = eventType
        self.limit = limit
    }

    /// Whether `entry` meets every criterion but ``limit``. Sources may select in SQL first and
    /// check the rest (the event-type glob) with this.
    public func matches(_ entry: ParkedDelivery) -> Bool {
        if let destination, entry.destination != destination { return false }
        if let eventType, !eventType.matches(entry.eventType) { return false }
        return true
    }
}

/// A ``ParkedDeliveryStore`` that cannot answer an operator's query about its parked table (its
/// source implements only what relaying needs).
public struct ParkedQueryUnsupported: Error, Sendable, CustomStringConvertible {
    /// The source's flavour and table, for the message.
    public var source: String

    public init(source: String) { self.source = source }

    public var description: String {
        "the source for \(source) cannot list its parked deliveries yet; query the parked-deliveries table with SQL "
            + "(SELECT destination, count(*), min(first_failed_at) FROM outbox_relay_parked_deliveries "
            + "GROUP BY destination)"
    }
}
