import OutboxRelay

extension PostgresSource: DeadLetterReplayStore {
    /// Records a replay in one transaction on a separate short-lived session (no lock).
    /// - Throws: ``PostgresError``; nothing is recorded then.
    public func recordReplay(_ record: DeadLetterReplayRecord) async throws {
        guard !record.isEmpty else { return }
        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .postgres)
        let connection = try PostgresConnection.session(for: configuration)
        _ = try connection.execute("BEGIN")
        do {
            if !record.delivered.isEmpty {
                _ = try connection.execute(
                    "DELETE FROM \(deadLetters) WHERE \"source_table\" = $1 AND \"id\" = ANY($2::bigint[])",
                    [table, "{" + record.delivered.map(String.init).joined(separator: ",") + "}"]
                )
            }
            for entry in record.failed {
                let letter = entry.deadLetter
                _ = try connection.execute(
                    "UPDATE \(deadLetters) SET \"event_id\" = $3, \"event_type\" = $4, \"destination\" = $5, "
                        + "\"attempts\" = $6::integer, \"last_error\" = $7, \"last_failed_at\" = $8::timestamptz "
                        + "WHERE \"source_table\" = $1 AND \"id\" = $2::bigint",
                    [
                        table, String(entry.id), letter.eventID, letter.eventType, letter.destination,
                        String(letter.attempts), letter.lastError, letter.lastFailedAt.rfc3339,
                    ]
                )
            }
            let columns = OutboxSchema.deadLetterColumns.map { "\"" + $0 + "\"" }.joined(separator: ", ")
            for letter in record.added {
                _ = try connection.execute(
                    "INSERT INTO \(deadLetters) (\(columns)) VALUES "
                        + "($1, $2, $3, $4, $5, $6::bytea, $7::integer, $8, $9::timestamptz, $10::timestamptz)",
                    [
                        table, letter.rowID.description, letter.eventID, letter.eventType, letter.destination,
                        letter.payload.postgresByteaHex, String(letter.attempts), letter.lastError,
                        letter.firstFailedAt.rfc3339, letter.lastFailedAt.rfc3339,
                    ]
                )
            }
            _ = try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
