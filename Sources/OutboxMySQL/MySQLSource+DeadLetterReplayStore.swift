import OutboxRelay

extension MySQLSource: DeadLetterReplayStore {
    /// Records a replay in one transaction on a separate short-lived connection (no `GET_LOCK`).
    /// - Throws: ``MySQLError``; nothing is recorded then.
    public func recordReplay(_ record: DeadLetterReplayRecord) async throws {
        guard !record.isEmpty else { return }
        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .mysql)
        let connection = try MySQLConnection.connect(configuration.connection, password: configuration.password)
        func text(_ value: String?) -> String { value.map { connection.literal($0) } ?? "NULL" }
        let owner = "`source_table` = \(connection.literal(table))"
        try connection.execute("START TRANSACTION")
        do {
            if !record.delivered.isEmpty {
                try connection.execute(
                    "DELETE FROM \(deadLetters) WHERE \(owner) AND `id` IN ("
                        + record.delivered.map(String.init).joined(separator: ",") + ")"
                )
            }
            for entry in record.failed {
                let letter = entry.deadLetter
                try connection.execute(
                    "UPDATE \(deadLetters) SET `event_id` = \(text(letter.eventID)), "
                        + "`event_type` = \(text(letter.eventType)), `destination` = \(text(letter.destination)), "
                        + "`attempts` = \(max(0, letter.attempts)), `last_error` = \(text(letter.lastError)), "
                        + "`last_failed_at` = \(text(letter.lastFailedAt.sqlText)) "
                        + "WHERE \(owner) AND `id` = \(entry.id)"
                )
            }
            for letter in record.added {
                try connection.execute(bytes: insertDeadLetter(connection, letter))
            }
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
