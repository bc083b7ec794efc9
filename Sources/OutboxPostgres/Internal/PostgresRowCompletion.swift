import Logging
import OutboxRelay

/// The SQL of completing delivered rows: dead letters in, rows marked (or deleted), and the
/// retention cleanup. Runs on whichever connection completes rows (see
/// ``PostgresSource/Configuration/WriteConnection``).
struct PostgresRowCompletion: Sendable {
    let configuration: PostgresSource.Configuration
    let statements: PostgresStatements
    /// The outbox table as configured (recorded in dead letters).
    let table: String

    /// Inserts the dead letters and marks (or deletes) the rows, in one transaction.
    ///
    /// Ids go in chunks of ``PostgresSource/Configuration/completeChunkSize`` per `= ANY($1)`
    /// statement; a batch without dead letters that fits one chunk is one autocommitted
    /// statement. Parked deliveries are inserted in the same transaction, in order.
    func complete(
        _ connection: PostgresConnection,
        rows: [OutboxRowID],
        deadLetters: [DeadLetter],
        parked: [ParkedDelivery] = []
    ) throws(PostgresError) {
        try connection.prepare("outbox_relay_complete", statements.complete)
        if deadLetters.isEmpty && parked.isEmpty && rows.count <= configuration.completeChunkSize {
            // One statement is atomic by itself: skip BEGIN/COMMIT (two round trips).
            try connection.executePrepared("outbox_relay_complete", [rows.postgresArrayLiteral])
            return
        }
        try connection.execute("BEGIN")
        do {
            if !deadLetters.isEmpty {
                try connection.prepare("outbox_relay_insert_dead_letter", statements.insertDeadLetter)
                try connection.prepare(
                    "outbox_relay_insert_dead_letter_from_outbox",
                    statements.insertDeadLetterFromOutbox
                )
                for letter in deadLetters {
                    var parameters: [String?] = [
                        table, letter.rowID.description, letter.eventID, letter.eventType, letter.destination,
                        String(letter.attempts), letter.lastError, letter.firstFailedAt.rfc3339,
                        letter.lastFailedAt.rfc3339,
                    ]
                    if letter.payloadStaysInOutbox {
                        // The server copies the payload: the relay never read it.
                        parameters.append(letter.rowID.description)
                        try connection.executePrepared("outbox_relay_insert_dead_letter_from_outbox", parameters)
                    } else {
                        parameters.insert(nil, at: 5)
                        try connection.executePrepared(
                            "outbox_relay_insert_dead_letter",
                            parameters,
                            binary: letter.payload,
                            at: 5
                        )
                    }
                }
            }
            if !parked.isEmpty { try insertParked(parked, on: connection) }
            var start = 0
            while start < rows.count {
                let end = min(start + configuration.completeChunkSize, rows.count)
                try connection.executePrepared("outbox_relay_complete", [Array(rows[start..<end]).postgresArrayLiteral])
                start = end
            }
            try connection.execute("COMMIT")
        } catch {
            if !error.isConnectionFailure { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs ``runRetention(_:logger:)`` when ``PostgresSource/Configuration/Retention/interval``
    /// has passed since `lastRun` (which it updates).
    func runRetentionIfDue(_ connection: PostgresConnection?, lastRun: inout ContinuousClock.Instant?, logger: Logger) {
        guard let retention = configuration.retention else { return }
        let now = ContinuousClock.now
        if let lastRun, now - lastRun < retention.interval { return }
        lastRun = now
        guard let connection, connection.isHealthy else { return }
        runRetention(connection, logger: logger)
    }

    /// Deletes delivered rows past the retention limit, in bounded batches; logs failures.
    func runRetention(_ connection: PostgresConnection, logger: Logger) {
        guard let retention = configuration.retention, let sql = statements.retention else { return }
        let first: String
        if let age = retention.maximumAge {
            first = "\(age.seconds) seconds"
        } else {
            first = String(retention.keepNewest ?? 0)
        }
        do {
            try connection.prepare("outbox_relay_retention", sql)
            var deleted = 0
            for _ in 0..<retention.maximumBatchesPerRun {
                let result = try connection.executePrepared(
                    "outbox_relay_retention",
                    [first, String(retention.batchSize)]
                )
                let count = result.affectedRows
                deleted += count
                if count < retention.batchSize { break }
            }
            if deleted > 0 {
                logger.info(
                    "postgres: retention deleted delivered rows",
                    metadata: ["rows": "\(deleted)", "table": "\(table)"]
                )
            }
        } catch {
            logger.warning(
                "postgres: retention failed; will retry",
                metadata: ["error": "\(error)", "retry_in": "\(retention.interval)"]
            )
        }
    }
}
