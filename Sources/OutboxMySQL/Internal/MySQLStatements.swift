import OutboxRelay

/// The SQL text of every statement the source runs, built once from validated, backquoted
/// names. Values (cursor positions, ids, dead letters) are appended as literals escaped by
/// the connection (``MySQLConnection/literal(_:)``) or as decimal integers.
struct MySQLStatements: Sendable {
    /// `UPDATE`/`DELETE … WHERE id IN (`; append the ids, then ``completeSuffix``.
    let completePrefix: String
    let completeSuffix: String
    /// `dispatcher` only: `UPDATE`/`DELETE … WHERE <dispatched> … AND <time> BETWEEN `; append the
    /// ids' smallest and largest `time_of_recording` (`'a' AND 'b'`), then `AND id IN (`, the ids
    /// and ``completeSuffix``. PHP's `messages_outbox` has no index on `id`, so a bare `IN (…)`
    /// scans the table; the `(dispatched, time_of_recording)` index serves this range.
    let completeInTimeRangePrefix: String?
    /// `INSERT INTO <dead letters> (…) VALUES `; append `(…)` tuples.
    let insertDeadLetters: String
    let countBacklog: String
    /// `outbox` retention: the id of the newest consumed row beyond `keep` (append the count).
    let retentionThreshold: String
    /// Retention's bounded `DELETE`: append the bound (`outbox`: the threshold id; `dispatcher`:
    /// the age in microseconds), then ``retentionDeleteSuffix`` and the batch size.
    let retentionDelete: String
    let retentionDeleteSuffix: String
    let oldestUndelivered: String
    let countDeadLetters: String
    /// Quoted names, for cursor conditions.
    let id: String
    let time: String
    private let table: String
    private let payload: String
    /// The outbox table's payload column, quoted.
    var payloadColumn: String { payload }
    private let undelivered: String
    /// `INSERT INTO <dead letters> (…) SELECT `; append the nine values other than the payload
    /// (``OutboxSchema/deadLetterColumns`` order, the payload left out), then
    /// ``insertDeadLetterFromOutboxSuffix`` and the row id: the server copies the payload.
    let insertDeadLetterFromOutbox: String
    let insertDeadLetterFromOutboxSuffix: String

    init(configuration: MySQLSource.Configuration) {
        let table = configuration.table.quoted(for: .mysql)
        let columns = configuration.columns
        func q(_ name: String) -> String { "`" + name + "`" }
        id = q(columns.id)
        self.table = table
        let payload = q(columns.payload)
        self.payload = payload
        undelivered = q(configuration.flavour == .outbox ? columns.consumed : columns.dispatched) + " = 0"
        switch configuration.flavour {
        case .outbox:
            let consumed = q(columns.consumed)
            time = ""
            switch configuration.afterDelivery {
            case .mark:
                completePrefix = "UPDATE \(table) SET \(consumed) = 1 WHERE \(id) IN ("
                completeSuffix = ") AND \(consumed) = 0"
            case .delete:
                completePrefix = "DELETE FROM \(table) WHERE \(id) IN ("
                completeSuffix = ")"
            }
            completeInTimeRangePrefix = nil
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(consumed) = 0"
            retentionThreshold = "SELECT \(id) FROM \(table) WHERE \(consumed) = 1 ORDER BY \(id) DESC LIMIT 1 OFFSET "
            retentionDelete = "DELETE FROM \(table) WHERE \(consumed) = 1 AND \(id) <= "
            retentionDeleteSuffix = " ORDER BY \(id) LIMIT "
            oldestUndelivered = "SELECT \(payload) FROM \(table) WHERE \(consumed) = 0 ORDER BY \(id) LIMIT 1"
        case .dispatcher:
            let dispatched = q(columns.dispatched)
            time = q(columns.timeOfRecording)
            switch configuration.afterDelivery {
            case .mark:
                let update =
                    "UPDATE \(table) SET \(dispatched) = 1, \(q(columns.timeOfDispatching)) = UTC_TIMESTAMP(6) "
                completePrefix = update + "WHERE \(id) IN ("
                completeSuffix = ") AND \(dispatched) = 0"
                completeInTimeRangePrefix = update + "WHERE \(dispatched) = 0 AND \(time) BETWEEN "
            case .delete:
                completePrefix = "DELETE FROM \(table) WHERE \(id) IN ("
                completeSuffix = ")"
                // Both of PHP's values, so the index serves the range and no row is left out.
                completeInTimeRangePrefix = "DELETE FROM \(table) WHERE \(dispatched) IN (0, 1) AND \(time) BETWEEN "
            }
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(dispatched) = 0"
            retentionThreshold = ""
            retentionDelete =
                "DELETE FROM \(table) WHERE \(dispatched) = 1 AND \(q(columns.timeOfDispatching)) < "
                + "UTC_TIMESTAMP(6) - INTERVAL "
            retentionDeleteSuffix = " MICROSECOND ORDER BY \(time) LIMIT "
            oldestUndelivered =
                "SELECT TIMESTAMPDIFF(MICROSECOND, min(\(time)), UTC_TIMESTAMP(6)) FROM \(table) "
                + "WHERE \(dispatched) = 0"
        }
        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .mysql)
        let deadLetterColumns = OutboxSchema.deadLetterColumns.map(q).joined(separator: ", ")
        insertDeadLetters = "INSERT INTO \(deadLetters) (\(deadLetterColumns)) VALUES "
        insertDeadLetterFromOutbox = "INSERT INTO \(deadLetters) (\(deadLetterColumns)) SELECT "
        insertDeadLetterFromOutboxSuffix = " FROM \(table) WHERE \(id) = "
        countDeadLetters = "SELECT count(*) FROM \(deadLetters) WHERE `source_table` = "
    }

    /// `dispatcher` only: the `time_of_recording` (as text) of the undelivered row `offset` rows
    /// into index order after `condition` (`AND …` on the time column only, or empty), `nil` when
    /// fewer rows remain. An index-only scan of `offset + 1` entries of PHP's
    /// `(dispatched, time_of_recording)` index; ``boundedRead(condition:limit:maximumPayload:budget:)``
    /// bounded by it sorts only the rows up to there instead of every undelivered row (the index
    /// has no `id`, so `ORDER BY time_of_recording, id` cannot come from it).
    func readUpperBound(condition: String, offset: Int) -> String {
        "SELECT DATE_FORMAT(\(time), '%Y-%m-%d %H:%i:%s.%f') FROM \(table) WHERE \(undelivered)\(condition) "
            + "ORDER BY \(time) LIMIT 1 OFFSET \(max(0, offset))"
    }

    /// A bounded read of the undelivered rows matching `condition` (`AND …`, or empty): up to
    /// `limit` rows in relay order; the payload is NULL when longer than `maximumPayload` (it
    /// never leaves the server) and its length follows the other columns; and rows stop once
    /// the payloads before a row reach `budget` (the first row always comes). Columns: id,
    /// payload, [time of recording as text,] length.
    func boundedRead(condition: String, limit: Int, maximumPayload: Int, budget: Int) -> String {
        // Innermost: the rows, by index order and LIMIT (a top-n sort at most); only then the
        // running byte sum over those rows. A window over the WHERE clause's rows would read every
        // undelivered row's payload into a temporary table on each read.

        // The payload bytes of the rows before each row, in `order`.
        func bytesBefore(orderedBy order: String) -> String {
            "SUM(CASE WHEN n <= \(maximumPayload) THEN n ELSE 0 END) OVER (ORDER BY \(order) "
                + "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_bytes"
        }
        let budgetBytes = "GREATEST(\(budget), 1)"
        guard !time.isEmpty else {
            // `outbox`: the derived tables and the window carry only ids and lengths; the payloads
            // are joined back by primary key last. Carrying them through cost the server about as
            // much as the read itself (Benchmarks/NOTES-mysql.md).
            return """
                SELECT r.k, CASE WHEN r.n <= \(maximumPayload) THEN o.\(payload) END, r.n FROM (\
                SELECT l.*, \(bytesBefore(orderedBy: "k")) FROM (\
                SELECT \(id) AS k, LENGTH(\(payload)) AS n FROM \(table) WHERE \(undelivered)\(condition) \
                ORDER BY \(id) LIMIT \(limit)) l) r JOIN \(table) AS o ON o.\(id) = r.k \
                WHERE COALESCE(r.before_bytes, 0) < \(budgetBytes) ORDER BY r.k
                """
        }
        // `dispatcher`: PHP's table has no key to join back by (no primary key, no index on `id`).
        return """
            SELECT k, CASE WHEN n <= \(maximumPayload) THEN p END, t_text, n FROM (\
            SELECT l.*, \(bytesBefore(orderedBy: "t, k")) FROM (\
            SELECT \(id) AS k, \(time) AS t, DATE_FORMAT(\(time), '%Y-%m-%d %H:%i:%s.%f') AS t_text, \(payload) AS p, \
            LENGTH(\(payload)) AS n FROM \(table) WHERE \(undelivered)\(condition) ORDER BY \(time), \(id) \
            LIMIT \(limit)) l) r WHERE COALESCE(before_bytes, 0) < \(budgetBytes) ORDER BY t, k
            """
    }
}
