import OutboxRelay

extension SQLiteSource: DeadLetterReplayStore {
    /// Records a replay in one transaction on a separate short-lived connection.
    /// - Throws: ``SQLiteError``; nothing is recorded then.
    public func recordReplay(_ record: DeadLetterReplayRecord) async throws {
        guard !record.isEmpty else { return }
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        let deadLetters = configuration.deadLetterTable.quoted(for: .sqlite)
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let delete = try connection.prepare("DELETE FROM \(deadLetters) WHERE source_table = ?1 AND id = ?2")
            defer { delete.finalize() }
            for id in record.delivered {
                delete.reset()
                try delete.bind(table, at: 1)
                try delete.bind(id, at: 2)
                while try delete.step() {}
            }
            let update = try connection.prepare(
                "UPDATE \(deadLetters) SET event_id = ?3, event_type = ?4, destination = ?5, attempts = ?6, "
                    + "last_error = ?7, last_failed_at = ?8 WHERE source_table = ?1 AND id = ?2"
            )
            defer { update.finalize() }
            for entry in record.failed {
                let letter = entry.deadLetter
                update.reset()
                try update.bind(table, at: 1)
                try update.bind(entry.id, at: 2)
                try update.bind(letter.eventID, at: 3)
                try update.bind(letter.eventType, at: 4)
                try update.bind(letter.destination, at: 5)
                try update.bind(Int64(letter.attempts), at: 6)
                try update.bind(letter.lastError, at: 7)
                try update.bind(letter.lastFailedAt.sqlText, at: 8)
                while try update.step() {}
            }
            let insert = try connection.prepare(
                "INSERT INTO \(deadLetters) (\(OutboxSchema.deadLetterColumns.joined(separator: ", "))) "
                    + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            )
            defer { insert.finalize() }
            for letter in record.added {
                insert.reset()
                try bind(letter, to: insert)
                while try insert.step() {}
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw error
        }
    }
}
