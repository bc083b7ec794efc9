import OutboxRelay

extension SQLiteSource: OutboxRowLookup {
    /// Reads one row, delivered or not, on a separate short-lived connection.
    /// - Throws: ``SQLiteError`` (missing file or table).
    public func row(id: OutboxRowID) async throws -> OutboxRow? {
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        let columns = configuration.columns
        let table = configuration.table.quoted(for: .sqlite)
        let idColumn = columns.id.quoted(for: .sqlite)
        let payload = columns.payload.quoted(for: .sqlite)
        let statement: SQLiteStatement
        switch flavour {
        case .outbox:
            statement = try connection.prepare("SELECT \(idColumn), \(payload) FROM \(table) WHERE \(idColumn) = ?1")
        case .dispatcher:
            let time = columns.timeOfRecording.quoted(for: .sqlite)
            statement = try connection.prepare(
                "SELECT \(idColumn), \(payload), \(time) FROM \(table) WHERE \(idColumn) = ?1"
            )
        }
        defer { statement.finalize() }
        switch id {
        case .integer(let value): try statement.bind(value, at: 1)
        case .text(let value): try statement.bind(value, at: 1)
        }
        guard try statement.step() else { return nil }
        switch flavour {
        case .outbox:
            return OutboxRow(id: .integer(statement.int64(at: 0)), payload: statement.bytes(at: 1))
        case .dispatcher:
            return OutboxRow(
                id: .text(statement.text(at: 0) ?? ""),
                payload: statement.bytes(at: 1),
                timeOfRecording: statement.text(at: 2)
            )
        }
    }
}
