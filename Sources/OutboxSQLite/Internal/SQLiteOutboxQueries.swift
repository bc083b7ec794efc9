/// The SQL text ``SQLiteSource`` runs, built once from validated, quoted names.
struct SQLiteOutboxQueries: Sendable {
    /// How many ids one `IN (…)` list holds; larger completions run several statements in
    /// the same transaction. Well below SQLite's 32766 parameter limit.
    static let idsPerStatement = 200

    let flavour: OutboxFlavour
    let afterDelivery: AfterDelivery
    let table: String
    let deadLetterTable: String
    let id: String
    let payload: String
    let consumed: String
    let dispatched: String
    let timeOfRecording: String
    let timeOfDispatching: String

    init(configuration: SQLiteSource.Configuration) {
        flavour = configuration.flavour
        afterDelivery = configuration.afterDelivery
        table = configuration.table.quoted(for: .sqlite)
        deadLetterTable = configuration.deadLetterTable.quoted(for: .sqlite)
        let columns = configuration.columns
        id = columns.id.quoted(for: .sqlite)
        payload = columns.payload.quoted(for: .sqlite)
        consumed = columns.consumed.quoted(for: .sqlite)
        dispatched = columns.dispatched.quoted(for: .sqlite)
        timeOfRecording = columns.timeOfRecording.quoted(for: .sqlite)
        timeOfDispatching = columns.timeOfDispatching.quoted(for: .sqlite)
    }

    /// The flag column of the flavour.
    var deliveredFlag: String { flavour == .outbox ? consumed : dispatched }

    /// The columns a read returns: id, the payload, and for `dispatcher` the time of recording.
    ///
    /// SQLite 3.40 has no byte length of a TEXT value that does not load it (`octet_length`
    /// arrives in 3.43; `length(CAST(… AS BLOB))` loads it once per use), so
    /// ``SQLiteSource`` checks the size of the stepped value (`sqlite3_column_bytes`) before
    /// copying it: an oversized payload is read into SQLite's own row buffer once and never
    /// copied out.
    private var fetchColumns: String {
        flavour == .outbox ? "\(id), \(payload)" : "\(id), \(payload), \(timeOfRecording)"
    }

    /// `outbox`: `?1` = id after (Int64.min for the first page), `?2` = limit.
    /// `dispatcher`: `?1` = limit.
    var fetchFirst: String {
        switch flavour {
        case .outbox:
            return
                "SELECT \(fetchColumns) FROM \(table) WHERE \(consumed) = 0 AND \(id) > ?1 ORDER BY \(id) LIMIT ?2"
        case .dispatcher:
            return
                "SELECT \(fetchColumns) FROM \(table) WHERE \(dispatched) = 0 "
                + "ORDER BY \(timeOfRecording), \(id) LIMIT ?1"
        }
    }

    /// `dispatcher` only: `?1` = time_of_recording after, `?2` = id after, `?3` = limit.
    var fetchAfterDispatcher: String {
        "SELECT \(fetchColumns) FROM \(table) WHERE \(dispatched) = 0 "
            + "AND (\(timeOfRecording), \(id)) > (?1, ?2) ORDER BY \(timeOfRecording), \(id) LIMIT ?3"
    }

    /// Marks or deletes `count` rows: ids are `?2…` (`dispatcher` mark: `?1` = time of dispatching)
    /// or `?1…` otherwise.
    func complete(count: Int) -> String {
        switch (afterDelivery, flavour) {
        case (.delete, _):
            return "DELETE FROM \(table) WHERE \(id) IN (\(placeholders(from: 1, count: count)))"
        case (.mark, .outbox):
            return "UPDATE \(table) SET \(consumed) = 1 WHERE \(id) IN (\(placeholders(from: 1, count: count)))"
        case (.mark, .dispatcher):
            return
                "UPDATE \(table) SET \(dispatched) = 1, \(timeOfDispatching) = ?1 "
                + "WHERE \(id) IN (\(placeholders(from: 2, count: count)))"
        }
    }

    /// Whether ids start at `?2` in ``complete(count:)``.
    var completeBindsTime: Bool { afterDelivery == .mark && flavour == .dispatcher }

    /// Inserts one dead letter; parameters in ``OutboxSchema/deadLetterColumns`` order.
    var insertDeadLetter: String {
        let columns = OutboxSchema.deadLetterColumns
        return
            "INSERT INTO \(deadLetterTable) (\(columns.joined(separator: ", "))) "
            + "VALUES (\(placeholders(from: 1, count: columns.count)))"
    }

    /// Inserts one dead letter whose payload SQLite copies from the outbox row `?11`
    /// (``DeadLetter/payloadStaysInOutbox``); parameters as in ``insertDeadLetter``, `?6` unused.
    var insertDeadLetterFromOutbox: String {
        let columns = OutboxSchema.deadLetterColumns
        let values = (1...columns.count).map { $0 == 6 ? payload : "?\($0)" }.joined(separator: ", ")
        return
            "INSERT INTO \(deadLetterTable) (\(columns.joined(separator: ", "))) "
            + "SELECT \(values) FROM \(table) WHERE \(id) = ?11"
    }

    /// Seeds one row (``SQLiteSource/insert(payloads:)``), returning its id.
    /// `outbox`: `?1` = payload. `dispatcher`: `?1` = id, `?2` = payload, `?3` = time_of_recording.
    var insert: String {
        switch flavour {
        case .outbox:
            return "INSERT INTO \(table) (\(payload), \(consumed)) VALUES (?1, 0) RETURNING \(id)"
        case .dispatcher:
            return
                "INSERT INTO \(table) (\(id), \(payload), \(timeOfRecording), \(dispatched), \(timeOfDispatching)) "
                + "VALUES (?1, ?2, ?3, 0, NULL) RETURNING \(id)"
        }
    }

    /// Undelivered rows.
    var countUndelivered: String { "SELECT count(*) FROM \(table) WHERE \(deliveredFlag) = 0" }

    /// `outbox`: the oldest undelivered payload; `dispatcher`: the oldest undelivered time_of_recording.
    var oldestUndelivered: String {
        switch flavour {
        case .outbox: return "SELECT \(payload) FROM \(table) WHERE \(consumed) = 0 ORDER BY \(id) LIMIT 1"
        case .dispatcher: return "SELECT min(\(timeOfRecording)) FROM \(table) WHERE \(dispatched) = 0"
        }
    }

    /// Dead letters of this source table; `?1` = the table name as configured.
    var countDeadLetters: String { "SELECT count(*) FROM \(deadLetterTable) WHERE source_table = ?1" }

    /// `PRAGMA [schema.]table_info("name")` for a validated identifier.
    static func tableInfo(_ identifier: SQLIdentifier) -> String {
        let name = "\"" + identifier.name + "\""
        if let schema = identifier.schema {
            return "PRAGMA \"\(schema)\".table_info(\(name))"
        }
        return "PRAGMA table_info(\(name))"
    }

    private func placeholders(from first: Int, count: Int) -> String {
        (first..<(first + count)).map { "?\($0)" }.joined(separator: ", ")
    }
}
