import OutboxRelay

extension SQLiteSource: DeadLetterStore {
    /// Reads this table's dead letters on a separate short-lived connection (safe while a relay
    /// runs on the same database). An absent dead-letter table has no entries.
    /// - Throws: ``SQLiteError`` (missing file, unreadable table).
    public func deadLetters(
        matching filter: DeadLetterFilter,
        includingPayloads: Bool
    ) async throws -> [DeadLetterEntry] {
        try withDeadLetterConnection { connection in
            var conditions = [
                "source_table = ?1", "(?2 IS NULL OR destination = ?2)", "(?3 IS NULL OR last_failed_at >= ?3)",
                "(?4 IS NULL OR last_failed_at < ?4)",
            ]
            if let reason = filter.reason { conditions.append("(\(reason.sqlCondition))") }
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            let statement = try connection.prepare(
                Self.deadLetterSelect(table: configuration.deadLetterTable, payload: includingPayloads)
                    + " WHERE " + conditions.joined(separator: " AND ") + " ORDER BY id" + limit
            )
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            try statement.bind(filter.destination, at: 2)
            try statement.bind(filter.since?.sqlText, at: 3)
            try statement.bind(filter.until?.sqlText, at: 4)
            var entries: [DeadLetterEntry] = []
            while try statement.step() {
                let entry = Self.deadLetterEntry(statement, payload: includingPayloads)
                guard filter.matches(entry) else { continue }
                entries.append(entry)
                if let limit = filter.limit, entries.count >= limit { break }
            }
            return entries
        }
    }

    /// One of this table's dead letters with its payload.
    /// - Throws: ``SQLiteError``.
    public func deadLetter(id: Int64) async throws -> DeadLetterEntry? {
        try withDeadLetterConnection { connection in
            let statement = try connection.prepare(
                Self.deadLetterSelect(table: configuration.deadLetterTable, payload: true)
                    + " WHERE source_table = ?1 AND id = ?2"
            )
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            try statement.bind(id, at: 2)
            return try statement.step() ? Self.deadLetterEntry(statement, payload: true) : nil
        }
    }

    /// Deletes these dead letters of this table in one transaction.
    /// - Throws: ``SQLiteError``.
    public func deleteDeadLetters(ids: [Int64]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try withDeadLetterConnection { connection in
            try connection.execute("BEGIN IMMEDIATE")
            do {
                var deleted = 0
                let statement = try connection.prepare(
                    "DELETE FROM \(configuration.deadLetterTable.quoted(for: .sqlite)) "
                        + "WHERE source_table = ?1 AND id = ?2 RETURNING id"
                )
                defer { statement.finalize() }
                for id in ids {
                    statement.reset()
                    try statement.bind(table, at: 1)
                    try statement.bind(id, at: 2)
                    if try statement.step() { deleted += 1 }
                    while try statement.step() {}
                }
                try connection.execute("COMMIT")
                return deleted
            } catch {
                if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs `body` on a fresh connection, or returns `empty` when the dead-letter table is absent.
    private func withDeadLetterConnection<T: DeadLetterResult>(
        _ body: (SQLiteConnection) throws -> T
    ) throws -> T {
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        let exists = try !connection.query(SQLiteOutboxQueries.tableInfo(configuration.deadLetterTable)) {
            $0.text(at: 1)
        }.isEmpty
        guard exists else { return T.empty }
        return try body(connection)
    }

    /// `SELECT` of every column in ``deadLetterEntry(_:payload:)`` order.
    private static func deadLetterSelect(table: SQLIdentifier, payload: Bool) -> String {
        "SELECT id, source_table, row_id, event_id, event_type, destination, attempts, last_error, "
            + "first_failed_at, last_failed_at\(payload ? ", payload" : "") FROM \(table.quoted(for: .sqlite))"
    }

    private static func deadLetterEntry(_ statement: SQLiteStatement, payload: Bool) -> DeadLetterEntry {
        let rowText = statement.text(at: 2) ?? ""
        let unknown = Timestamp(microsecondsSinceEpoch: 0)
        return DeadLetterEntry(
            id: statement.int64(at: 0),
            sourceTable: statement.text(at: 1) ?? "",
            deadLetter: DeadLetter(
                rowID: Int64(rowText).map(OutboxRowID.integer) ?? .text(rowText),
                payload: payload ? statement.bytes(at: 10) : [],
                eventID: statement.text(at: 3),
                eventType: statement.text(at: 4),
                destination: statement.text(at: 5),
                attempts: Int(statement.int64(at: 6)),
                lastError: statement.text(at: 7) ?? "",
                firstFailedAt: statement.text(at: 8).flatMap(parseSQLTime) ?? unknown,
                lastFailedAt: statement.text(at: 9).flatMap(parseSQLTime) ?? unknown
            )
        )
    }
}

/// What a dead-letter operation returns when the dead-letter table does not exist yet.
protocol DeadLetterResult {
    static var empty: Self { get }
}

extension Array: DeadLetterResult {
    static var empty: Self { [] }
}

extension Optional: DeadLetterResult {
    static var empty: Self { nil }
}

extension Int: DeadLetterResult {
    static var empty: Int { 0 }
}
