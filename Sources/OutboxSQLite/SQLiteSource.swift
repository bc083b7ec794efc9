import CSQLite

/// Reads an EventSauce outbox table in an SQLite database, exactly as PHP wrote it.
///
/// One `sqlite3*` connection, owned by this actor on its own thread
/// (``DedicatedThreadExecutor``): SQLite's blocking calls never occupy Swift's cooperative
/// thread pool, and each engine call is one hand-off carrying a whole batch.
///
/// - `outbox` flavour: reads `WHERE consumed = 0 ORDER BY id`, marks `consumed = 1`.
/// - `dispatcher` flavour: reads `WHERE dispatched = 0 ORDER BY time_of_recording, id`, marks
///   `dispatched = 1, time_of_dispatching = '<now UTC, YYYY-MM-DD HH:MM:SS.ffffff>'`.
/// - With ``AfterDelivery/delete`` rows are deleted instead.
///
/// ``open()`` switches the database to WAL journal mode (persistent: PHP keeps working, and
/// readers no longer block the writer), sets the busy timeout, checks that the table and
/// every configured column exist, and **creates the dead-letter table if it is missing**
/// (``OutboxSchema/deadLetterTable(dialect:table:)``). ``complete(rows:deadLetters:)`` inserts
/// dead letters and marks (or deletes) rows in one `BEGIN IMMEDIATE` transaction.
///
/// Payloads are read as raw bytes, so empty strings, truncated JSON and invalid UTF-8 reach
/// the engine untouched (and are dead-lettered byte for byte).
///
/// Do not run a PHP relay and this relay against the same table at once: neither locks
/// rows, so both would deliver every message.
public actor SQLiteSource: OutboxSource, OutboxStatusReporting {
    /// The configuration this source was created with.
    public nonisolated let configuration: Configuration
    /// The table flavour.
    public nonisolated var flavour: OutboxFlavour { configuration.flavour }
    /// The outbox table as configured.
    public nonisolated var table: String { configuration.table.description }
    /// The journal mode SQLite reported after ``open()`` asked for WAL (`wal`, or e.g. `memory`
    /// for an in-memory database); `nil` before ``open()``.
    public private(set) var journalMode: String?

    private let executor: DedicatedThreadExecutor
    private let queries: SQLiteOutboxQueries
    private var connection: SQLiteConnection?
    private var isOpen = false
    /// `PRAGMA data_version` when rows were last read: another connection's commit changes it.
    private var lastDataVersion: Int64?
    /// Set by ``insert(payloads:)`` on this connection, which `data_version` does not report.
    private var insertedLocally = false

    /// The executor every method of this actor runs on.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Creates a source. Nothing is opened until ``open()`` (or ``createTables()``).
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.queries = SQLiteOutboxQueries(configuration: configuration)
        self.executor = DedicatedThreadExecutor(name: "sqlite-source")
    }

    deinit {
        // The connection closes itself when released; let the thread exit.
        executor.shutdown()
    }

    // MARK: OutboxSource

    /// Opens the database, switches it to WAL, checks the outbox table and its columns, and
    /// creates the dead-letter table if it does not exist.
    /// - Throws: ``SQLiteError``: `cannotOpen` (missing file: this method never creates the
    ///   database), `missingTable` or `missingColumn` naming what is missing, `busy`.
    public func open() async throws {
        let connection = try connect(create: false)
        journalMode = try? connection.query("PRAGMA journal_mode=WAL") { $0.text(at: 0) }.first ?? nil
        try checkColumns(
            of: configuration.table,
            in: connection,
            expected: configuration.columns.used(by: flavour),
            what: "outbox table"
        )
        try connection.execute(OutboxSchema.deadLetterTable(dialect: .sqlite, table: configuration.deadLetterTable))
        try checkColumns(
            of: configuration.deadLetterTable,
            in: connection,
            expected: OutboxSchema.deadLetterColumns.map {
                (role: "dead-letter column", name: try! SQLIdentifier($0, allowsSchema: false))
            },
            what: "dead-letter table"
        )
        try connection.execute(
            OutboxSchema.parkedDeliveriesTable(dialect: .sqlite, table: configuration.parkedDeliveriesTable)
        )
        // Prepare now, so a problem shows at startup rather than at the first batch.
        _ = try connection.statement(queries.fetchFirst)
        if flavour == .dispatcher { _ = try connection.statement(queries.fetchAfterDispatcher) }
        _ = try connection.statement(queries.insertDeadLetter)
        _ = try connection.statement(queries.insertDeadLetterFromOutbox)
        lastDataVersion = try dataVersion(connection)
        isOpen = true
    }

    /// Reads up to `limit` undelivered rows after `cursor`, in relay order.
    /// - Throws: ``SQLiteError`` (`notOpen`, `invalidCursor` for a cursor of the other
    ///   flavour, `busy`, `statementFailed`).
    public func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await fetch(limit: limit, maximumBytes: .max, after: cursor)
    }

    /// Reads up to `limit` undelivered rows after `cursor`, in relay order, stepping no further
    /// once the rows read hold `maximumBytes` of payload. A payload above
    /// ``Configuration-swift.struct/maximumPayloadBytes`` is not copied out of SQLite: its row
    /// comes back with ``OutboxRow/oversizedPayload`` set.
    /// - Throws: ``SQLiteError`` (`notOpen`, `invalidCursor` for a cursor of the other
    ///   flavour, `busy`, `statementFailed`).
    public func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        let connection = try requireOpen()
        // SQLite reads a negative LIMIT as "no limit": never let a bad value unbound memory.
        let limit = max(1, limit)
        lastDataVersion = try dataVersion(connection)
        insertedLocally = false
        let statement: SQLiteStatement
        switch (flavour, cursor) {
        case (.outbox, nil):
            statement = try connection.statement(queries.fetchFirst)
            try statement.bind(Int64.min, at: 1)
            try statement.bind(Int64(limit), at: 2)
        case (.outbox, let cursor?):
            guard case .integer(let id) = cursor.id else {
                throw SQLiteError(
                    code: .invalidCursor,
                    message: "the outbox flavour orders by an integer id, got the cursor \(cursor.id)"
                )
            }
            statement = try connection.statement(queries.fetchFirst)
            try statement.bind(id, at: 1)
            try statement.bind(Int64(limit), at: 2)
        case (.dispatcher, nil):
            statement = try connection.statement(queries.fetchFirst)
            try statement.bind(Int64(limit), at: 1)
        case (.dispatcher, let cursor?):
            guard let time = cursor.timeOfRecording else {
                throw SQLiteError(
                    code: .invalidCursor,
                    message:
                        "the dispatcher flavour orders by (time_of_recording, id), "
                        + "got a cursor without time_of_recording"
                )
            }
            statement = try connection.statement(queries.fetchAfterDispatcher)
            try statement.bind(time, at: 1)
            try bind(cursor.id, to: statement, at: 2)
            try statement.bind(Int64(limit), at: 3)
        }
        let maximumPayload = configuration.maximumPayloadBytes
        defer { statement.reset() }
        var rows: [OutboxRow] = []
        rows.reserveCapacity(min(limit, 4096))
        var bytes = 0
        while rows.isEmpty || bytes < maximumBytes, try statement.step() {
            let id: OutboxRowID =
                flavour == .outbox ? .integer(statement.int64(at: 0)) : .text(statement.text(at: 0) ?? "")
            let time = flavour == .dispatcher ? statement.text(at: 2) : nil
            let size = statement.byteCount(at: 1)
            if size > maximumPayload {
                let oversized = OversizedPayload(size: size, limit: maximumPayload)
                rows.append(OutboxRow(id: id, payload: [], timeOfRecording: time, oversizedPayload: oversized))
            } else {
                let row = OutboxRow(id: id, payload: statement.bytes(at: 1), timeOfRecording: time)
                bytes += row.payload.count
                rows.append(row)
            }
        }
        return rows
    }

    /// In one `BEGIN IMMEDIATE` transaction: inserts the dead letters, then marks (or deletes)
    /// the rows. Nothing is written when any statement fails.
    /// - Throws: ``SQLiteError``; the transaction is rolled back.
    public func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        try completeRows(rows, deadLetters: deadLetters, parked: [])
    }

    /// ``complete(rows:deadLetters:)``, also writing parked deliveries in the same transaction.
    func completeRows(_ rows: [OutboxRowID], deadLetters: [DeadLetter], parked: [ParkedDelivery]) throws {
        let connection = try requireOpen()
        guard !rows.isEmpty || !deadLetters.isEmpty || !parked.isEmpty else { return }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            if !deadLetters.isEmpty {
                let insert = try connection.statement(queries.insertDeadLetter)
                for deadLetter in deadLetters {
                    if deadLetter.payloadStaysInOutbox {
                        try insertCopyingPayload(deadLetter, connection)
                        continue
                    }
                    try bind(deadLetter, to: insert)
                    try insert.run()
                }
            }
            if !parked.isEmpty { try insertParked(parked, on: connection) }
            let dispatchedAt = Timestamp.now().sqlText
            var start = 0
            while start < rows.count {
                let end = min(start + SQLiteOutboxQueries.idsPerStatement, rows.count)
                let statement = try connection.statement(queries.complete(count: end - start))
                var index: Int32 = 1
                if queries.completeBindsTime {
                    try statement.bind(dispatchedAt, at: 1)
                    index = 2
                }
                for id in rows[start..<end] {
                    try bind(id, to: statement, at: index)
                    index += 1
                }
                try statement.run()
                start = end
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Returns as soon as another connection commits to the database (checked every
    /// ``Configuration-swift.struct/changePollInterval`` with `PRAGMA data_version`), or after
    /// `timeout`. SQLite has no notifications; this keeps the latency low without re-running
    /// the fetch query.
    public func waitForRows(timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !Task.isCancelled {
            if insertedLocally { return }
            if let connection, isOpen, let last = lastDataVersion {
                guard let current = try? dataVersion(connection) else { return }
                if current != last { return }
            }
            let remaining = deadline - clock.now
            if remaining <= .zero { return }
            try? await Task.sleep(for: min(remaining, configuration.changePollInterval))
        }
    }

    /// Closes the connection. The source can be opened again.
    public func close() async {
        connection?.close()
        connection = nil
        isOpen = false
        lastDataVersion = nil
    }

    // MARK: OutboxStatusReporting

    /// Counts undelivered rows and this table's dead letters, and the age of the oldest
    /// undelivered row (`dispatcher`: its `time_of_recording`; `outbox`: its message's
    /// `__time_of_recording` header). Uses a separate short-lived connection; works without
    /// ``open()`` and never writes (the dead-letter count is 0 when that table does not exist).
    /// - Throws: ``SQLiteError`` (missing file or table).
    public func status() async throws -> OutboxStatus {
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: false,
            busyTimeout: configuration.busyTimeout
        )
        defer { connection.close() }
        try checkColumns(
            of: configuration.table,
            in: connection,
            expected: configuration.columns.used(by: flavour),
            what: "outbox table"
        )
        let backlog = try connection.query(queries.countUndelivered) { $0.int64(at: 0) }.first ?? 0
        var recordedAt: Timestamp?
        switch flavour {
        case .dispatcher:
            if let text = try connection.query(queries.oldestUndelivered, read: { $0.text(at: 0) }).first ?? nil {
                recordedAt = Self.parseSQLTime(text)
            }
        case .outbox:
            if let payload = try connection.query(queries.oldestUndelivered, read: { $0.bytes(at: 0) }).first {
                recordedAt = try? EnvelopeDecoder(table: table).decode(OutboxRow(id: .integer(0), payload: payload))
                    .timeOfRecording
            }
        }
        var deadLetters: Int64 = 0
        let deadLetterTableExists = try !connection.query(SQLiteOutboxQueries.tableInfo(configuration.deadLetterTable))
        { $0.text(at: 1) }.isEmpty
        if deadLetterTableExists {
            let statement = try connection.prepare(queries.countDeadLetters)
            defer { statement.finalize() }
            try statement.bind(table, at: 1)
            if try statement.step() { deadLetters = statement.int64(at: 0) }
        }
        let age = recordedAt.map { max(.zero, Timestamp.now().duration(since: $0)) }
        return OutboxStatus(
            backlog: Int(backlog),
            oldestUndeliveredAge: age,
            deadLetters: Int(deadLetters),
            lockHolder: nil
        )
    }

    // MARK: Demo and test conveniences

    /// Creates the outbox table (``OutboxSchema/outboxTable(flavour:dialect:table:)``, PHP's
    /// column names: column overrides are not applied), the dead-letter and the parked-deliveries
    /// tables, if missing.
    /// Creates the database file if needed. For demos and tests: production tables are PHP's.
    /// - Throws: ``SQLiteError``.
    public func createTables() async throws {
        let connection = try connect(create: true)
        try connection.execute(OutboxSchema.outboxTable(flavour: flavour, dialect: .sqlite, table: configuration.table))
        try connection.execute(OutboxSchema.deadLetterTable(dialect: .sqlite, table: configuration.deadLetterTable))
        try connection.execute(
            OutboxSchema.parkedDeliveriesTable(dialect: .sqlite, table: configuration.parkedDeliveriesTable)
        )
    }

    /// Appends rows as PHP would, in one transaction, and returns their ids. For demos and
    /// tests (PHP writes the rows in production).
    ///
    /// `outbox` flavour: `(payload, consumed = 0)`. `dispatcher` flavour: the id is the
    /// message's `__event_id` (a random UUID when it has none or is not a message) and
    /// `time_of_recording` its `__time_of_recording` in UTC (now when absent).
    /// Payloads are stored byte for byte (as a BLOB when not valid UTF-8).
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func insert(payloads: [[UInt8]]) async throws -> [OutboxRowID] {
        let connection = try connect(create: false)
        let statement = try connection.statement(queries.insert)
        let decoder = EnvelopeDecoder(table: table)
        var ids: [OutboxRowID] = []
        ids.reserveCapacity(payloads.count)
        try connection.execute("BEGIN IMMEDIATE")
        do {
            for payload in payloads {
                switch flavour {
                case .outbox:
                    try statement.bind(bytes: payload, at: 1)
                case .dispatcher:
                    let message = try? decoder.decode(OutboxRow(id: .integer(0), payload: payload))
                    let id = message.flatMap { $0.eventIDIsDerived ? nil : $0.eventID } ?? Self.randomUUID()
                    try statement.bind(id, at: 1)
                    try statement.bind(bytes: payload, at: 2)
                    try statement.bind((message?.timeOfRecording ?? Timestamp.now()).sqlText, at: 3)
                }
                defer { statement.reset() }
                guard try statement.step() else {
                    throw SQLiteError(code: .statementFailed, message: "the insert returned no id", sql: statement.sql)
                }
                ids.append(flavour == .outbox ? .integer(statement.int64(at: 0)) : .text(statement.text(at: 0) ?? ""))
                while try statement.step() {}
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw error
        }
        insertedLocally = true
        return ids
    }

    // MARK: Internals

    private func connect(create: Bool) throws(SQLiteError) -> SQLiteConnection {
        if let connection { return connection }
        let connection = try SQLiteConnection(
            path: configuration.path,
            create: create,
            busyTimeout: configuration.busyTimeout
        )
        self.connection = connection
        return connection
    }

    func requireOpen() throws(SQLiteError) -> SQLiteConnection {
        guard isOpen, let connection else {
            throw SQLiteError(
                code: .notOpen,
                message: "the SQLite source for \(configuration.path) is not open; call open() first"
            )
        }
        return connection
    }

    private func dataVersion(_ connection: SQLiteConnection) throws(SQLiteError) -> Int64 {
        let statement = try connection.statement("PRAGMA data_version")
        defer { statement.reset() }
        return try statement.step() ? statement.int64(at: 0) : 0
    }

    private func checkColumns(
        of table: SQLIdentifier,
        in connection: SQLiteConnection,
        expected: [(role: String, name: SQLIdentifier)],
        what: String
    ) throws(SQLiteError) {
        let sql = SQLiteOutboxQueries.tableInfo(table)
        if let schema = table.schema {
            // SQLite schema names are ASCII case-insensitive; `temp` exists before first use.
            let databases = try connection.query("PRAGMA database_list") { $0.text(at: 1)?.lowercased() ?? "" }
            guard schema.lowercased() == "temp" || databases.contains(schema.lowercased()) else {
                throw SQLiteError(
                    code: .missingTable,
                    message:
                        "the \(what) \"\(table)\" names the schema \"\(schema)\", "
                        + "which is not a database of \(configuration.path) (main, temp); check source.table",
                    sql: sql
                )
            }
        }
        let names = try connection.query(sql) { $0.text(at: 1) ?? "" }
        guard !names.isEmpty else {
            throw SQLiteError(
                code: .missingTable,
                message:
                    "the \(what) \"\(table)\" does not exist in \(configuration.path) (flavour \(flavour)); "
                    + "check source.table, or create it with OutboxSchema's SQLite DDL",
                sql: sql
            )
        }
        let present = Set(names.map { $0.lowercased() })
        let missing = expected.filter { !present.contains($0.name.name.lowercased()) }
        guard missing.isEmpty else {
            let list = missing.map {
                "\"\($0.name)\"" + ($0.role == $0.name.name || $0.role.contains(" ") ? "" : " (\($0.role))")
            }.joined(separator: ", ")
            throw SQLiteError(
                code: .missingColumn,
                message:
                    "the \(what) \"\(table)\" in \(configuration.path) has no column \(list); it has: "
                    + "\(names.joined(separator: ", ")). Set source.columns if the application renamed it",
                sql: sql
            )
        }
    }

    func bind(_ id: OutboxRowID, to statement: SQLiteStatement, at index: Int32) throws(SQLiteError) {
        switch id {
        case .integer(let value): try statement.bind(value, at: index)
        case .text(let value): try statement.bind(value, at: index)
        }
    }

    /// Inserts a dead letter whose payload stays in the outbox row (``DeadLetter/payloadStaysInOutbox``)
    /// with `INSERT … SELECT`: the relay never holds it. (SQLite itself holds it twice for the
    /// statement — the value read and the new record — as it does for any row it writes;
    /// incremental blob I/O would not help, a zeroblob not at the end of the record is expanded.)
    private func insertCopyingPayload(_ deadLetter: DeadLetter, _ connection: SQLiteConnection) throws(SQLiteError) {
        let insert = try connection.statement(queries.insertDeadLetterFromOutbox)
        try bind(deadLetter, to: insert)
        try bind(deadLetter.rowID, to: insert, at: 11)
        try insert.run()
    }

    /// Binds in ``OutboxSchema/deadLetterColumns`` order.
    func bind(_ deadLetter: DeadLetter, to statement: SQLiteStatement) throws(SQLiteError) {
        try statement.bind(table, at: 1)
        try statement.bind(deadLetter.rowID.description, at: 2)
        try statement.bind(deadLetter.eventID, at: 3)
        try statement.bind(deadLetter.eventType, at: 4)
        try statement.bind(deadLetter.destination, at: 5)
        try statement.bind(bytes: deadLetter.payload, at: 6)
        try statement.bind(Int64(deadLetter.attempts), at: 7)
        try statement.bind(deadLetter.lastError, at: 8)
        try statement.bind(deadLetter.firstFailedAt.sqlText, at: 9)
        try statement.bind(deadLetter.lastFailedAt.sqlText, at: 10)
    }

    /// Reads `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC).
    static func parseSQLTime(_ text: String) -> Timestamp? {
        PHPDateFormat("Y-m-d H:i:s.u").parse(text) ?? PHPDateFormat("Y-m-d H:i:s").parse(text)
    }

    private static func randomUUID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}
