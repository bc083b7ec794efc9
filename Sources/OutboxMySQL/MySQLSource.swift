import Logging
import OutboxRelay

/// Reads an EventSauce outbox table in MySQL or MariaDB through MariaDB Connector/C, for both
/// table flavours.
///
/// One actor owns the `MYSQL*` connection on a ``DedicatedThreadExecutor``, so blocking
/// Connector/C calls never occupy the cooperative thread pool; each call moves a whole batch.
/// The session reads at READ COMMITTED in UTC with `utf8mb4`; every read is one autocommitted
/// `SELECT` without a locking clause, so no transaction stays open while transports work and
/// no gap lock ever blocks PHP's inserts.
///
/// **Payload bytes.** The payload column is read as text and forwarded byte for byte. MariaDB
/// stores `JSON` as `LONGTEXT` (with a `json_valid` check), so its bytes are PHP's. MySQL 8
/// stores `JSON` in a binary form and returns a normalised text (keys sorted, its own
/// spacing): envelopes from MySQL 8 `dispatcher` tables are JSON-equal to what PHP wrote, not
/// byte-identical.
///
/// **Many relays, one table.** With the default ``Configuration/Lock/Mode/getLock``, the
/// active relay holds `GET_LOCK('outbox-relay:<database>.<table>', 0)` on its data connection.
/// Other relays wait in ``open()`` as hot standbys, trying again every
/// ``Configuration/Lock/standbyPollInterval``, and take over as soon as the holder's session
/// ends (exit, crash, `kill -9`, network loss noticed by the server). A relay that reconnects
/// while another holds the lock becomes a standby. `GET_LOCK` is local to one server: on
/// Galera or Group Replication clusters it does not coordinate relays connected to different
/// nodes, so point every relay at the same node (or a proxy that pins one writer).
///
/// **Order.** `outbox` rows are read by `id`; `dispatcher` rows by (`time_of_recording`, `id`),
/// and a batch is extended to the end of its last row's time tie group (by up to one more
/// batch, at least 100 rows) so the engine can order a tie group by `__aggregate_root_version`.
public actor MySQLSource: OutboxSource, OutboxStatusReporting, RelayLockReporting {
    /// The table flavour this source reads.
    public nonisolated let flavour: OutboxFlavour
    /// The table name as configured.
    public nonisolated let table: String
    /// The configuration this source was created with.
    public nonisolated let configuration: Configuration

    private let executor: DedicatedThreadExecutor
    /// Runs every method on the source's own thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let logger: Logger
    private let statements: MySQLStatements
    private var connection: MySQLConnection?
    /// `GET_LOCK`'s name, known once the table's database is (see ``inspectTable(_:)``).
    private var lockName: String?
    private var inspected = false
    private var isOpen = false
    private var holdsLock = false
    private var lastRetention: ContinuousClock.Instant?
    /// `dispatcher`: the `time_of_recording` (as read) of rows fetched and not yet completed, so
    /// completing them can name their time range (``MySQLStatements/completeInTimeRangePrefix``).
    /// Bounded by ``recordedTimesLimit`` (normally it holds only the rows in flight); an id missing
    /// here is completed by `id` alone.
    private var recordedTimes: [String: String] = [:]
    static let recordedTimesLimit = 50_000
    /// The reconnect backoff shared by every call waiting for the connection: the engine has
    /// several reads and completions in flight, and without this each would run its own
    /// reconnect loop against a server that is down (`nil` while connected).
    private var reconnectBackoff: (delay: Duration, notBefore: ContinuousClock.Instant)?
    /// Told of each change of ``reportedLockState`` (``RelayLockReporting``).
    private var lockObserver: (@Sendable (RelayLockState) -> Void)?
    private var reportedLockState: RelayLockState?

    /// Creates a source; nothing connects until ``open()`` (or ``status()``).
    /// - Throws: ``MySQLError`` (`invalidConfiguration`) naming a setting that cannot work.
    public init(
        configuration: Configuration,
        logger: Logger = Logger(label: "outbox-relay.mysql")
    ) throws(MySQLError) {
        try configuration.validate()
        self.configuration = configuration
        self.flavour = configuration.flavour
        self.table = configuration.table.description
        self.logger = logger
        self.statements = MySQLStatements(configuration: configuration)
        self.executor = DedicatedThreadExecutor(name: "outbox-relay.mysql")
    }

    deinit {
        executor.shutdown()
    }

    // MARK: - OutboxSource

    /// Connects, checks the table, its columns and privileges, creates the dead-letter table
    /// if missing, and (with `GET_LOCK`) waits as a standby until this relay is the active one.
    /// - Throws: ``MySQLError`` naming what is wrong (credentials, missing table or column,
    ///   missing privilege), or `CancellationError` while waiting as a standby.
    public func open() async throws {
        let connection = try await usableConnection(requiringLock: false)
        try ensureDeadLetterTable(connection)
        try ensureParkedDeliveriesTable(connection)
        isOpen = true
        if configuration.lock.mode == .getLock {
            _ = try await usableConnection()
        }
        logger.info(
            "mysql: relaying",
            metadata: [
                "table": "\(table)", "flavour": "\(configuration.flavour)",
                "server": "\(configuration.connection.redacted)",
            ]
        )
    }

    /// Reads up to `limit` undelivered rows in relay order after `cursor`.
    ///
    /// A lost connection is re-established (with backoff, and re-taking the lock) and the read
    /// retried once. `dispatcher` batches may hold more than `limit` rows: the rest of the last
    /// row's `time_of_recording` tie group, up to `limit` (at least 100) more.
    /// - Throws: ``MySQLError``; the engine retries.
    public func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await fetch(limit: limit, maximumBytes: .max, after: cursor)
    }

    /// Reads like ``fetch(limit:after:)``, the server stopping at the row whose payload reaches
    /// `maximumBytes` (a window sum in the read query, so no more crosses the connection). A
    /// payload above ``Configuration/maximumPayloadBytes`` stays on the server: its row comes
    /// back with ``OutboxRow/oversizedPayload``. A `dispatcher` batch the byte bound ends inside
    /// a tie group still gets the rest of that group.
    /// - Throws: ``MySQLError``; the engine retries.
    public func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        let rows = try await withConnection { connection in
            try self.fetchRows(connection, limit: max(1, limit), maximumBytes: max(0, maximumBytes), after: cursor)
        }
        if statements.completeInTimeRangePrefix != nil {
            if recordedTimes.count + rows.count > Self.recordedTimesLimit { recordedTimes.removeAll() }
            for row in rows {
                if case .text(let id) = row.id, let time = row.timeOfRecording { recordedTimes[id] = time }
            }
        }
        return rows
    }

    /// Inserts the dead letters and marks (or deletes) the rows, in one transaction. Retention
    /// (``Configuration/retention``) runs afterwards when its interval has passed.
    ///
    /// Ids go in chunks of ``Configuration/completeChunkSize`` per `IN (…)` statement; a batch
    /// without dead letters that fits one chunk is one autocommitted statement. Marking is
    /// idempotent, so a retry after a connection lost during `COMMIT` is harmless (dead letters
    /// may then be recorded twice).
    /// - Throws: ``MySQLError``; nothing is marked unless everything is.
    public func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        try await complete(rows: rows, deadLetters: deadLetters, parked: [])
    }

    /// Like ``complete(rows:deadLetters:)``, also writing `parked` (``ParkedDeliveryStore``) in
    /// the same transaction.
    /// - Throws: ``MySQLError``; nothing is written unless everything is.
    public func complete(rows: [OutboxRowID], deadLetters: [DeadLetter], parked: [ParkedDelivery]) async throws {
        guard !rows.isEmpty || !deadLetters.isEmpty || !parked.isEmpty else { return }
        try await withConnection { connection in
            try self.completeRows(connection, rows: rows, deadLetters: deadLetters, parked: parked)
        }
        if !recordedTimes.isEmpty {
            for case .text(let id) in rows { recordedTimes[id] = nil }
        }
        runRetentionIfDue()
    }

    /// Closes the connection, releasing the lock.
    ///
    /// The active relay calls `RELEASE_LOCK` before it disconnects: the server frees a session's
    /// locks only once it has processed the disconnect, so a standby (or ``status()``) asking
    /// right after would still see this relay as the holder.
    public func close() async {
        if holdsLock, let connection, let lockName {
            _ = try? connection.scalar("SELECT RELEASE_LOCK(\(connection.literal(lockName)))")
        }
        connection = nil
        holdsLock = false
        isOpen = false
        reportedLockState = nil
    }

    // MARK: - RelayLockReporting

    /// Sets the function told when this relay connects, waits as a standby (another relay holds
    /// the `GET_LOCK`) or may relay. Changes are reported while the lock is required: from
    /// ``open()`` until ``close()`` with lock mode `getLock`.
    public func reportLockState(to observer: @escaping @Sendable (RelayLockState) -> Void) {
        lockObserver = observer
    }

    private func report(_ state: RelayLockState) {
        guard state != reportedLockState else { return }
        reportedLockState = state
        lockObserver?(state)
    }

    // MARK: - Status

    /// Reads the backlog, the oldest undelivered row's age, the dead-letter count and the lock
    /// holder. Works without ``open()`` and never takes the lock.
    /// - Throws: ``MySQLError``.
    public func status() async throws -> OutboxStatus {
        try await withConnection(requiringLock: false) { connection in
            try self.readStatus(connection)
        }
    }

    /// Whether this source currently holds the relay lock (always `false` with lock mode `none`).
    public var isActiveRelay: Bool { holdsLock }

    /// The server's id of the data connection (`CONNECTION_ID()`), if connected.
    public var connectionID: UInt? { connection?.threadID }

    // MARK: - Connection handling

    private var needsLock: Bool { isOpen && configuration.lock.mode == .getLock }

    private func dropConnection() {
        if holdsLock {
            logger.warning("mysql: lost the connection holding the relay lock", metadata: ["table": "\(table)"])
        }
        connection = nil
        holdsLock = false
    }

    /// A healthy connection (holding the lock when required), reconnecting with backoff for up
    /// to ``Configuration/Reconnect/maximumTime``, and waiting as a standby while another relay
    /// holds the lock.
    private func usableConnection(requiringLock: Bool = true) async throws -> MySQLConnection {
        let needsLock = requiringLock && self.needsLock
        if let connection, connection.isHealthy, inspected, !needsLock || holdsLock { return connection }
        let settings = configuration.reconnect
        var deadline = ContinuousClock.now + settings.maximumTime
        var announcedStandby = false
        while true {
            try Task.checkCancellation()
            do {
                let connection: MySQLConnection
                if let current = self.connection, current.isHealthy {
                    connection = current
                } else {
                    // Another call failed to connect a moment ago: wait for the shared backoff.
                    if let backoff = reconnectBackoff, backoff.notBefore > ContinuousClock.now {
                        guard backoff.notBefore < deadline else {
                            throw MySQLError(
                                code: .connectionFailed,
                                message: "cannot reconnect to \(configuration.connection.redacted) within "
                                    + "\(settings.maximumTime)"
                            )
                        }
                        try await Task.sleep(until: backoff.notBefore)
                        continue
                    }
                    dropConnection()
                    connection = try MySQLConnection.connect(configuration.connection, password: configuration.password)
                    self.connection = connection
                    reconnectBackoff = nil
                }
                deadline = ContinuousClock.now + settings.maximumTime
                if !inspected { try inspectTable(connection) }
                guard needsLock, !holdsLock else {
                    if needsLock { report(.connected) }
                    return connection
                }
                guard let lockName = self.lockName else {
                    throw MySQLError(code: .unexpectedResult, message: "the lock name of \(table) is not known")
                }
                if try connection.scalar("SELECT GET_LOCK(\(connection.literal(lockName)), 0)") == "1" {
                    holdsLock = true
                    logger.info(
                        "mysql: active relay (GET_LOCK taken)",
                        metadata: ["table": "\(table)", "lock_name": "\(lockName)"]
                    )
                    report(.connected)
                    return connection
                }
                if !announcedStandby {
                    let holder = (try? lockHolder(connection)) ?? nil
                    logger.info(
                        "mysql: standby; another relay holds the lock",
                        metadata: ["table": "\(table)", "lock_holder": "\(holder ?? "another session")"]
                    )
                    announcedStandby = true
                    report(.standby(holder: holder))
                }
                try await Task.sleep(for: configuration.lock.standbyPollInterval)
            } catch let error as MySQLError where error.isConnectionFailure {
                dropConnection()
                if needsLock { report(.connecting) }
                announcedStandby = false
                let delay = reconnectBackoff.map { min($0.delay * 2, settings.maximumDelay) } ?? settings.initialDelay
                reconnectBackoff = (delay, ContinuousClock.now + delay)
                guard ContinuousClock.now + delay < deadline else { throw error }
                logger.warning(
                    "mysql: connection failed; reconnecting",
                    metadata: ["table": "\(table)", "error": "\(error)", "delay": "\(delay)"]
                )
            }
        }
    }

    /// Runs `body` on a usable connection (holding the lock when required); on a lost
    /// connection, reconnects and retries once.
    func withConnection<T>(
        requiringLock: Bool = true,
        _ body: (MySQLConnection) throws -> T
    ) async throws -> T {
        var retried = false
        while true {
            let connection = try await usableConnection(requiringLock: requiringLock)
            do {
                return try body(connection)
            } catch let error as MySQLError where error.isConnectionFailure && !retried {
                logger.warning(
                    "mysql: connection lost; reconnecting and retrying",
                    metadata: ["table": "\(table)", "error": "\(error)"]
                )
                dropConnection()
                retried = true
            }
        }
    }

    // MARK: - Table inspection

    private func inspectTable(_ connection: MySQLConnection) throws(MySQLError) {
        let configuredTable = configuration.table
        var database = configuredTable.schema
        if database == nil { database = try connection.scalar("SELECT DATABASE()") }
        guard let database else {
            throw MySQLError(
                code: .invalidConfiguration,
                message: "no database selected: put it in the URL's path or qualify source.table"
            )
        }
        var types: [String: String] = [:]
        var names: [String] = []
        try connection.query(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                + "\(connection.literal(database)) AND TABLE_NAME = \(connection.literal(configuredTable.name)) "
                + "ORDER BY ORDINAL_POSITION"
        ) { row in
            let name = row.string(0) ?? ""
            types[name] = row.string(1)?.lowercased() ?? ""
            names.append(name)
        }
        guard !names.isEmpty else {
            throw MySQLError(
                code: .missingTable,
                message:
                    "the table \(database).\(configuredTable.name) does not exist or this user cannot see it; "
                    + "create it (see `outbox-relay schema --dialect mysql`), set source.table, or "
                    + "GRANT SELECT, UPDATE ON `\(database)`.`\(configuredTable.name)` TO the relay's user"
            )
        }
        let c = configuration.columns
        for column in c.required(for: configuration.flavour) where types[column.name] == nil {
            throw MySQLError(
                code: .missingColumn,
                message:
                    "the table \(configuredTable) has no column `\(column.name)` (source.columns.\(column.key)); "
                    + "its columns are: \(names.joined(separator: ", "))"
            )
        }
        let textTypes = ["json", "longtext", "mediumtext", "text", "varchar", "char", "longblob", "mediumblob", "blob"]
        let payloadType = types[c.payload]!
        guard textTypes.contains(payloadType) else {
            throw MySQLError(
                code: .invalidConfiguration,
                message: "the column \(configuredTable).\(c.payload) is \(payloadType); expected JSON, text or varchar"
            )
        }
        let integerTypes = ["bigint", "int", "mediumint", "smallint", "tinyint"]
        if configuration.flavour == .outbox, !integerTypes.contains(types[c.id]!) {
            throw MySQLError(
                code: .invalidConfiguration,
                message:
                    "the column \(configuredTable).\(c.id) is \(types[c.id]!); the outbox flavour needs an integer id "
                    + "(is the table a dispatcher-flavour table?)"
            )
        }
        if configuration.flavour == .dispatcher, !["datetime", "timestamp"].contains(types[c.timeOfRecording]!) {
            throw MySQLError(
                code: .invalidConfiguration,
                message:
                    "the column \(configuredTable).\(c.timeOfRecording) is \(types[c.timeOfRecording]!); "
                    + "expected DATETIME(6)"
            )
        }
        // Privileges: statements that match no row and take no row locks, checked by the server.
        let quotedTable = configuredTable.quoted(for: .mysql)
        let checks: [(privilege: String, sql: String)] =
            [
                ("SELECT", "SELECT `\(c.id)` FROM \(quotedTable) LIMIT 0"),
                configuration.afterDelivery == .mark
                    ? ("UPDATE", "UPDATE \(quotedTable) SET `\(c.id)` = `\(c.id)` WHERE 1 = 0")
                    : ("DELETE", "DELETE FROM \(quotedTable) WHERE 1 = 0"),
            ] + (configuration.retention == nil ? [] : [("DELETE", "DELETE FROM \(quotedTable) WHERE 1 = 0")])
        for check in checks {
            do { try connection.execute(check.sql) } catch  where error.code == .permissionDenied {
                throw MySQLError(
                    code: .permissionDenied,
                    serverCode: error.serverCode,
                    message:
                        "\(error.message); GRANT \(check.privilege) ON `\(database)`.`\(configuredTable.name)` "
                        + "TO the relay's user"
                )
            }
        }
        lockName = Self.lockName(database: database, table: configuredTable.name)
        inspected = true
    }

    /// `outbox-relay:<database>.<table>`, or (beyond `GET_LOCK`'s 64 characters) its first 40
    /// characters and a 64-bit FNV-1a hash of the whole name.
    static func lockName(database: String, table: String) -> String {
        let name = "outbox-relay:\(database).\(table)"
        guard name.utf8.count > 64 else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(name.prefix(40)) + "#" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    private func ensureDeadLetterTable(_ connection: MySQLConnection) throws(MySQLError) {
        let table = configuration.effectiveDeadLetterTable
        try ensureRelayTable(
            table,
            named: "dead-letter table",
            ddl: OutboxSchema.deadLetterTable(dialect: .mysql, table: table),
            privileges: "CREATE, INSERT",
            connection
        )
    }

    private func ensureParkedDeliveriesTable(_ connection: MySQLConnection) throws(MySQLError) {
        let table = configuration.effectiveParkedDeliveriesTable
        try ensureRelayTable(
            table,
            named: "parked-deliveries table",
            ddl: OutboxSchema.parkedDeliveriesTable(dialect: .mysql, table: table),
            privileges: "CREATE, SELECT, INSERT, UPDATE, DELETE",
            connection
        )
    }

    /// Runs `ddl` (`CREATE TABLE IF NOT EXISTS …`), naming the privileges when it is refused.
    private func ensureRelayTable(
        _ table: SQLIdentifier,
        named what: String,
        ddl: String,
        privileges: String,
        _ connection: MySQLConnection
    ) throws(MySQLError) {
        var ddl = ddl
        while let last = ddl.last, last == ";" || last.isWhitespace { ddl.removeLast() }
        do {
            try connection.execute(ddl)
        } catch  where error.code == .permissionDenied {
            throw MySQLError(
                code: .permissionDenied,
                serverCode: error.serverCode,
                message:
                    "cannot create the \(what) \(table): \(error.message); create it with "
                    + "`outbox-relay schema --dialect mysql` as an owner, or GRANT \(privileges) on it"
            )
        }
    }

    // MARK: - Reading

    private func fetchRows(
        _ connection: MySQLConnection,
        limit: Int,
        maximumBytes: Int,
        after cursor: OutboxCursor?
    ) throws(MySQLError) -> [OutboxRow] {
        var rows: [OutboxRow] = []
        rows.reserveCapacity(limit)
        let maximumPayload = configuration.maximumPayloadBytes
        func oversized(_ row: MySQLRow, _ column: Int) -> OversizedPayload? {
            guard let size = row.int64(column), size > maximumPayload else { return nil }
            return OversizedPayload(size: Int(clamping: size), limit: maximumPayload)
        }
        switch configuration.flavour {
        case .outbox:
            var condition = ""
            if let cursor {
                guard case .integer(let id) = cursor.id else {
                    throw MySQLError(
                        code: .unexpectedResult,
                        message: "an outbox-flavour cursor needs an integer id, got \(cursor.id)"
                    )
                }
                condition = " AND \(statements.id) > \(id)"
            }
            let sql = statements.boundedRead(
                condition: condition,
                limit: limit,
                maximumPayload: maximumPayload,
                budget: maximumBytes
            )
            var failure: MySQLError?
            try connection.query(sql) { row in
                guard let id = row.int64(0) else {
                    failure = MySQLError(
                        code: .unexpectedResult,
                        message: "a row of \(table) has a NULL id or one beyond 64-bit signed integers"
                    )
                    return
                }
                rows.append(OutboxRow(id: .integer(id), payload: row.bytes(1), oversizedPayload: oversized(row, 2)))
            }
            if let failure { throw failure }
            return rows
        case .dispatcher:
            var condition = ""
            let column = statements.time
            var laterRows = ""
            if let cursor {
                guard let time = cursor.timeOfRecording else {
                    throw MySQLError(
                        code: .unexpectedResult,
                        message: "a dispatcher-flavour cursor needs a time_of_recording"
                    )
                }
                let t = connection.literal(time)
                let id = connection.literal(cursor.id.description)
                condition =
                    " AND \(column) >= \(t) AND (\(column) > \(t) OR (\(column) = \(t) AND \(statements.id) > \(id)))"
                laterRows = " AND \(column) > \(t)"
            }
            // The first `limit + 1` rows by (time, id) all lie at or before the time of the
            // `limit + 1`-th later row in index order: bound the read there so the server sorts
            // about a batch, not the whole backlog.
            if let bound = try connection.scalar(statements.readUpperBound(condition: laterRows, offset: limit)) {
                condition += " AND \(column) <= \(connection.literal(bound))"
            }
            let sql = statements.boundedRead(
                condition: condition,
                limit: limit + 1,
                maximumPayload: maximumPayload,
                budget: maximumBytes
            )
            func dispatcherRow(_ row: MySQLRow) -> OutboxRow {
                OutboxRow(
                    id: .text(row.string(0) ?? ""),
                    payload: row.bytes(1),
                    timeOfRecording: row.string(2),
                    oversizedPayload: oversized(row, 3)
                )
            }
            var nextTime: String?
            var returned = 0
            try connection.query(sql) { row in
                returned += 1
                if rows.count == limit {
                    nextTime = row.string(2)
                } else {
                    rows.append(dispatcherRow(row))
                }
            }
            // Cut by the byte bound: the next row is unknown, so check for the rest of the group.
            let cutByBytes = returned <= limit && rows.reduce(0) { $0 + $1.payload.count } >= maximumBytes
            if let last = rows.last, cutByBytes || nextTime == last.timeOfRecording, let time = last.timeOfRecording {
                // The batch ends inside a tie group: read the rest of it (bounded by rows).
                let t = connection.literal(time)
                let rest = statements.boundedRead(
                    condition: " AND \(statements.time) = \(t) AND \(statements.id) > "
                        + connection.literal(last.id.description),
                    limit: Self.tieGroupLimit(limit),
                    maximumPayload: maximumPayload,
                    budget: .max
                )
                try connection.query(rest) { row in rows.append(dispatcherRow(row)) }
            }
            return rows
        }
    }

    /// Rows a tie group may add to a batch: as many as the batch, at least 100.
    static func tieGroupLimit(_ limit: Int) -> Int { max(limit, 100) }

    // MARK: - Completing

    private func completeRows(
        _ connection: MySQLConnection,
        rows: [OutboxRowID],
        deadLetters: [DeadLetter],
        parked: [ParkedDelivery]
    ) throws(MySQLError) {
        let chunk = configuration.completeChunkSize
        if deadLetters.isEmpty && parked.isEmpty && rows.count <= chunk {
            // One statement is atomic by itself: no START TRANSACTION/COMMIT round trips.
            try connection.execute(completeStatement(connection, rows[...]))
            return
        }
        try connection.execute("START TRANSACTION")
        do {
            // One statement per dead letter: a payload is escaped once into its statement, and
            // an oversized one is copied by the server from the outbox row.
            for letter in deadLetters {
                try connection.execute(bytes: insertDeadLetter(connection, letter))
            }
            try insertParked(connection, parked)
            var start = 0
            while start < rows.count {
                let end = min(start + chunk, rows.count)
                try connection.execute(completeStatement(connection, rows[start..<end]))
                start = end
            }
            try connection.execute("COMMIT")
        } catch {
            if !error.isConnectionFailure { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    private func completeStatement(_ connection: MySQLConnection, _ ids: ArraySlice<OutboxRowID>) -> String {
        var sql = statements.completePrefix
        if let rangePrefix = statements.completeInTimeRangePrefix, let range = timeRange(of: ids) {
            sql =
                rangePrefix + connection.literal(range.lowerBound) + " AND " + connection.literal(range.upperBound)
                + " AND \(statements.id) IN ("
        }
        sql.reserveCapacity(sql.utf8.count + ids.count * 40 + statements.completeSuffix.utf8.count)
        var first = true
        for id in ids {
            if !first { sql += "," }
            first = false
            switch id {
            case .integer(let value): sql += String(value)
            case .text(let value): sql += connection.literal(value)
            }
        }
        return sql + statements.completeSuffix
    }

    /// The smallest and largest `time_of_recording` of `ids`, if every one was fetched here.
    private func timeRange(of ids: ArraySlice<OutboxRowID>) -> ClosedRange<String>? {
        var lowest: String?
        var highest: String?
        for case .text(let id) in ids {
            guard let time = recordedTimes[id] else { return nil }
            if lowest.map({ time < $0 }) ?? true { lowest = time }
            if highest.map({ time > $0 }) ?? true { highest = time }
        }
        guard let lowest, let highest else { return nil }
        return lowest...highest
    }

    /// `INSERT … VALUES (…)` with the payload as an escaped binary literal, or for
    /// ``DeadLetter/payloadStaysInOutbox`` `INSERT … SELECT` copying it from the outbox row.
    func insertDeadLetter(_ connection: MySQLConnection, _ letter: DeadLetter) -> [UInt8] {
        func text(_ value: String?) -> String { value.map { connection.literal($0) } ?? "NULL" }
        let before =
            "\(text(table)), \(text(letter.rowID.description)), \(text(letter.eventID)), "
            + "\(text(letter.eventType)), \(text(letter.destination)), "
        let after =
            "\(max(0, letter.attempts)), \(text(letter.lastError)), \(text(letter.firstFailedAt.sqlText)), "
            + "\(text(letter.lastFailedAt.sqlText))"
        var sql: [UInt8] = []
        if letter.payloadStaysInOutbox {
            let id: String
            switch letter.rowID {
            case .integer(let value): id = String(value)
            case .text(let value): id = connection.literal(value)
            }
            sql.append(contentsOf: statements.insertDeadLetterFromOutbox.utf8)
            sql.append(contentsOf: (before + statements.payloadColumn + ", " + after).utf8)
            sql.append(contentsOf: (statements.insertDeadLetterFromOutboxSuffix + id).utf8)
            return sql
        }
        sql.reserveCapacity(statements.insertDeadLetters.utf8.count + 512 + letter.payload.count * 2)
        sql.append(contentsOf: (statements.insertDeadLetters + "(" + before).utf8)
        connection.appendBinaryLiteral(letter.payload, to: &sql)
        sql.append(contentsOf: (", " + after + ")").utf8)
        return sql
    }

    // MARK: - Retention

    /// Runs ``runRetention(_:)`` when ``Configuration/Retention/interval`` has passed since the
    /// last run, on the current connection if it is healthy.
    private func runRetentionIfDue() {
        guard let retention = configuration.retention else { return }
        let now = ContinuousClock.now
        if let lastRetention, now - lastRetention < retention.interval { return }
        lastRetention = now
        guard let connection, connection.isHealthy else { return }
        runRetention(connection)
    }

    /// Deletes delivered rows past the retention limit, in bounded autocommitted batches; logs
    /// failures (the next run tries again).
    private func runRetention(_ connection: MySQLConnection) {
        guard let retention = configuration.retention else { return }
        do {
            let bound: String
            if let age = retention.maximumAge {
                bound = String(max(0, age.microseconds))
            } else {
                let threshold = try connection.scalar(statements.retentionThreshold + String(retention.keepNewest ?? 0))
                guard let threshold else { return }  // no more consumed rows than kept
                bound = threshold
            }
            let sql =
                statements.retentionDelete + bound + statements.retentionDeleteSuffix + String(retention.batchSize)
            var deleted = 0
            for _ in 0..<retention.maximumBatchesPerRun {
                try connection.execute(sql)
                let count = connection.affectedRows
                deleted += count
                if count < retention.batchSize { break }
            }
            if deleted > 0 {
                logger.info(
                    "mysql: retention deleted delivered rows",
                    metadata: ["table": "\(table)", "rows": "\(deleted)"]
                )
            }
        } catch {
            logger.warning(
                "mysql: retention failed; will retry",
                metadata: ["table": "\(table)", "error": "\(error)", "retry_in": "\(retention.interval)"]
            )
        }
    }

    // MARK: - Status

    private func readStatus(_ connection: MySQLConnection) throws(MySQLError) -> OutboxStatus {
        let backlog = Int(try connection.scalar(statements.countBacklog) ?? "0") ?? 0
        var age: Duration?
        switch configuration.flavour {
        case .dispatcher:
            if let microseconds = Int64(try connection.scalar(statements.oldestUndelivered) ?? "") {
                age = .microseconds(microseconds)
            }
        case .outbox:
            var payload: [UInt8]?
            try connection.query(statements.oldestUndelivered) { row in payload = row.bytes(0) }
            if let payload,
                let recorded = try? EnvelopeDecoder(table: table).decode(OutboxRow(id: .integer(0), payload: payload))
                    .timeOfRecording
            {
                age = Timestamp.now().duration(since: recorded)
            }
        }
        var deadLetters = 0
        do {
            deadLetters =
                Int(try connection.scalar(statements.countDeadLetters + connection.literal(table)) ?? "0") ?? 0
        } catch  where error.code == .missingTable {
            deadLetters = 0  // not created yet
        }
        let holder = configuration.lock.mode == .getLock ? try lockHolder(connection) : nil
        return OutboxStatus(backlog: backlog, oldestUndeliveredAge: age, deadLetters: deadLetters, lockHolder: holder)
    }

    /// `user@host (connection 42, connected 12 s ago)` for the session holding the lock.
    private func lockHolder(_ connection: MySQLConnection) throws(MySQLError) -> String? {
        guard let lockName else { return nil }
        guard let id = UInt64(try connection.scalar("SELECT IS_USED_LOCK(\(connection.literal(lockName)))") ?? "")
        else { return nil }
        var description = "connection \(id)"
        try connection.query("SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = \(id)") { row in
            description =
                "\(row.string(0) ?? "?")@\(row.string(1) ?? "?") (connection \(id), connected "
                + "\(row.string(2) ?? "?") s ago)"
        }
        return description
    }
}
