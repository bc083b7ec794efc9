/// A message one destination did not take within its in-window budget
/// (``RetryPolicy/parkAfter``), kept in the parked-deliveries table until that destination
/// has it or it is dead-lettered.
///
/// The outbox row it came from is marked (or deleted) in the same source transaction that
/// writes the entry, so healthy destinations and the read cursor move on. The destination's
/// parked queue is drained oldest first per ordering key (``ParkedDrainRound``); while an
/// ordering key has parked entries for a destination, its later messages for that destination
/// are parked behind them.
public struct ParkedDelivery: Sendable, Hashable {
    /// The entry's key in the parked table (`id`); `nil` before it is written. Entries of one
    /// destination and ordering key are written in outbox order, so `id` orders them.
    public var id: Int64?
    /// The transport that has not delivered the message.
    public var destination: String
    /// The outbox row the message came from.
    public var rowID: OutboxRowID
    /// `__event_id` (or the derived id).
    public var eventID: String
    /// `__event_type`.
    public var eventType: String
    /// ``OutboxMessage/orderingKey``: the aggregate (or the event, for messages of none).
    public var orderingKey: String
    /// The message's envelope as it is forwarded: the stored `payload` column, byte for byte,
    /// for a row that is one message (an expanded message's own envelope otherwise).
    public var payload: [UInt8]
    /// Delivery attempts made so far (0 for a message parked behind an earlier one).
    public var attempts: Int
    /// Why the last attempt failed (or why it was parked without one).
    public var lastError: String
    /// When the message was first not delivered: ``RetryPolicy/maximumAge`` counts from here.
    public var firstFailedAt: Timestamp
    /// When the next attempt is due (only the oldest entry of an ordering key is attempted).
    public var nextAttemptAt: Timestamp
    /// Whether ``payload`` is the row's stored `payload` column byte for byte (a row that is one
    /// message): a source may then copy it from the outbox row in the completing transaction
    /// instead of sending it (``ParkedDeliveryStore/complete(rows:deadLetters:parked:)``). Not
    /// stored; `false` for entries read back.
    public var payloadIsRowPayload: Bool

    /// Creates an entry.
    public init(
        id: Int64? = nil,
        destination: String,
        rowID: OutboxRowID,
        eventID: String,
        eventType: String,
        orderingKey: String,
        payload: [UInt8],
        attempts: Int,
        lastError: String,
        firstFailedAt: Timestamp,
        nextAttemptAt: Timestamp,
        payloadIsRowPayload: Bool = false
    ) {
        self.id = id
        self.destination = destination
        self.rowID = rowID
        self.eventID = eventID
        self.eventType = eventType
        self.orderingKey = orderingKey
        self.payload = payload
        self.attempts = attempts
        self.lastError = lastError
        self.firstFailedAt = firstFailedAt
        self.nextAttemptAt = nextAttemptAt
        self.payloadIsRowPayload = payloadIsRowPayload
    }

    /// Parks `message` for `destination`; `isRowPayload` when its envelope is its row's stored
    /// payload (the batch was planned without an expander).
    init(
        _ message: OutboxMessage,
        destination: String,
        attempts: Int,
        lastError: String,
        firstFailedAt: Timestamp,
        nextAttemptAt: Timestamp,
        isRowPayload: Bool
    ) {
        self.init(
            destination: destination,
            rowID: message.rowID,
            eventID: message.eventID,
            eventType: message.eventType,
            orderingKey: message.orderingKey,
            payload: message.envelope,
            attempts: attempts,
            lastError: lastError,
            firstFailedAt: firstFailedAt,
            nextAttemptAt: nextAttemptAt,
            payloadIsRowPayload: isRowPayload
        )
    }

    /// The dead letter this entry becomes when its destination gives up on it.
    public func deadLetter(reason: String, attempts: Int, at now: Timestamp) -> DeadLetter {
        DeadLetter(
            rowID: rowID,
            payload: payload,
            eventID: eventID,
            eventType: eventType,
            destination: destination,
            attempts: attempts,
            lastError: reason,
            firstFailedAt: firstFailedAt,
            lastFailedAt: now
        )
    }

    /// The name of the parked-deliveries table every source writes to.
    public static let defaultTable = "outbox_relay_parked_deliveries"
}

/// How many entries (and payload bytes) one ordering key has parked for one destination: what a
/// relay loads on start to know which keys must park their later messages.
public struct ParkedBacklog: Sendable, Hashable {
    public var destination: String
    public var orderingKey: String
    public var entries: Int
    public var bytes: Int

    public init(destination: String, orderingKey: String, entries: Int, bytes: Int) {
        self.destination = destination
        self.orderingKey = orderingKey
        self.entries = entries
        self.bytes = bytes
    }
}

/// What one drain round of a destination's parked queue did, written in one source transaction.
public struct ParkedSettlement: Sendable, Hashable {
    /// A parked entry that failed again and waits for its next attempt.
    public struct Retry: Sendable, Hashable {
        public var id: Int64
        public var attempts: Int
        public var lastError: String
        public var nextAttemptAt: Timestamp

        public init(id: Int64, attempts: Int, lastError: String, nextAttemptAt: Timestamp) {
            self.id = id
            self.attempts = attempts
            self.lastError = lastError
            self.nextAttemptAt = nextAttemptAt
        }
    }

    /// Entries the destination acknowledged: deleted.
    public var delivered: [Int64]
    /// Entries that failed and stay parked, with their new attempt count and due time.
    public var retries: [Retry]
    /// Entries given up on: each written to the dead-letter table and deleted.
    public var deadLettered: [(id: Int64, deadLetter: DeadLetter)]

    public init(
        delivered: [Int64] = [],
        retries: [Retry] = [],
        deadLettered: [(id: Int64, deadLetter: DeadLetter)] = []
    ) {
        self.delivered = delivered
        self.retries = retries
        self.deadLettered = deadLettered
    }

    public var isEmpty: Bool { delivered.isEmpty && retries.isEmpty && deadLettered.isEmpty }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.delivered == rhs.delivered && lhs.retries == rhs.retries
            && lhs.deadLettered.map(\.id) == rhs.deadLettered.map(\.id)
            && lhs.deadLettered.map(\.deadLetter) == rhs.deadLettered.map(\.deadLetter)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(delivered)
        hasher.combine(retries)
        hasher.combine(deadLettered.map(\.id))
    }
}
