/// A source that keeps a parked-deliveries table next to its outbox (``ParkedDelivery``), so a
/// destination that is down delays only its own messages.
///
/// The engine parks only on sources that conform; on others a destination retries inside the
/// batch window until its ``RetryPolicy`` gives up, as before. Implementations create the
/// table on `open()` (``OutboxSchema/parkedDeliveriesTable(dialect:table:)``) and serialise these
/// calls with the rest on their own thread.
public protocol ParkedDeliveryStore: OutboxSource {
    /// Parked entries per destination and ordering key, for this outbox table. Called after
    /// `open()`, before the first read.
    func parkedBacklog() async throws -> [ParkedBacklog]

    /// Like ``OutboxSource/complete(rows:deadLetters:)``, and in the same transaction writes
    /// `parked` (in the given order: per destination and ordering key it is outbox order).
    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter], parked: [ParkedDelivery]) async throws

    /// Up to `limit` parked entries of `destination`, by `id`, of the ordering keys whose oldest
    /// entry is due at `now` (its `nextAttemptAt` is not after it): every entry of such a key
    /// until the limit, so a drain round can deliver a key's backlog in order — or, with
    /// `headsOnly` (probing an endpoint that is down), only each due key's oldest entry.
    func dueParkedDeliveries(
        destination: String,
        now: Timestamp,
        limit: Int,
        headsOnly: Bool
    ) async throws -> [ParkedDelivery]

    /// Applies a drain round in one transaction: deletes the delivered entries, updates the
    /// retried ones, and moves the given-up ones to the dead-letter table.
    func settleParkedDeliveries(_ settlement: ParkedSettlement) async throws
}
