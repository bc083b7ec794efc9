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

    /// Reads rows in relay order, delivered or not, on a separate short-lived connection.
    /// - Throws: ``SQLiteError``.
    public func rows(after cursor: OutboxCursor?, limit: Int) async throws -> [OutboxRow] {
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        let columns = configuration.columns
        let table = configuration.table.quoted(for: .sqlite)
        let id = columns.id.quoted(for: .sqlite)
        let payload = columns.payload.quoted(for: .sqlite)
        let time = columns.timeOfRecording.quoted(for: .sqlite)
        var rows: [OutboxRow] = []
        switch flavour {
        case .outbox:
            let statement = try connection.prepare(
                "SELECT \(id), \(payload) FROM \(table) WHERE \(id) > ?1 ORDER BY \(id) LIMIT ?2"
            )
            defer { statement.finalize() }
            var after = Int64.min
            if let cursor {
                guard case .integer(let value) = cursor.id else { return [] }
                after = value
            }
            try statement.bind(after, at: 1)
            try statement.bind(Int64(max(1, limit)), at: 2)
            while try statement.step() {
                rows.append(OutboxRow(id: .integer(statement.int64(at: 0)), payload: statement.bytes(at: 1)))
            }
        case .dispatcher:
            let select = "SELECT \(id), \(payload), \(time) FROM \(table)"
            let order = " ORDER BY \(time), \(id) LIMIT ?3"
            let statement = try connection.prepare(
                cursor == nil
                    ? select + order.replacing("?3", with: "?1")
                    : select + " WHERE (\(time), \(id)) > (?1, ?2)" + order
            )
            defer { statement.finalize() }
            if let cursor {
                try statement.bind(cursor.timeOfRecording ?? "", at: 1)
                try statement.bind(cursor.id.description, at: 2)
                try statement.bind(Int64(max(1, limit)), at: 3)
            } else {
                try statement.bind(Int64(max(1, limit)), at: 1)
            }
            while try statement.step() {
                rows.append(
                    OutboxRow(
                        id: .text(statement.text(at: 0) ?? ""),
                        payload: statement.bytes(at: 1),
                        timeOfRecording: statement.text(at: 2)
                    )
                )
            }
        }
        return rows
    }
}
