import OutboxRelay

extension PostgresRowCompletion {
    /// Inserts parked deliveries, in order, inside the caller's transaction.
    func insertParked(_ parked: [ParkedDelivery], on connection: PostgresConnection) throws(PostgresError) {
        let table = configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)
        let columns = OutboxSchema.parkedDeliveryColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        try connection.prepare(
            "outbox_relay_insert_parked",
            """
            INSERT INTO \(table) (\(columns)) VALUES \
            ($1, $2, $3, $4, $5, $6, $7::bytea, $8::integer, $9, $10::timestamptz, $11::timestamptz)
            """
        )
        for entry in parked {
            try connection.executePrepared(
                "outbox_relay_insert_parked",
                [
                    self.table, entry.destination, entry.rowID.description, entry.eventID, entry.eventType,
                    entry.orderingKey, entry.payload.postgresByteaHex, String(entry.attempts), entry.lastError,
                    entry.firstFailedAt.rfc3339, entry.nextAttemptAt.rfc3339,
                ]
            )
        }
    }
}
