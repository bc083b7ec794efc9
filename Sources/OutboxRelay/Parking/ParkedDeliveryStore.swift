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

    // MARK: Operator queries (`outbox-relay status`, `outbox-relay dlq list --parked`)
    //
    // Like ``OutboxStatusReporting`` and ``DeadLetterStore``, these work without `open()`, on a
    // short-lived connection of their own, never take the relay lock (safe while a relay runs on
    // the table) and never create the table: an absent parked-deliveries table has no entries.
    // The default implementations throw ``ParkedQueryUnsupported``.

    /// Per destination with parked entries of this outbox table: how many, their stored payload
    /// bytes, the oldest `first_failed_at` and the earliest `next_attempt_at`; by destination.
    func parkedSummary() async throws -> [ParkedQueueSummary]

    /// The entries of this outbox table that `filter` selects, by `id`, with their stored
    /// payloads or (without `includingPayloads`) with an empty ``ParkedDelivery/payload``.
    func parkedDeliveries(
        matching filter: ParkedDeliveryFilter,
        includingPayloads: Bool
    ) async throws
        -> [ParkedDelivery]

    /// One entry of this outbox table with its payload, `nil` if there is none with that id.
    func parkedDelivery(id: Int64) async throws -> ParkedDelivery?
}

extension ParkedDeliveryStore {
    /// Not implemented by this source: throws ``ParkedQueryUnsupported``.
    public func parkedSummary() async throws -> [ParkedQueueSummary] {
        throw ParkedQueryUnsupported(source: "\(flavour) table \(table)")
    }

    /// Not implemented by this source: throws ``ParkedQueryUnsupported``.
    public func parkedDeliveries(
        matching filter: ParkedDeliveryFilter,
        includingPayloads: Bool
    ) async throws
        -> [ParkedDelivery]
    {
        throw ParkedQueryUnsupported(source: "\(flavour) table \(table)")
    }

    /// Not implemented by this source: throws ``ParkedQueryUnsupported``.
    public func parkedDelivery(id: Int64) async throws -> ParkedDelivery? {
        throw ParkedQueryUnsupported(source: "\(flavour) table \(table)")
    }
}
