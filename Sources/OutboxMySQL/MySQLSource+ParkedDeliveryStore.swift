import OutboxRelay

/// The parked-deliveries table in MySQL/MariaDB (``OutboxSchema/parkedDeliveriesTable(dialect:table:)``,
/// created on ``MySQLSource/open()``).
///
/// Payloads go in as `_binary'…'` literals into a `longblob` and come back as the same bytes, valid
/// UTF-8 or not. Names are compared byte for byte (`BINARY`), not by the table's case-insensitive,
/// space-padding collation, so ordering keys that differ only in case or trailing spaces stay
/// separate queues; the plain comparison beside it lets the `(source_table, destination, …)` indexes
/// narrow the scan.
extension MySQLSource: ParkedDeliveryStore {
    /// Parked entries of this table per destination and ordering key.
    /// - Throws: ``MySQLError``.
    public func parkedBacklog() async throws -> [ParkedBacklog] {
        try await withConnection { connection in
            var backlog: [ParkedBacklog] = []
            try connection.query(
                "SELECT MIN(`destination`), MIN(`ordering_key`), count(*), COALESCE(SUM(LENGTH(`payload`)), 0) "
                    + "FROM \(self.parkedTable) WHERE \(self.sourceTableCondition(connection)) "
                    + "GROUP BY CAST(`destination` AS BINARY), CAST(`ordering_key` AS BINARY)"
            ) { row in
                backlog.append(
                    ParkedBacklog(
                        destination: row.string(0) ?? "",
                        orderingKey: row.string(1) ?? "",
                        entries: Int(row.int64(2) ?? 0),
                        bytes: Int(row.int64(3) ?? 0)
                    )
                )
            }
            return backlog
        }
    }

    /// The entries of `destination` whose ordering key's oldest entry is due at `now`, by `id`
    /// (with `headsOnly`, only each such key's oldest entry).
    /// - Throws: ``MySQLError``.
    public func dueParkedDeliveries(
        destination: String,
        now: Timestamp,
        limit: Int,
        headsOnly: Bool
    ) async throws -> [ParkedDelivery] {
        let flavour = self.flavour
        return try await withConnection { connection in
            let destinationCondition = Self.equals("destination", destination, connection)
            let window = "OVER (PARTITION BY CAST(`ordering_key` AS BINARY) ORDER BY `id`)"
            let sql = """
                \(Self.parkedSelect(alias: "p", payload: true)) \
                FROM \(self.parkedTable) AS p JOIN (SELECT x.`id` FROM \
                (SELECT `id`, ROW_NUMBER() \(window) AS position, \
                FIRST_VALUE(`next_attempt_at`) \(window) AS head_due FROM \(self.parkedTable) \
                WHERE \(self.sourceTableCondition(connection)) AND \(destinationCondition)) x \
                WHERE x.head_due <= \(connection.literal(now.sqlText))\(headsOnly ? " AND x.position = 1" : "") \
                ORDER BY x.`id` LIMIT \(max(1, limit))) d ON p.`id` = d.`id` ORDER BY p.`id`
                """
            var due: [ParkedDelivery] = []
            try connection.query(sql) { row in
                due.append(Self.parkedDelivery(row, payload: true, flavour: flavour))
            }
            return due
        }
    }

    /// Deletes the delivered entries, updates the retried ones and moves the given-up ones to
    /// the dead-letter table, in one transaction.
    /// - Throws: ``MySQLError``; nothing is written unless everything is.
    public func settleParkedDeliveries(_ settlement: ParkedSettlement) async throws {
        guard !settlement.isEmpty else { return }
        try await withConnection { connection in
            try connection.execute("START TRANSACTION")
            do {
                let removed = settlement.delivered + settlement.deadLettered.map(\.id)
                var start = 0
                while start < removed.count {
                    let end = min(start + self.configuration.completeChunkSize, removed.count)
                    try connection.execute(
                        "DELETE FROM \(self.parkedTable) WHERE `id` IN ("
                            + removed[start..<end].map(String.init).joined(separator: ",") + ")"
                    )
                    start = end
                }
                for retry in settlement.retries {
                    try connection.execute(
                        "UPDATE \(self.parkedTable) SET `attempts` = \(max(0, retry.attempts)), "
                            + "`last_error` = \(connection.literal(retry.lastError)), "
                            + "`next_attempt_at` = \(connection.literal(retry.nextAttemptAt.sqlText)) "
                            + "WHERE `id` = \(retry.id)"
                    )
                }
                for (_, letter) in settlement.deadLettered {
                    try connection.execute(bytes: self.insertDeadLetter(connection, letter))
                }
                try connection.execute("COMMIT")
            } catch {
                if (error as? MySQLError)?.isConnectionFailure != true { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Inserts `parked` in order (inside the caller's transaction), in multi-row `INSERT`s that
    /// each stay well below the server's `max_allowed_packet`.
    func insertParked(_ connection: MySQLConnection, _ parked: [ParkedDelivery]) throws(MySQLError) {
        guard !parked.isEmpty else { return }
        let columns = OutboxSchema.parkedDeliveryColumns.map { "`\($0)`" }.joined(separator: ", ")
        let prefix = Array("INSERT INTO \(parkedTable) (\(columns)) VALUES ".utf8)
        // Half the server's limit (at most 4 MiB) per statement; one entry always goes alone.
        let flushAt = min(connection.maximumPacket / 2, 4 << 20)
        var sql = prefix
        var entries = 0
        for entry in parked {
            if entries > 0 && sql.count + entry.payload.count * 2 + 1024 > flushAt {
                try connection.execute(bytes: sql)
                sql = prefix
                entries = 0
            }
            if entries > 0 { sql.append(UInt8(ascii: ",")) }
            let before = [
                table, entry.destination, entry.rowID.description, entry.eventID, entry.eventType,
                entry.orderingKey,
            ].map { connection.literal($0) }.joined(separator: ", ")
            sql.append(contentsOf: ("(" + before + ", ").utf8)
            connection.appendBinaryLiteral(entry.payload, to: &sql)
            let after =
                ", \(max(0, entry.attempts)), \(connection.literal(entry.lastError)), "
                + "\(connection.literal(entry.firstFailedAt.sqlText)), "
                + "\(connection.literal(entry.nextAttemptAt.sqlText)))"
            sql.append(contentsOf: after.utf8)
            entries += 1
        }
        try connection.execute(bytes: sql)
    }

    /// `SELECT` of every column in ``parkedDelivery(_:payload:flavour:)`` order (columns of
    /// `alias`, if given); without `payload`, an empty string in its place.
    static func parkedSelect(alias: String? = nil, payload: Bool) -> String {
        let column = { (name: String) in alias.map { "\($0).`\(name)`" } ?? "`\(name)`" }
        let epoch = { (name: String) in "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', \(column(name)))" }
        let plain = ["id", "destination", "row_id", "event_id", "event_type", "ordering_key", "attempts", "last_error"]
        return "SELECT " + plain.map(column).joined(separator: ", ")
            + ", \(epoch("first_failed_at")), \(epoch("next_attempt_at")), \(payload ? column("payload") : "''")"
    }

    /// The entry in a row of ``parkedSelect(alias:payload:)``.
    static func parkedDelivery(_ row: MySQLRow, payload: Bool, flavour: OutboxFlavour) -> ParkedDelivery {
        let rowID = row.string(2) ?? ""
        let time = { (column: Int) in Timestamp(microsecondsSinceEpoch: row.int64(column) ?? 0) }
        return ParkedDelivery(
            id: row.int64(0),
            destination: row.string(1) ?? "",
            rowID: flavour == .outbox ? Int64(rowID).map(OutboxRowID.integer) ?? .text(rowID) : .text(rowID),
            eventID: row.string(3) ?? "",
            eventType: row.string(4) ?? "",
            orderingKey: row.string(5) ?? "",
            payload: payload ? row.bytes(10) : [],
            attempts: Int(row.int64(6) ?? 0),
            lastError: row.string(7) ?? "",
            firstFailedAt: time(8),
            nextAttemptAt: time(9)
        )
    }

    nonisolated var parkedTable: String { configuration.effectiveParkedDeliveriesTable.quoted(for: .mysql) }

    /// `source_table` is this table, byte for byte.
    func sourceTableCondition(_ connection: MySQLConnection) -> String {
        Self.equals("source_table", table, connection)
    }

    /// `` `column` = 'value' `` through the index, and byte for byte.
    static func equals(_ column: String, _ value: String, _ connection: MySQLConnection) -> String {
        let literal = connection.literal(value)
        return "`\(column)` = \(literal) AND CAST(`\(column)` AS BINARY) = CAST(\(literal) AS BINARY)"
    }
}
