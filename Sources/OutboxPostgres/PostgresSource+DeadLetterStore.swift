import OutboxRelay

extension PostgresSource: DeadLetterStore {
    /// Reads this table's dead letters on a separate short-lived connection (no lock, safe
    /// while a relay runs on the table). An absent dead-letter table has no entries.
    /// - Throws: ``PostgresError``.
    public func deadLetters(
        matching filter: DeadLetterFilter,
        includingPayloads: Bool
    ) async throws -> [DeadLetterEntry] {
        let deadLetterTable = configuration.effectiveDeadLetterTable
        return try Self.withDeadLetterSession(configuration) { connection in
            var conditions = [
                "\"source_table\" = $1", "($2::text IS NULL OR \"destination\" = $2)",
                "($3::timestamptz IS NULL OR \"last_failed_at\" >= $3::timestamptz)",
                "($4::timestamptz IS NULL OR \"last_failed_at\" < $4::timestamptz)",
            ]
            if let reason = filter.reason { conditions.append("(\(reason.sqlCondition))") }
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            let result = try connection.execute(
                Self.deadLetterSelect(deadLetterTable, payload: includingPayloads) + " WHERE "
                    + conditions.joined(separator: " AND ") + " ORDER BY \"id\"" + limit,
                [table, filter.destination, filter.since?.rfc3339, filter.until?.rfc3339]
            )
            var entries: [DeadLetterEntry] = []
            for row in 0..<result.rowCount {
                let entry = Self.deadLetterEntry(result, row, payload: includingPayloads)
                guard filter.matches(entry) else { continue }
                entries.append(entry)
                if let limit = filter.limit, entries.count >= limit { break }
            }
            return entries
        } ?? []
    }

    /// One of this table's dead letters with its payload.
    /// - Throws: ``PostgresError``.
    public func deadLetter(id: Int64) async throws -> DeadLetterEntry? {
        let deadLetterTable = configuration.effectiveDeadLetterTable
        return try Self.withDeadLetterSession(configuration) { connection in
            let result = try connection.execute(
                Self.deadLetterSelect(deadLetterTable, payload: true)
                    + " WHERE \"source_table\" = $1 AND \"id\" = $2::bigint",
                [table, String(id)]
            )
            return result.rowCount > 0 ? Self.deadLetterEntry(result, 0, payload: true) : nil
        } ?? nil
    }

    /// Deletes these dead letters of this table in one statement.
    /// - Throws: ``PostgresError``.
    public func deleteDeadLetters(ids: [Int64]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let deadLetterTable = configuration.effectiveDeadLetterTable.quoted(for: .postgres)
        return try Self.withDeadLetterSession(configuration) { connection in
            try connection.execute(
                "DELETE FROM \(deadLetterTable) WHERE \"source_table\" = $1 AND \"id\" = ANY($2::bigint[])",
                [table, "{" + ids.map(String.init).joined(separator: ",") + "}"]
            ).affectedRows
        } ?? 0
    }

    /// Runs `body` on a new session, or returns `nil` when the dead-letter table does not exist.
    private static func withDeadLetterSession<T>(
        _ configuration: Configuration,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T? {
        let connection = try PostgresConnection.session(for: configuration)
        let exists = try connection.execute(
            "SELECT to_regclass($1)::oid::text",
            [configuration.effectiveDeadLetterTable.quoted(for: .postgres)]
        ).string(0, 0)
        guard exists != nil else { return nil }
        return try body(connection)
    }

    /// `SELECT` of every column in ``deadLetterEntry(_:_:payload:)`` order; times as
    /// `YYYY-MM-DD HH:MM:SS.ffffff` UTC, the payload as hex.
    private static func deadLetterSelect(_ table: SQLIdentifier, payload: Bool) -> String {
        let time = { (column: String) in "to_char(\"\(column)\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" }
        return
            "SELECT \"id\"::text, \"source_table\", \"row_id\", \"event_id\", \"event_type\", \"destination\", "
            + "\"attempts\"::text, \"last_error\", \(time("first_failed_at")), \(time("last_failed_at"))"
            + (payload ? ", encode(\"payload\", 'hex')" : "") + " FROM \(table.quoted(for: .postgres))"
    }

    private static func deadLetterEntry(_ result: PostgresResult, _ row: Int, payload: Bool) -> DeadLetterEntry {
        let rowText = result.string(row, 2) ?? ""
        let unknown = Timestamp(microsecondsSinceEpoch: 0)
        let time = { (column: Int) in result.string(row, column).flatMap { PHPDateFormat("Y-m-d H:i:s.u").parse($0) } }
        return DeadLetterEntry(
            id: result.int64(row, 0) ?? 0,
            sourceTable: result.string(row, 1) ?? "",
            deadLetter: DeadLetter(
                rowID: Int64(rowText).map(OutboxRowID.integer) ?? .text(rowText),
                payload: payload ? hexDecoded(result.bytes(row, 10)) : [],
                eventID: result.string(row, 3),
                eventType: result.string(row, 4),
                destination: result.string(row, 5),
                attempts: Int(result.int64(row, 6) ?? 0),
                lastError: result.string(row, 7) ?? "",
                firstFailedAt: time(8) ?? unknown,
                lastFailedAt: time(9) ?? unknown
            )
        )
    }

    /// Bytes from lowercase or uppercase hex digits (what `encode(…, 'hex')` returns).
    static func hexDecoded(_ digits: [UInt8]) -> [UInt8] {
        func value(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return 0
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index + 1 < digits.count {
            bytes.append(value(digits[index]) << 4 | value(digits[index + 1]))
            index += 2
        }
        return bytes
    }
}
