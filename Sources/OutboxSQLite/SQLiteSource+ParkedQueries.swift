import OutboxRelay

/// The operator's queries of the parked-deliveries table (`outbox-relay status`,
/// `outbox-relay dlq list --parked`): on a separate short-lived connection, safe while a relay
/// runs on the same database, without `open()`.
extension SQLiteSource {
    /// Per destination: parked entries of this table, their payload bytes, the oldest first
    /// failure and the earliest next attempt. An absent parked table has none.
    /// - Throws: ``SQLiteError`` (missing file, unreadable table).
    public func parkedSummary() async throws -> [ParkedQueueSummary] {
        try withParkedTableConnection { connection in
            let statement = try connection.prepare(
                "SELECT destination, count(*), coalesce(sum(length(CAST(payload AS BLOB))), 0), min(first_failed_at), "
                    + "min(next_attempt_at) FROM \(parkedTableName) WHERE source_table = ?1 GROUP BY destination "
                    + "ORDER BY destination"
            )
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            var summaries: [ParkedQueueSummary] = []
            while try statement.step() {
                summaries.append(
                    ParkedQueueSummary(
                        destination: statement.text(at: 0) ?? "",
                        entries: Int(statement.int64(at: 1)),
                        bytes: Int(statement.int64(at: 2)),
                        oldestFirstFailedAt: statement.text(at: 3).flatMap(Self.parseSQLTime),
                        nextAttemptAt: statement.text(at: 4).flatMap(Self.parseSQLTime)
                    )
                )
            }
            return summaries
        } ?? []
    }

    /// This table's parked entries that `filter` selects, by `id`.
    /// - Throws: ``SQLiteError``.
    public func parkedDeliveries(
        matching filter: ParkedDeliveryFilter,
        includingPayloads: Bool
    ) async throws -> [ParkedDelivery] {
        try withParkedTableConnection { connection in
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            let statement = try connection.prepare(
                parkedSelect(payload: includingPayloads)
                    + " WHERE source_table = ?1 AND (?2 IS NULL OR destination = ?2) ORDER BY id" + limit
            )
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            try statement.bind(filter.destination, at: 2)
            var entries: [ParkedDelivery] = []
            while try statement.step() {
                let entry = parkedDelivery(statement, payload: includingPayloads)
                guard filter.matches(entry) else { continue }
                entries.append(entry)
                if let limit = filter.limit, entries.count >= limit { break }
            }
            return entries
        } ?? []
    }

    /// One of this table's parked entries with its payload.
    /// - Throws: ``SQLiteError``.
    public func parkedDelivery(id: Int64) async throws -> ParkedDelivery? {
        try withParkedTableConnection { connection in
            let statement = try connection.prepare(parkedSelect(payload: true) + " WHERE source_table = ?1 AND id = ?2")
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            try statement.bind(id, at: 2)
            return try statement.step() ? parkedDelivery(statement, payload: true) : nil
        } ?? nil
    }

    /// Runs `body` on a fresh connection, or returns `nil` when the parked table is absent.
    private func withParkedTableConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T? {
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        let exists = try !connection.query(SQLiteOutboxQueries.tableInfo(configuration.parkedDeliveriesTable)) {
            $0.text(at: 1)
        }.isEmpty
        guard exists else { return nil }
        return try body(connection)
    }

    private var parkedTableName: String { configuration.parkedDeliveriesTable.quoted(for: .sqlite) }

    /// `SELECT` of every column in ``parkedDelivery(_:payload:)`` order.
    private func parkedSelect(payload: Bool) -> String {
        "SELECT id, destination, row_id, event_id, event_type, ordering_key, attempts, last_error, first_failed_at, "
            + "next_attempt_at\(payload ? ", payload" : "") FROM \(parkedTableName)"
    }

    private func parkedDelivery(_ statement: SQLiteStatement, payload: Bool) -> ParkedDelivery {
        let rowText = statement.text(at: 2) ?? ""
        let unknown = Timestamp(microsecondsSinceEpoch: 0)
        return ParkedDelivery(
            id: statement.int64(at: 0),
            destination: statement.text(at: 1) ?? "",
            rowID: flavour == .outbox ? Int64(rowText).map(OutboxRowID.integer) ?? .text(rowText) : .text(rowText),
            eventID: statement.text(at: 3) ?? "",
            eventType: statement.text(at: 4) ?? "",
            orderingKey: statement.text(at: 5) ?? "",
            payload: payload ? statement.bytes(at: 10) : [],
            attempts: Int(statement.int64(at: 6)),
            lastError: statement.text(at: 7) ?? "",
            firstFailedAt: statement.text(at: 8).flatMap(Self.parseSQLTime) ?? unknown,
            nextAttemptAt: statement.text(at: 9).flatMap(Self.parseSQLTime) ?? unknown
        )
    }
}
