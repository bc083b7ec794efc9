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

    /// Reads rows in relay order, delivered or not, on a separate short-lived connection (no `GET_LOCK`).
    /// - Throws: ``MySQLError``.
    public func rows(after cursor: OutboxCursor?, limit: Int) async throws -> [OutboxRow] {
        let connection = try MySQLConnection.connect(configuration.connection, password: configuration.password)
        let columns = configuration.columns
        func q(_ name: String) -> String { "`" + name + "`" }
        let table = configuration.table.quoted(for: .mysql)
        let id = q(columns.id)
        var rows: [OutboxRow] = []
        switch flavour {
        case .outbox:
            var sql = "SELECT \(id), \(q(columns.payload)) FROM \(table)"
            if let cursor {
                guard case .integer(let value) = cursor.id else { return [] }
                sql += " WHERE \(id) > \(value)"
            }
            try connection.query(sql + " ORDER BY \(id) LIMIT \(max(1, limit))") { row in
                if let value = row.int64(0) { rows.append(OutboxRow(id: .integer(value), payload: row.bytes(1))) }
            }
        case .dispatcher:
            let time = q(columns.timeOfRecording)
            var sql =
                "SELECT \(id), \(q(columns.payload)), DATE_FORMAT(\(time), '%Y-%m-%d %H:%i:%s.%f') FROM \(table)"
            if let cursor {
                let t = connection.literal(cursor.timeOfRecording ?? "")
                let after = connection.literal(cursor.id.description)
                sql += " WHERE \(time) >= \(t) AND (\(time) > \(t) OR (\(time) = \(t) AND \(id) > \(after)))"
            }
            try connection.query(sql + " ORDER BY \(time), \(id) LIMIT \(max(1, limit))") { row in
                rows.append(
                    OutboxRow(id: .text(row.string(0) ?? ""), payload: row.bytes(1), timeOfRecording: row.string(2))
                )
            }
        }
        return rows
    }
}
