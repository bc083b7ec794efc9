import OutboxRelay

/// The operator's queries of the parked-deliveries table (`outbox-relay status`,
/// `outbox-relay dlq list --parked`): on a separate short-lived connection, without `GET_LOCK`,
/// safe while a relay runs on the table, without `open()`.
extension MySQLSource {
    /// Per destination: parked entries of this table, their payload bytes, the oldest first
    /// failure and the earliest next attempt. An absent parked table has none.
    /// - Throws: ``MySQLError``.
    public func parkedSummary() async throws -> [ParkedQueueSummary] {
        try withSeparateConnection { connection in
            let epoch = { (column: String) in "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', MIN(`\(column)`))" }
            var summaries: [ParkedQueueSummary] = []
            try connection.query(
                "SELECT MIN(`destination`), count(*), COALESCE(SUM(LENGTH(`payload`)), 0), "
                    + "\(epoch("first_failed_at")), \(epoch("next_attempt_at")) FROM \(self.parkedTable) "
                    + "WHERE \(self.sourceTableCondition(connection)) GROUP BY CAST(`destination` AS BINARY) "
                    + "ORDER BY CAST(`destination` AS BINARY)"
            ) { row in
                summaries.append(
                    ParkedQueueSummary(
                        destination: row.string(0) ?? "",
                        entries: Int(row.int64(1) ?? 0),
                        bytes: Int(row.int64(2) ?? 0),
                        oldestFirstFailedAt: row.int64(3).map(Timestamp.init(microsecondsSinceEpoch:)),
                        nextAttemptAt: row.int64(4).map(Timestamp.init(microsecondsSinceEpoch:))
                    )
                )
            }
            return summaries
        } ?? []
    }

    /// This table's parked entries that `filter` selects, by `id`.
    /// - Throws: ``MySQLError``.
    public func parkedDeliveries(
        matching filter: ParkedDeliveryFilter,
        includingPayloads: Bool
    ) async throws -> [ParkedDelivery] {
        let flavour = self.flavour
        return try withSeparateConnection { connection in
            var conditions = [self.sourceTableCondition(connection)]
            if let destination = filter.destination {
                conditions.append(Self.equals("destination", destination, connection))
            }
            // The event-type glob is checked in Swift (its syntax is the routes'), so the limit
            // goes into SQL only without it.
            let limit = filter.eventType == nil ? filter.limit.map { " LIMIT \(max(0, $0))" } ?? "" : ""
            var entries: [ParkedDelivery] = []
            try connection.query(
                Self.parkedSelect(payload: includingPayloads) + " FROM \(self.parkedTable) WHERE "
                    + conditions.joined(separator: " AND ") + " ORDER BY `id`" + limit
            ) { row in
                if let limit = filter.limit, entries.count >= limit { return }
                let entry = Self.parkedDelivery(row, payload: includingPayloads, flavour: flavour)
                if filter.matches(entry) { entries.append(entry) }
            }
            return entries
        } ?? []
    }

    /// One of this table's parked entries with its payload.
    /// - Throws: ``MySQLError``.
    public func parkedDelivery(id: Int64) async throws -> ParkedDelivery? {
        let flavour = self.flavour
        return try withSeparateConnection { connection in
            var entry: ParkedDelivery?
            try connection.query(
                Self.parkedSelect(payload: true) + " FROM \(self.parkedTable) WHERE "
                    + "\(self.sourceTableCondition(connection)) AND `id` = \(id)"
            ) { row in entry = Self.parkedDelivery(row, payload: true, flavour: flavour) }
            return entry
        } ?? nil
    }
}
