/// A snapshot of an outbox table's state, as `outbox-relay status` prints it.
public struct OutboxStatus: Sendable, Hashable {
    /// Undelivered rows (not yet marked or deleted).
    public var backlog: Int
    /// How long ago the oldest undelivered row was recorded, `nil` when the backlog is empty
    /// or the time is unknown.
    public var oldestUndeliveredAge: Duration?
    /// Rows of this table in the dead-letter table (0 when that table does not exist yet).
    public var deadLetters: Int
    /// Who holds the relay lock on this table (e.g. `outbox-relay host pid 42 (backend 1234,
    /// 127.0.0.1, since …)`), `nil` when no relay holds it or the source has no lock.
    public var lockHolder: String?

    /// Creates a snapshot.
    public init(backlog: Int, oldestUndeliveredAge: Duration?, deadLetters: Int, lockHolder: String?) {
        self.backlog = backlog
        self.oldestUndeliveredAge = oldestUndeliveredAge
        self.deadLetters = deadLetters
        self.lockHolder = lockHolder
    }
}

/// A source that can report an ``OutboxStatus`` without taking part in relaying.
public protocol OutboxStatusReporting: Sendable {
    /// Reads the table's state. Works without `open()` and never takes the relay lock.
    /// - Throws: a database error (unreachable server, missing table, …).
    func status() async throws -> OutboxStatus
}
