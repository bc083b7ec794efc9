import OutboxRelay

extension PostgresSource: ParkedDeliveryStore {
    /// Parked entries of this table per destination and ordering key.
    /// - Throws: ``PostgresError``.
    public func parkedBacklog() async throws -> [ParkedBacklog] {
        let sql =
            "SELECT \"destination\", \"ordering_key\", count(*)::text, coalesce(sum(length(\"payload\")), 0)::text "
            + "FROM \(parkedTable) WHERE \"source_table\" = $1 GROUP BY \"destination\", \"ordering_key\""
        return try await withConnection { connection in
            let result = try connection.execute(sql, [self.table])
            return (0..<result.rowCount).map { row in
                ParkedBacklog(
                    destination: result.string(row, 0) ?? "",
                    orderingKey: result.string(row, 1) ?? "",
                    entries: Int(result.int64(row, 2) ?? 0),
                    bytes: Int(result.int64(row, 3) ?? 0)
                )
            }
        }
    }

    /// Inserts the dead letters and the parked deliveries and marks (or deletes) the rows, in
    /// one transaction (on the write connection by default).
    /// - Throws: ``PostgresError``; nothing is written unless everything is.
    public nonisolated func complete(
        rows: [OutboxRowID],
        deadLetters: [DeadLetter],
        parked: [ParkedDelivery]
    ) async throws {
        guard !rows.isEmpty || !deadLetters.isEmpty || !parked.isEmpty else { return }
        if let writer {
            try await writer.complete(rows: rows, deadLetters: deadLetters, parked: parked)
        } else {
            try await completeOnDataConnection(rows: rows, deadLetters: deadLetters, parked: parked)
        }
    }

    /// The entries of `destination` whose ordering key's oldest entry is due, by `id`.
    /// - Throws: ``PostgresError``.
    public func dueParkedDeliveries(
        destination: String,
        now: Timestamp,
        limit: Int,
        headsOnly: Bool
    ) async throws -> [ParkedDelivery] {
        let epoch = { (column: String) in "(extract(epoch FROM p.\"\(column)\") * 1000000)::bigint::text" }
        // The keys one by one through the (source_table, destination, ordering_key, id) index (a
        // loose index scan: PostgreSQL has no skip scan), each key's oldest entry, and for the due
        // keys their first entries: its cost follows the number of keys and the limit, not the
        // number of parked entries, so a round does not hold up the reads sharing the connection
        // however long the queue is.
        let scope = "\"source_table\" = $1 AND \"destination\" = $2"
        let chosen =
            headsOnly
            ? "SELECT \"id\" FROM heads"
            : """
            SELECT e."id" FROM heads CROSS JOIN LATERAL (SELECT "id" FROM \(parkedTable) WHERE \(scope) \
            AND "ordering_key" = heads."ordering_key" ORDER BY "id" LIMIT $4::bigint) AS e
            """
        let sql = """
            WITH RECURSIVE keys(k) AS ((SELECT "ordering_key" FROM \(parkedTable) WHERE \(scope) \
            ORDER BY "ordering_key" LIMIT 1) UNION ALL SELECT (SELECT "ordering_key" FROM \(parkedTable) \
            WHERE \(scope) AND "ordering_key" > keys.k ORDER BY "ordering_key" LIMIT 1) FROM keys \
            WHERE keys.k IS NOT NULL), \
            heads AS (SELECT h."id", h."ordering_key" FROM keys CROSS JOIN LATERAL (SELECT "id", "ordering_key", \
            "next_attempt_at" FROM \(parkedTable) WHERE \(scope) AND "ordering_key" = keys.k ORDER BY "id" LIMIT 1) \
            AS h WHERE h."next_attempt_at" <= $3::timestamptz), \
            chosen AS (\(chosen)) \
            SELECT p."id"::text, p."row_id", p."event_id", p."event_type", p."ordering_key", \
            encode(p."payload", 'hex'), p."attempts"::text, p."last_error", \(epoch("first_failed_at")), \
            \(epoch("next_attempt_at")) FROM \(parkedTable) AS p JOIN (SELECT "id" FROM chosen ORDER BY "id" \
            LIMIT $4::bigint) AS d ON p."id" = d."id" ORDER BY p."id"
            """
        let flavour = self.flavour
        return try await withConnection { connection in
            let result = try connection.execute(sql, [self.table, destination, now.rfc3339, String(max(1, limit))])
            return (0..<result.rowCount).map { row in
                let rowID = result.string(row, 1) ?? ""
                let time = { (column: Int) in
                    result.int64(row, column).map(Timestamp.init(microsecondsSinceEpoch:)) ?? now
                }
                return ParkedDelivery(
                    id: result.int64(row, 0),
                    destination: destination,
                    rowID: flavour == .outbox ? Int64(rowID).map(OutboxRowID.integer) ?? .text(rowID) : .text(rowID),
                    eventID: result.string(row, 2) ?? "",
                    eventType: result.string(row, 3) ?? "",
                    orderingKey: result.string(row, 4) ?? "",
                    payload: Self.hexDecoded(result.bytes(row, 5)),
                    attempts: Int(result.int64(row, 6) ?? 0),
                    lastError: result.string(row, 7) ?? "",
                    firstFailedAt: time(8),
                    nextAttemptAt: time(9)
                )
            }
        }
    }

    /// Deletes the delivered entries, updates the retried ones and moves the given-up ones to
    /// the dead-letter table, in one transaction on the data connection.
    /// - Throws: ``PostgresError``; nothing is written unless everything is.
    public func settleParkedDeliveries(_ settlement: ParkedSettlement) async throws {
        guard !settlement.isEmpty else { return }
        let parkedTable = self.parkedTable
        let sourceTable = table
        try await withConnection { connection in
            let insertDeadLetter = try self.inspectedTable().completion.statements.insertDeadLetter
            try connection.execute("BEGIN")
            do {
                let removed = settlement.delivered + settlement.deadLettered.map(\.id)
                if !removed.isEmpty {
                    try connection.execute(
                        "DELETE FROM \(parkedTable) WHERE \"id\" = ANY($1::bigint[])",
                        ["{" + removed.map(String.init).joined(separator: ",") + "}"]
                    )
                }
                let retries = settlement.retries
                if !retries.isEmpty {
                    try connection.execute(
                        """
                        UPDATE \(parkedTable) AS p SET "attempts" = v.a, "last_error" = v.l, "next_attempt_at" = v.n \
                        FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::timestamptz[]) AS v(id, a, l, n) \
                        WHERE p."id" = v.id
                        """,
                        [
                            retries.map { String($0.id) }.postgresTextArrayLiteral,
                            retries.map { String($0.attempts) }.postgresTextArrayLiteral,
                            retries.map(\.lastError).postgresTextArrayLiteral,
                            retries.map(\.nextAttemptAt.rfc3339).postgresTextArrayLiteral,
                        ]
                    )
                }
                for (_, letter) in settlement.deadLettered {
                    try connection.execute(
                        insertDeadLetter,
                        [
                            sourceTable, letter.rowID.description, letter.eventID, letter.eventType, letter.destination,
                            letter.payload.postgresByteaHex, String(letter.attempts), letter.lastError,
                            letter.firstFailedAt.rfc3339, letter.lastFailedAt.rfc3339,
                        ]
                    )
                }
                try connection.execute("COMMIT")
            } catch {
                if (error as? PostgresError)?.isConnectionFailure != true { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    private nonisolated var parkedTable: String {
        configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)
    }
}
