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
        // One pass over the destination's entries (window functions), then the rows themselves:
        // its cost does not depend on the planner's guesses about a freshly created table.
        let sql = """
            SELECT p."id"::text, p."row_id", p."event_id", p."event_type", p."ordering_key", \
            encode(p."payload", 'hex'), p."attempts"::text, p."last_error", \(epoch("first_failed_at")), \
            \(epoch("next_attempt_at")) FROM \(parkedTable) AS p JOIN (SELECT x."id" FROM (SELECT "id", \
            row_number() OVER w AS position, first_value("next_attempt_at") OVER w AS head_due \
            FROM \(parkedTable) WHERE "source_table" = $1 AND "destination" = $2 \
            WINDOW w AS (PARTITION BY "ordering_key" ORDER BY "id")) AS x \
            WHERE x.head_due <= $3::timestamptz\(headsOnly ? " AND x.position = 1" : "") \
            ORDER BY x."id" LIMIT $4::bigint) AS d ON p."id" = d."id" ORDER BY p."id"
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
