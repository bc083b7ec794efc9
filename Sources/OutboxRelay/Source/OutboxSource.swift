/// Reads an outbox table and records what became of its rows.
///
/// Implementations own their database handle on a dedicated thread (see
/// ``DedicatedThreadExecutor``) and keep PHP's semantics for marking rows.
/// The engine calls `open` first and `close` last. In between it runs at most one `fetch`
/// at a time, but beside it the `complete` calls of earlier batches (one per batch in flight)
/// and `waitForRows`: implementations serialise on their own thread.
public protocol OutboxSource: Sendable {
    /// The table flavour this source reads.
    var flavour: OutboxFlavour { get }
    /// The table name as configured (used in derived event ids and dead letters).
    var table: String { get }

    /// Connects and checks the table, and for sources that allow only one active relay per
    /// table, waits until this relay is the active one.
    /// - Throws: an error naming what is wrong (credentials, missing table or column, …).
    func open() async throws

    /// Reads up to `limit` undelivered rows in relay order, starting after `cursor`
    /// (from the first undelivered row when `nil`).
    /// - Throws: a database error; the engine retries with backoff.
    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow]

    /// Reads like ``fetch(limit:after:)``, but stops once the rows read hold `maximumBytes` of
    /// payload or more (always at least one row): the row that reaches the bound is the last.
    /// The engine passes what is left of its byte bound for rows in flight
    /// (``RelayEngine/Configuration/maximumBytesInFlight``); sources that can, apply it in the
    /// read query so that no more crosses the connection. The default reads by rows alone.
    /// - Throws: a database error; the engine retries with backoff.
    func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow]

    /// Records dead letters and marks (or deletes, per configuration) the rows, atomically.
    /// - Throws: a database error; the engine retries with backoff, and rows stay undelivered
    ///   until it succeeds.
    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws

    /// Returns when new rows may have arrived, or after `timeout`, whichever comes first.
    /// Sources without notifications just sleep.
    func waitForRows(timeout: Duration) async

    /// Releases the connection (and any lock it holds).
    func close() async
}

extension OutboxSource {
    public func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await fetch(limit: limit, after: cursor)
    }

    public func waitForRows(timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }
}
