/// A source that reads the rows of its table whether they were delivered or not: one by id
/// (`outbox-relay explain --row`) or all of them in relay order (`outbox-relay replay`).
///
/// Like ``DeadLetterStore``, this works without `open()` and never takes the relay lock, so it
/// is safe while a relay runs on the same table. It reads and never marks.
public protocol OutboxRowLookup: Sendable {
    /// The row with this id as the relay would read it (payload bytes untouched, and for the
    /// `dispatcher` flavour its `time_of_recording`), delivered or not; `nil` when the table
    /// has no such row (or it was deleted after delivery).
    /// - Throws: a database error.
    func row(id: OutboxRowID) async throws -> OutboxRow?

    /// Up to `limit` rows in relay order after `cursor` (from the first row when `nil`),
    /// delivered or not: `outbox` by id, `dispatcher` by (`time_of_recording`, id).
    /// - Throws: a database error.
    func rows(after cursor: OutboxCursor?, limit: Int) async throws -> [OutboxRow]
}
