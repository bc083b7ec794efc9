/// A source that reads one row of its table by id, whether it was delivered or not
/// (`outbox-relay explain --row`).
///
/// Like ``DeadLetterStore``, this works without `open()` and never takes the relay lock, so it
/// is safe while a relay runs on the same table. It reads and never marks.
public protocol OutboxRowLookup: Sendable {
    /// The row with this id as the relay would read it (payload bytes untouched, and for the
    /// `dispatcher` flavour its `time_of_recording`), delivered or not; `nil` when the table
    /// has no such row (or it was deleted after delivery).
    /// - Throws: a database error.
    func row(id: OutboxRowID) async throws -> OutboxRow?
}
