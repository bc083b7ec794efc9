import OutboxRelay

extension PostgresSource: OutboxRowLookup {
    /// Reads one row, delivered or not, on a separate short-lived session (no lock). The id is
    /// sent as text and typed by the server from the id column (`bigint`, `uuid`, `text`).
    /// - Throws: ``PostgresError``.
    public func row(id: OutboxRowID) async throws -> OutboxRow? {
        let connection = try PostgresConnection.session(for: configuration)
        let columns = configuration.columns
        func q(_ name: String) -> String { "\"" + name + "\"" }
        let table = configuration.table.quoted(for: .postgres)
        switch flavour {
        case .outbox:
            let result = try connection.execute(
                "SELECT \(q(columns.id)), \(q(columns.payload))::text FROM \(table) WHERE \(q(columns.id)) = $1",
                [id.description]
            )
            guard result.rowCount > 0, let value = result.int64(0, 0) else { return nil }
            return OutboxRow(id: .integer(value), payload: result.bytes(0, 1))
        case .dispatcher:
            let result = try connection.execute(
                "SELECT \(q(columns.id))::text, \(q(columns.payload))::text, "
                    + "to_char(\(q(columns.timeOfRecording)), 'YYYY-MM-DD HH24:MI:SS.US') FROM \(table) "
                    + "WHERE \(q(columns.id)) = $1",
                [id.description]
            )
            guard result.rowCount > 0 else { return nil }
            return OutboxRow(
                id: .text(result.string(0, 0) ?? ""),
                payload: result.bytes(0, 1),
                timeOfRecording: result.string(0, 2)
            )
        }
    }

    /// Reads rows in relay order, delivered or not, on a separate short-lived session (no lock).
    /// - Throws: ``PostgresError``.
    public func rows(after cursor: OutboxCursor?, limit: Int) async throws -> [OutboxRow] {
        let connection = try PostgresConnection.session(for: configuration)
        let columns = configuration.columns
        func q(_ name: String) -> String { "\"" + name + "\"" }
        let table = configuration.table.quoted(for: .postgres)
        let id = q(columns.id)
        var rows: [OutboxRow] = []
        switch flavour {
        case .outbox:
            let select = "SELECT \(id), \(q(columns.payload))::text FROM \(table)"
            let result =
                if let cursor {
                    try connection.execute(
                        select + " WHERE \(id) > $1 ORDER BY \(id) LIMIT $2",
                        [cursor.id.description, String(max(1, limit))]
                    )
                } else {
                    try connection.execute(select + " ORDER BY \(id) LIMIT $1", [String(max(1, limit))])
                }
            for row in 0..<result.rowCount {
                guard let value = result.int64(row, 0) else { continue }
                rows.append(OutboxRow(id: .integer(value), payload: result.bytes(row, 1)))
            }
        case .dispatcher:
            let time = q(columns.timeOfRecording)
            let select =
                "SELECT \(id)::text, \(q(columns.payload))::text, to_char(\(time), 'YYYY-MM-DD HH24:MI:SS.US') "
                + "FROM \(table)"
            let result =
                if let cursor {
                    try connection.execute(
                        select + " WHERE \(time) >= $1::timestamp AND (\(time), \(id)::text) > ($1::timestamp, $2) "
                            + "ORDER BY \(time), \(id)::text LIMIT $3",
                        [cursor.timeOfRecording, cursor.id.description, String(max(1, limit))]
                    )
                } else {
                    try connection.execute(select + " ORDER BY \(time), \(id)::text LIMIT $1", [String(max(1, limit))])
                }
            for row in 0..<result.rowCount {
                rows.append(
                    OutboxRow(
                        id: .text(result.string(row, 0) ?? ""),
                        payload: result.bytes(row, 1),
                        timeOfRecording: result.string(row, 2)
                    )
                )
            }
        }
        return rows
    }
}
