import OutboxRelay

extension MySQLSource: DeadLetterStore {
    /// Reads this table's dead letters on a separate short-lived connection (no `GET_LOCK`,
    /// safe while a relay runs on the table). An absent dead-letter table has no entries.
    /// - Throws: ``MySQLError``.
    public func deadLetters(
        matching filter: DeadLetterFilter,
        includingPayloads: Bool
    ) async throws -> [DeadLetterEntry] {
        try withSeparateConnection { connection in
            func text(_ value: String?) -> String { value.map { connection.literal($0) } ?? "NULL" }
            var conditions = ["`source_table` = \(connection.literal(table))"]
            if let destination = filter.destination { conditions.append("`destination` = \(text(destination))") }
            if let since = filter.since { conditions.append("`last_failed_at` >= \(text(since.sqlText))") }
            if let until = filter.until { conditions.append("`last_failed_at` < \(text(until.sqlText))") }
            if let reason = filter.reason { conditions.append("(\(reason.sqlCondition))") }
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            var entries: [DeadLetterEntry] = []
            try connection.query(
                deadLetterSelect(payload: includingPayloads) + " WHERE " + conditions.joined(separator: " AND ")
                    + " ORDER BY `id`" + limit
            ) { row in
                if let limit = filter.limit, entries.count >= limit { return }
                let entry = Self.deadLetterEntry(row, payload: includingPayloads)
                if filter.matches(entry) { entries.append(entry) }
            }
            return entries
        } ?? []
    }

    /// One of this table's dead letters with its payload.
    /// - Throws: ``MySQLError``.
    public func deadLetter(id: Int64) async throws -> DeadLetterEntry? {
        try withSeparateConnection { connection in
            var entry: DeadLetterEntry?
            try connection.query(
                deadLetterSelect(payload: true)
                    + " WHERE `source_table` = \(connection.literal(table)) AND `id` = \(id)"
            ) { row in entry = Self.deadLetterEntry(row, payload: true) }
            return entry
        } ?? nil
    }

    /// Deletes these dead letters of this table in one statement.
    /// - Throws: ``MySQLError``.
    public func deleteDeadLetters(ids: [Int64]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .mysql)
        return try withSeparateConnection { connection in
            var deleted = 0
            var start = 0
            while start < ids.count {
                let end = min(start + configuration.completeChunkSize, ids.count)
                try connection.execute(
                    "DELETE FROM \(deadLetters) WHERE `source_table` = \(connection.literal(table)) AND `id` IN ("
                        + ids[start..<end].map(String.init).joined(separator: ",") + ")"
                )
                deleted += connection.affectedRows
                start = end
            }
            return deleted
        } ?? 0
    }

    /// Runs `body` on a new short-lived connection (on the source's own thread), or returns `nil`
    /// when the table it reads (dead letters, parked deliveries) does not exist.
    func withSeparateConnection<T>(_ body: (MySQLConnection) throws -> T) throws -> T? {
        let connection = try MySQLConnection.connect(configuration.connection, password: configuration.password)
        do {
            return try body(connection)
        } catch let error as MySQLError where error.code == .missingTable {
            return nil
        }
    }

    /// `SELECT` of every column in ``deadLetterEntry(_:payload:)`` order; times as
    /// `YYYY-MM-DD HH:MM:SS.ffffff` (the session runs in UTC).
    private func deadLetterSelect(payload: Bool) -> String {
        let time = { (column: String) in "DATE_FORMAT(`\(column)`, '%Y-%m-%d %H:%i:%s.%f')" }
        return
            "SELECT `id`, `source_table`, `row_id`, `event_id`, `event_type`, `destination`, `attempts`, "
            + "`last_error`, \(time("first_failed_at")), \(time("last_failed_at"))" + (payload ? ", `payload`" : "")
            + " FROM \(configuration.effectiveDeadLetterTable.quoted(for: .mysql))"
    }

    private static func deadLetterEntry(_ row: MySQLRow, payload: Bool) -> DeadLetterEntry {
        let rowText = row.string(2) ?? ""
        let unknown = Timestamp(microsecondsSinceEpoch: 0)
        let time = { (column: Int) in row.string(column).flatMap { PHPDateFormat("Y-m-d H:i:s.u").parse($0) } }
        return DeadLetterEntry(
            id: row.int64(0) ?? 0,
            sourceTable: row.string(1) ?? "",
            deadLetter: DeadLetter(
                rowID: Int64(rowText).map(OutboxRowID.integer) ?? .text(rowText),
                payload: payload ? row.bytes(10) : [],
                eventID: row.string(3),
                eventType: row.string(4),
                destination: row.string(5),
                attempts: Int(row.int64(6) ?? 0),
                lastError: row.string(7) ?? "",
                firstFailedAt: time(8) ?? unknown,
                lastFailedAt: time(9) ?? unknown
            )
        )
    }
}
