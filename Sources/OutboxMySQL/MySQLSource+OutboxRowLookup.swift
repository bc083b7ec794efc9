import OutboxRelay

extension MySQLSource: OutboxRowLookup {
    /// Reads one row, delivered or not, on a separate short-lived connection (no `GET_LOCK`).
    /// - Throws: ``MySQLError``.
    public func row(id: OutboxRowID) async throws -> OutboxRow? {
        let connection = try MySQLConnection.connect(configuration.connection, password: configuration.password)
        let columns = configuration.columns
        func q(_ name: String) -> String { "`" + name + "`" }
        let table = configuration.table.quoted(for: .mysql)
        let key: String
        switch id {
        case .integer(let value): key = String(value)
        case .text(let value): key = connection.literal(value)
        }
        var row: OutboxRow?
        switch flavour {
        case .outbox:
            try connection.query(
                "SELECT \(q(columns.id)), \(q(columns.payload)) FROM \(table) WHERE \(q(columns.id)) = \(key)"
            ) { result in
                if let value = result.int64(0) { row = OutboxRow(id: .integer(value), payload: result.bytes(1)) }
            }
        case .dispatcher:
            try connection.query(
                "SELECT \(q(columns.id)), \(q(columns.payload)), "
                    + "DATE_FORMAT(\(q(columns.timeOfRecording)), '%Y-%m-%d %H:%i:%s.%f') FROM \(table) "
                    + "WHERE \(q(columns.id)) = \(key)"
            ) { result in
                row = OutboxRow(
                    id: .text(result.string(0) ?? ""),
                    payload: result.bytes(1),
                    timeOfRecording: result.string(2)
                )
            }
        }
        return row
    }
}
