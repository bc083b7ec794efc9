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
}
