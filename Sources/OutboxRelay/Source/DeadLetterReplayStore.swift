/// What replaying dead letters (`outbox-relay dlq replay`) did, to record in one transaction.
public struct DeadLetterReplayRecord: Sendable, Hashable {
    /// Entries whose messages were delivered: they leave the table.
    public var delivered: [Int64]
    /// Entries that failed again, rewritten in place (same ``DeadLetterEntry/id``): `event_id`,
    /// `event_type`, `destination`, `attempts`, `last_error` and `last_failed_at` take the
    /// entry's values; `first_failed_at` and the payload stay.
    public var failed: [DeadLetterEntry]
    /// Failures that no selected entry stands for (a row decoded again that now fails at a
    /// further destination): new entries.
    public var added: [DeadLetter]

    /// Creates a record.
    public init(delivered: [Int64] = [], failed: [DeadLetterEntry] = [], added: [DeadLetter] = []) {
        self.delivered = delivered
        self.failed = failed
        self.added = added
    }

    /// Whether there is nothing to record.
    public var isEmpty: Bool { delivered.isEmpty && failed.isEmpty && added.isEmpty }
}

/// A dead-letter store that can record the outcome of a replay.
///
/// Like the rest of ``DeadLetterStore`` this works without `open()` and never takes the relay
/// lock; it touches only the entries named (of this source's table), so it is safe while a
/// relay runs on the same table and adds entries of its own.
public protocol DeadLetterReplayStore: DeadLetterStore {
    /// Deletes the delivered entries, rewrites the failed ones and inserts the added ones, in
    /// one transaction.
    /// - Throws: a database error; then nothing was recorded.
    func recordReplay(_ record: DeadLetterReplayRecord) async throws
}
