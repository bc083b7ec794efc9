/// One entry of the dead-letter table, as `outbox-relay dlq` lists it.
public struct DeadLetterEntry: Sendable, Hashable {
    /// The entry's key in the dead-letter table (`id`).
    public var id: Int64
    /// The outbox table the row came from (`source_table`).
    public var sourceTable: String
    /// The dead letter itself. `payload` is empty when the entries were read without payloads.
    public var deadLetter: DeadLetter

    /// Creates an entry.
    public init(id: Int64, sourceTable: String, deadLetter: DeadLetter) {
        self.id = id
        self.sourceTable = sourceTable
        self.deadLetter = deadLetter
    }

    /// Why the entry was set aside, from the columns every source writes.
    public var reason: DeadLetterReason {
        if deadLetter.destination != nil { return .failed }
        return deadLetter.eventType == nil ? .undecodable : .unrouted
    }
}

/// Why a dead letter was written, as `dlq list --reason` filters it.
public enum DeadLetterReason: String, Sendable, Hashable, CaseIterable {
    /// The row could not be decoded (no event type, no destination).
    case undecodable
    /// The row decoded but no route matched its event type (no destination).
    case unrouted
    /// A transport gave up on the message (the entry names the destination).
    case failed
}

/// Which dead-letter entries an operation selects. Every criterion left `nil` selects all.
///
/// Entries always belong to the source's own table (`source_table`); they come oldest first
/// (by `id`).
public struct DeadLetterFilter: Sendable, Hashable {
    /// Only entries for this destination (transport name).
    public var destination: String?
    /// Only entries whose event type matches (undecodable entries have none and never match).
    public var eventType: EventTypePattern?
    /// Only entries set aside for this reason.
    public var reason: DeadLetterReason?
    /// Only entries whose last failure is at or after this time.
    public var since: Timestamp?
    /// Only entries whose last failure is before this time.
    public var until: Timestamp?
    /// At most this many entries (after every other criterion).
    public var limit: Int?

    /// Creates a filter.
    public init(
        destination: String? = nil,
        eventType: EventTypePattern? = nil,
        reason: DeadLetterReason? = nil,
        since: Timestamp? = nil,
        until: Timestamp? = nil,
        limit: Int? = nil
    ) {
        self.destination = destination
        self.eventType = eventType
        self.reason = reason
        self.since = since
        self.until = until
        self.limit = limit
    }

    /// Whether `entry` meets every criterion but ``limit``. Sources may select in SQL first and
    /// check the rest (the event-type glob) with this.
    public func matches(_ entry: DeadLetterEntry) -> Bool {
        if let destination, entry.deadLetter.destination != destination { return false }
        if let reason, entry.reason != reason { return false }
        if let eventType {
            guard let type = entry.deadLetter.eventType, eventType.matches(type) else { return false }
        }
        if let since, entry.deadLetter.lastFailedAt < since { return false }
        if let until, !(entry.deadLetter.lastFailedAt < until) { return false }
        return true
    }
}

/// A source whose dead-letter table operators can read and prune (`outbox-relay dlq`).
///
/// Like ``OutboxStatusReporting``, these work without `open()` and never take the relay lock,
/// so they are safe while a relay runs on the same table.
public protocol DeadLetterStore: Sendable {
    /// The entries of this source's table that `filter` selects, oldest first, with or
    /// without their stored payloads. An absent dead-letter table has no entries.
    func deadLetters(matching filter: DeadLetterFilter, includingPayloads: Bool) async throws -> [DeadLetterEntry]

    /// One entry of this source's table with its payload, `nil` if there is none with that id.
    func deadLetter(id: Int64) async throws -> DeadLetterEntry?

    /// Deletes these entries (of this source's table only) and returns how many were deleted.
    func deleteDeadLetters(ids: [Int64]) async throws -> Int
}

extension DeadLetterReason {
    /// The SQL condition on the dead-letter columns that selects this reason (the same text
    /// in every dialect; it names only the relay's own columns).
    public var sqlCondition: String {
        switch self {
        case .undecodable: return "destination IS NULL AND event_type IS NULL"
        case .unrouted: return "destination IS NULL AND event_type IS NOT NULL"
        case .failed: return "destination IS NOT NULL"
        }
    }
}
