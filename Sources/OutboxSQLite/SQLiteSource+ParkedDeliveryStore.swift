import OutboxRelay

extension SQLiteSource: ParkedDeliveryStore {
    /// Parked entries of this table per destination and ordering key.
    /// - Throws: ``SQLiteError``.
    public func parkedBacklog() async throws -> [ParkedBacklog] {
        let connection = try requireOpen()
        let statement = try connection.statement(
            "SELECT destination, ordering_key, count(*), sum(length(CAST(payload AS BLOB))) FROM \(parkedTable) "
                + "WHERE source_table = ?1 GROUP BY destination, ordering_key"
        )
        defer { statement.reset() }
        try statement.bind(table, at: 1)
        var backlog: [ParkedBacklog] = []
        while try statement.step() {
            backlog.append(
                ParkedBacklog(
                    destination: statement.text(at: 0) ?? "",
                    orderingKey: statement.text(at: 1) ?? "",
                    entries: Int(statement.int64(at: 2)),
                    bytes: Int(statement.int64(at: 3))
                )
            )
        }
        return backlog
    }

    /// In one `BEGIN IMMEDIATE` transaction: inserts the dead letters and the parked deliveries,
    /// then marks (or deletes) the rows.
    /// - Throws: ``SQLiteError``; the transaction is rolled back.
    public func complete(rows: [OutboxRowID], deadLetters: [DeadLetter], parked: [ParkedDelivery]) async throws {
        try completeRows(rows, deadLetters: deadLetters, parked: parked)
    }

    /// The entries of `destination` whose ordering key's oldest entry is due, by `id`.
    /// - Throws: ``SQLiteError``.
    public func dueParkedDeliveries(
        destination: String,
        now: Timestamp,
        limit: Int,
        headsOnly: Bool
    ) async throws -> [ParkedDelivery] {
        let connection = try requireOpen()
        // One pass over the destination's entries (window functions), then the rows themselves.
        let statement = try connection.statement(
            """
            SELECT p.id, p.row_id, p.event_id, p.event_type, p.ordering_key, p.payload, p.attempts, p.last_error, \
            p.first_failed_at, p.next_attempt_at FROM \(parkedTable) AS p JOIN (SELECT x.id FROM (SELECT id, \
            row_number() OVER w AS position, first_value(next_attempt_at) OVER w AS head_due \
            FROM \(parkedTable) WHERE source_table = ?1 AND destination = ?2 \
            WINDOW w AS (PARTITION BY ordering_key ORDER BY id)) AS x \
            WHERE x.head_due <= ?3\(headsOnly ? " AND x.position = 1" : "") ORDER BY x.id LIMIT ?4) AS d \
            ON p.id = d.id ORDER BY p.id
            """
        )
        defer { statement.reset() }
        try statement.bind(table, at: 1)
        try statement.bind(destination, at: 2)
        try statement.bind(now.sqlText, at: 3)
        try statement.bind(Int64(max(1, limit)), at: 4)
        var entries: [ParkedDelivery] = []
        while try statement.step() {
            let rowID = statement.text(at: 1) ?? ""
            entries.append(
                ParkedDelivery(
                    id: statement.int64(at: 0),
                    destination: destination,
                    rowID: flavour == .outbox ? Int64(rowID).map(OutboxRowID.integer) ?? .text(rowID) : .text(rowID),
                    eventID: statement.text(at: 2) ?? "",
                    eventType: statement.text(at: 3) ?? "",
                    orderingKey: statement.text(at: 4) ?? "",
                    payload: statement.bytes(at: 5),
                    attempts: Int(statement.int64(at: 6)),
                    lastError: statement.text(at: 7) ?? "",
                    firstFailedAt: statement.text(at: 8).flatMap(Self.parseSQLTime) ?? now,
                    nextAttemptAt: statement.text(at: 9).flatMap(Self.parseSQLTime) ?? now
                )
            )
        }
        return entries
    }

    /// Deletes the delivered entries, updates the retried ones and moves the given-up ones to
    /// the dead-letter table, in one `BEGIN IMMEDIATE` transaction.
    /// - Throws: ``SQLiteError``; the transaction is rolled back.
    public func settleParkedDeliveries(_ settlement: ParkedSettlement) async throws {
        let connection = try requireOpen()
        guard !settlement.isEmpty else { return }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let delete = try connection.statement("DELETE FROM \(parkedTable) WHERE id = ?1")
            for id in settlement.delivered + settlement.deadLettered.map(\.id) {
                try delete.bind(id, at: 1)
                try delete.run()
            }
            if !settlement.retries.isEmpty {
                let update = try connection.statement(
                    "UPDATE \(parkedTable) SET attempts = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1"
                )
                for retry in settlement.retries {
                    try update.bind(retry.id, at: 1)
                    try update.bind(Int64(retry.attempts), at: 2)
                    try update.bind(retry.lastError, at: 3)
                    try update.bind(retry.nextAttemptAt.sqlText, at: 4)
                    try update.run()
                }
            }
            if !settlement.deadLettered.isEmpty {
                let insert = try connection.statement(insertDeadLetterSQL)
                for (_, deadLetter) in settlement.deadLettered {
                    try bind(deadLetter, to: insert)
                    try insert.run()
                }
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Inserts parked deliveries, in order, inside the caller's transaction.
    func insertParked(_ parked: [ParkedDelivery], on connection: SQLiteConnection) throws(SQLiteError) {
        let columns = OutboxSchema.parkedDeliveryColumns
        let insert = try connection.statement(
            "INSERT INTO \(parkedTable) (\(columns.joined(separator: ", "))) VALUES ("
                + (1...columns.count).map { "?\($0)" }.joined(separator: ", ") + ")"
        )
        for entry in parked {
            try insert.bind(table, at: 1)
            try insert.bind(entry.destination, at: 2)
            try insert.bind(entry.rowID.description, at: 3)
            try insert.bind(entry.eventID, at: 4)
            try insert.bind(entry.eventType, at: 5)
            try insert.bind(entry.orderingKey, at: 6)
            try insert.bind(bytes: entry.payload, at: 7)
            try insert.bind(Int64(entry.attempts), at: 8)
            try insert.bind(entry.lastError, at: 9)
            try insert.bind(entry.firstFailedAt.sqlText, at: 10)
            try insert.bind(entry.nextAttemptAt.sqlText, at: 11)
            try insert.run()
        }
    }

    private var parkedTable: String { configuration.parkedDeliveriesTable.quoted(for: .sqlite) }

    private var insertDeadLetterSQL: String {
        let columns = OutboxSchema.deadLetterColumns
        return "INSERT INTO \(configuration.deadLetterTable.quoted(for: .sqlite)) (\(columns.joined(separator: ", "))) "
            + "VALUES (" + (1...columns.count).map { "?\($0)" }.joined(separator: ", ") + ")"
    }
}
