import OutboxRelay

/// The operator's queries of the parked-deliveries table (`outbox-relay status`,
/// `outbox-relay dlq list --parked`): on a separate short-lived session, without the lock, safe
/// while a relay runs on the table, without `open()`.
extension PostgresSource {
    /// Per destination: parked entries of this table, their payload bytes, the oldest first
    /// failure and the earliest next attempt. An absent parked table has none.
    /// - Throws: ``PostgresError``.
    public func parkedSummary() async throws -> [ParkedQueueSummary] {
        let parkedTable = configuration.effectiveParkedDeliveriesTable
        return try Self.withParkedTableSession(configuration) { connection in
            let result = try connection.execute(
                """
                SELECT "destination", count(*)::text, coalesce(sum(length("payload")), 0)::text, \
                \(Self.epoch("min(\"first_failed_at\")")), \(Self.epoch("min(\"next_attempt_at\")")) \
                FROM \(parkedTable.quoted(for: .postgres)) WHERE "source_table" = $1 GROUP BY "destination" \
                ORDER BY "destination"
                """,
                [table]
            )
            return (0..<result.rowCount).map { row in
                ParkedQueueSummary(
                    destination: result.string(row, 0) ?? "",
                    entries: Int(result.int64(row, 1) ?? 0),
                    bytes: Int(result.int64(row, 2) ?? 0),
                    oldestFirstFailedAt: result.int64(row, 3).map(Timestamp.init(microsecondsSinceEpoch:)),
                    nextAttemptAt: result.int64(row, 4).map(Timestamp.init(microsecondsSinceEpoch:))
                )
            }
        } ?? []
    }

    /// This table's parked entries that `filter` selects, by `id`.
    /// - Throws: ``PostgresError``.
    public func parkedDeliveries(
        matching filter: ParkedDeliveryFilter,
        includingPayloads: Bool
    ) async throws -> [ParkedDelivery] {
        let parkedTable = configuration.effectiveParkedDeliveriesTable
        let flavour = self.flavour
        return try Self.withParkedTableSession(configuration) { connection in
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            let result = try connection.execute(
                Self.parkedSelect(parkedTable, payload: includingPayloads)
                    + " WHERE \"source_table\" = $1 AND ($2::text IS NULL OR \"destination\" = $2) ORDER BY \"id\""
                    + limit,
                [table, filter.destination]
            )
            var entries: [ParkedDelivery] = []
            for row in 0..<result.rowCount {
                let entry = Self.parkedDelivery(result, row, payload: includingPayloads, flavour: flavour)
                guard filter.matches(entry) else { continue }
                entries.append(entry)
                if let limit = filter.limit, entries.count >= limit { break }
            }
            return entries
        } ?? []
    }

    /// One of this table's parked entries with its payload.
    /// - Throws: ``PostgresError``.
    public func parkedDelivery(id: Int64) async throws -> ParkedDelivery? {
        let parkedTable = configuration.effectiveParkedDeliveriesTable
        let flavour = self.flavour
        return try Self.withParkedTableSession(configuration) { connection in
            let result = try connection.execute(
                Self.parkedSelect(parkedTable, payload: true) + " WHERE \"source_table\" = $1 AND \"id\" = $2::bigint",
                [table, String(id)]
            )
            return result.rowCount > 0 ? Self.parkedDelivery(result, 0, payload: true, flavour: flavour) : nil
        } ?? nil
    }

    /// Runs `body` on a new session, or returns `nil` when the parked table does not exist.
    private static func withParkedTableSession<T>(
        _ configuration: Configuration,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T? {
        let connection = try PostgresConnection.session(for: configuration)
        let exists = try connection.execute(
            "SELECT to_regclass($1)::oid::text",
            [configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)]
        ).string(0, 0)
        guard exists != nil else { return nil }
        return try body(connection)
    }

    /// A `timestamptz` expression as microseconds since the epoch, in text.
    private static func epoch(_ expression: String) -> String {
        "(extract(epoch FROM \(expression)) * 1000000)::bigint::text"
    }

    /// `SELECT` of every column in ``parkedDelivery(_:_:payload:flavour:)`` order; the payload as hex.
    private static func parkedSelect(_ table: SQLIdentifier, payload: Bool) -> String {
        """
        SELECT "id"::text, "destination", "row_id", "event_id", "event_type", "ordering_key", "attempts"::text, \
        "last_error", \(epoch("\"first_failed_at\"")), \(epoch("\"next_attempt_at\""))\
        \(payload ? ", encode(\"payload\", 'hex')" : "") FROM \(table.quoted(for: .postgres))
        """
    }

    private static func parkedDelivery(
        _ result: PostgresResult,
        _ row: Int,
        payload: Bool,
        flavour: OutboxFlavour
    ) -> ParkedDelivery {
        let rowText = result.string(row, 2) ?? ""
        let time = { (column: Int) in
            Timestamp(microsecondsSinceEpoch: result.int64(row, column) ?? 0)
        }
        return ParkedDelivery(
            id: result.int64(row, 0),
            destination: result.string(row, 1) ?? "",
            rowID: flavour == .outbox ? Int64(rowText).map(OutboxRowID.integer) ?? .text(rowText) : .text(rowText),
            eventID: result.string(row, 3) ?? "",
            eventType: result.string(row, 4) ?? "",
            orderingKey: result.string(row, 5) ?? "",
            payload: payload ? hexDecoded(result.bytes(row, 10)) : [],
            attempts: Int(result.int64(row, 6) ?? 0),
            lastError: result.string(row, 7) ?? "",
            firstFailedAt: time(8),
            nextAttemptAt: time(9)
        )
    }
}
