import OutboxRelay

/// The SQL text of every statement the source runs, built once from validated, backquoted
/// names. Values (cursor positions, ids, dead letters) are appended as literals escaped by
/// the connection (``MySQLConnection/literal(_:)``) or as decimal integers.
struct MySQLStatements: Sendable {
    /// `SELECT … WHERE <undelivered>`; append `AND …`, then ``order``, then `LIMIT n`.
    let select: String
    /// ` ORDER BY …`.
    let order: String
    /// `UPDATE`/`DELETE … WHERE id IN (`; append the ids, then ``completeSuffix``.
    let completePrefix: String
    let completeSuffix: String
    /// `INSERT INTO <dead letters> (…) VALUES `; append `(…)` tuples.
    let insertDeadLetters: String
    let countBacklog: String
    let oldestUndelivered: String
    let countDeadLetters: String
    /// Quoted names, for cursor conditions.
    let id: String
    let time: String

    init(configuration: MySQLSource.Configuration) {
        let table = configuration.table.quoted(for: .mysql)
        let columns = configuration.columns
        func q(_ name: String) -> String { "`" + name + "`" }
        id = q(columns.id)
        let payload = q(columns.payload)
        switch configuration.flavour {
        case .outbox:
            let consumed = q(columns.consumed)
            time = ""
            select = "SELECT \(id), \(payload) FROM \(table) WHERE \(consumed) = 0"
            order = " ORDER BY \(id)"
            switch configuration.afterDelivery {
            case .mark:
                completePrefix = "UPDATE \(table) SET \(consumed) = 1 WHERE \(id) IN ("
                completeSuffix = ") AND \(consumed) = 0"
            case .delete:
                completePrefix = "DELETE FROM \(table) WHERE \(id) IN ("
                completeSuffix = ")"
            }
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(consumed) = 0"
            oldestUndelivered = "SELECT \(payload) FROM \(table) WHERE \(consumed) = 0 ORDER BY \(id) LIMIT 1"
        case .dispatcher:
            let dispatched = q(columns.dispatched)
            time = q(columns.timeOfRecording)
            select =
                "SELECT \(id), \(payload), DATE_FORMAT(\(time), '%Y-%m-%d %H:%i:%s.%f') FROM \(table) "
                + "WHERE \(dispatched) = 0"
            order = " ORDER BY \(time), \(id)"
            switch configuration.afterDelivery {
            case .mark:
                completePrefix =
                    "UPDATE \(table) SET \(dispatched) = 1, \(q(columns.timeOfDispatching)) = UTC_TIMESTAMP(6) "
                    + "WHERE \(id) IN ("
                completeSuffix = ") AND \(dispatched) = 0"
            case .delete:
                completePrefix = "DELETE FROM \(table) WHERE \(id) IN ("
                completeSuffix = ")"
            }
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(dispatched) = 0"
            oldestUndelivered =
                "SELECT TIMESTAMPDIFF(MICROSECOND, min(\(time)), UTC_TIMESTAMP(6)) FROM \(table) "
                + "WHERE \(dispatched) = 0"
        }
        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .mysql)
        let deadLetterColumns = OutboxSchema.deadLetterColumns.map(q).joined(separator: ", ")
        insertDeadLetters = "INSERT INTO \(deadLetters) (\(deadLetterColumns)) VALUES "
        countDeadLetters = "SELECT count(*) FROM \(deadLetters) WHERE `source_table` = "
    }
}
