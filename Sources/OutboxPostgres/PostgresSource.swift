import Logging
import OutboxRelay

/// Reads an EventSauce outbox table in PostgreSQL through libpq, for both table flavours.
///
/// One actor owns the reading `PGconn*` on a ``DedicatedThreadExecutor``, so blocking libpq
/// calls never occupy the cooperative thread pool. By default
/// (``Configuration/WriteConnection/separate``) delivered rows are marked on a second
/// connection with its own thread, so the server reads the next batch while it marks the last
/// one; with ``Configuration/notifyChannel`` one more connection `LISTEN`s for wake-ups.
///
/// **Many relays, one table.** With the default ``Configuration/Lock/Mode/advisory`` lock, the
/// active relay holds a session-level `pg_advisory_lock` on its data connection, keyed by the
/// table's oid. Other relays wait in ``open()`` as hot standbys, trying
/// `pg_try_advisory_lock` every ``Configuration/Lock/standbyPollInterval``, and take over as
/// soon as the active relay's session ends (process exit, crash, network loss detected by the
/// server). Because the lock lives on the same session as the reads and writes, a relay that
/// loses its connection loses the lock at the same moment; after reconnecting it waits as a
/// standby if another relay took over. Limits: one relay works at a time (standbys add
/// availability, not throughput), and a takeover redelivers the batches the old relay had in
/// flight (at-least-once). PHP relays take no lock: never run one on the same table.
///
/// **Order.** `outbox` rows are read by `id`; `dispatcher` rows by (`time_of_recording`, `id`)
/// with the time read as `YYYY-MM-DD HH24:MI:SS.US` (whole seconds work), and a batch is
/// extended to the end of its last row's time tie group (by up to one more batch, at least 100 rows) so the
/// engine can order a tie group by `__aggregate_root_version`. Reading never holds a
/// transaction open: fetches are single statements; ``complete(rows:deadLetters:)`` is one
/// short transaction of prepared statements.
public actor PostgresSource: OutboxSource, OutboxStatusReporting, RelayLockReporting {
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
    private nonisolated let listener: PostgresNotificationListener?
    /// Completes rows on a second connection (``Configuration/WriteConnection/separate``).
    nonisolated let writer: PostgresRowWriter?
    private var session = Session.disconnected
    /// Set by the first inspection of the table (``open()``, or ``status()`` before it).
    private var inspected: InspectedTable?
    /// Between ``open()`` and ``close()``: the lock is required (lock mode `advisory`).
    private var isOpen = false
    private var lastRetention: ContinuousClock.Instant?
    /// Told of each change of ``reportedLockState`` (``RelayLockReporting``).
    private var lockObserver: (@Sendable (RelayLockState) -> Void)?
    private var reportedLockState: RelayLockState?

    /// The data connection, and whether it holds the relay lock.
    private enum Session {
        case disconnected
        /// Connected without the lock (lock mode `none`, a standby, or ``status()`` before ``open()``).
        case connected(PostgresConnection)
        /// Connected and holding the table's advisory lock: the active relay.
        case active(PostgresConnection)

        var connection: PostgresConnection? {
            switch self {
            case .disconnected: nil
            case .connected(let connection), .active(let connection): connection
            }
        }

        var holdsLock: Bool {
            if case .active = self { return true }
            return false
        }
    }

    /// What inspecting the table found, and the statements built for it.
    struct InspectedTable {
        let info: PostgresTableInfo
        let statements: PostgresStatements
        let completion: PostgresRowCompletion
    }

    /// Creates a source; nothing connects until ``open()`` (or ``status()``).
    /// - Throws: ``PostgresError`` (`invalidConfiguration`) naming a setting that cannot work.
    public init(
        configuration: Configuration,
        logger: Logger = Logger(label: "outbox-relay.postgres")
    ) throws(PostgresError) {
        try configuration.validate()
        self.configuration = configuration
        self.flavour = configuration.flavour
        self.table = configuration.table.description
        var logger = logger
        logger[metadataKey: "table"] = "\(configuration.table)"  // on every line the source logs
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "outbox-relay.postgres")
        self.listener = configuration.notifyChannel.map {
            PostgresNotificationListener(
                connection: configuration.connection,
                applicationName: configuration.applicationName,
                channel: $0,
                logger: logger
            )
        }
        self.writer =
            configuration.writeConnection == .separate
            ? PostgresRowWriter(configuration: configuration, logger: logger) : nil
    }

    deinit {
        executor.shutdown()
    }

    // MARK: - OutboxSource

    /// Connects, checks the table, its columns and privileges, creates the dead-letter table
    /// if missing, and (with the advisory lock) waits as a standby until this relay is the
    /// active one.
    /// - Throws: ``PostgresError`` naming what is wrong (credentials, missing table or column,
    ///   missing privilege), or `CancellationError` while waiting as a standby.
    public func open() async throws {
        let connection = try currentOrNewSession()
        let inspected = try inspectTable(connection)
        try ensureRelayTable(
            configuration.effectiveDeadLetterTable,
            named: "dead-letter table",
            setting: "source.dead_letter_table",
            ddl: PostgresSchema.deadLetterTable(configuration.effectiveDeadLetterTable),
            on: connection
        )
        try ensureRelayTable(
            configuration.effectiveParkedDeliveriesTable,
            named: "parked-deliveries table",
            setting: "source.parked_deliveries_table",
            ddl: OutboxSchema.parkedDeliveriesTable(
                dialect: .postgres,
                table: configuration.effectiveParkedDeliveriesTable
            ),
            on: connection
        )
        isOpen = true
        if configuration.lock.mode == .advisory {
            _ = try await usableConnection()
        }
        if let writer {
            try await writer.open(inspected.completion)
        }
        if let listener {
            try await listener.start()
        }
        logger.info(
            "postgres: source open",
            metadata: ["flavour": "\(configuration.flavour)", "connection": "\(configuration.connection.redacted)"]
        )
    }

    /// Reads up to `limit` undelivered rows in relay order after `cursor`.
    ///
    /// A lost connection is re-established (with backoff, and re-taking the lock) and the read
    /// retried once. `dispatcher` batches may hold more than `limit` rows: the rest of the last
    /// row's `time_of_recording` tie group, up to `limit` (at least 100) more.
    /// - Throws: ``PostgresError``; the engine retries.
    public func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await fetch(limit: limit, maximumBytes: .max, after: cursor)
    }

    /// Reads like ``fetch(limit:after:)``, the server stopping at the row whose payload reaches
    /// `maximumBytes` (a window sum in the read query, so no more crosses the connection). A
    /// payload above ``Configuration/maximumPayloadBytes`` stays on the server: its row comes
    /// back with ``OutboxRow/oversizedPayload``. A `dispatcher` batch the byte bound ends inside
    /// a tie group still gets the rest of that group.
    /// - Throws: ``PostgresError``; the engine retries.
    public func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await withConnection { connection in
            try self.fetchRows(connection, limit: max(1, limit), maximumBytes: max(0, maximumBytes), after: cursor)
        }
    }

    /// Inserts the dead letters and marks (or deletes) the rows, in one transaction.
    ///
    /// Ids go in chunks of ``Configuration/completeChunkSize`` per `= ANY($1)` statement; a
    /// batch without dead letters that fits one chunk is one autocommitted statement. With
    /// ``Configuration/WriteConnection/separate`` (the default) this runs on the second
    /// connection, alongside reads. Marking is idempotent, so a retry after a connection lost
    /// during `COMMIT` is harmless (dead letters may then be recorded twice). Retention runs
    /// afterwards when due.
    /// - Throws: ``PostgresError``; nothing is marked unless everything is.
    public nonisolated func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        guard !rows.isEmpty || !deadLetters.isEmpty else { return }
        if let writer {
            try await writer.complete(rows: rows, deadLetters: deadLetters)
        } else {
            try await completeOnDataConnection(rows: rows, deadLetters: deadLetters)
        }
    }

    func completeOnDataConnection(
        rows: [OutboxRowID],
        deadLetters: [DeadLetter],
        parked: [ParkedDelivery] = []
    ) async throws {
        try await withConnection { connection in
            try self.inspectedTable().completion.complete(
                connection,
                rows: rows,
                deadLetters: deadLetters,
                parked: parked
            )
        }
        runRetentionIfDue()
    }

    /// Returns on a `NOTIFY` on ``Configuration/notifyChannel`` or after `timeout`; without a
    /// channel, sleeps for `timeout`.
    public nonisolated func waitForRows(timeout: Duration) async {
        if let listener {
            await listener.wait(timeout: timeout)
        } else {
            try? await Task.sleep(for: timeout)
        }
    }

    /// Closes both connections, releasing the lock.
    ///
    /// The active relay unlocks before it disconnects: the server releases a session's lock only
    /// once the backend has exited, after the connection is gone, so a standby (or ``status()``)
    /// asking right after would still see this relay as the holder.
    public func close() async {
        if let listener { await listener.close() }
        if let writer { await writer.close() }
        if case .active(let connection) = session, let inspected {
            try? unlock(connection, key: inspected.info.lockKey)
        }
        session = .disconnected
        isOpen = false
        reportedLockState = nil
    }

    // MARK: - RelayLockReporting

    /// Sets the function told when this relay connects, waits as a standby (another relay holds
    /// the advisory lock) or may relay. Changes are reported while the lock is required: from
    /// ``open()`` until ``close()`` with lock mode `advisory`.
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
    /// - Throws: ``PostgresError``.
    public func status() async throws -> OutboxStatus {
        try await withConnection(requiringLock: false) { connection in
            try self.readStatus(connection)
        }
    }

    /// Whether this source currently holds the relay lock (always `false` with lock mode `none`).
    public var isActiveRelay: Bool { session.holdsLock }

    /// The server process id of the data connection, if connected (for diagnostics and tests).
    public var backendPID: Int32? { session.connection?.backendPID }

    // MARK: - Connection handling

    private var needsLock: Bool { isOpen && configuration.lock.mode == .advisory }

    private func currentOrNewSession() throws(PostgresError) -> PostgresConnection {
        if let connection = session.connection, connection.isHealthy { return connection }
        dropConnection()
        let connection = try PostgresConnection.session(for: configuration)
        session = .connected(connection)
        return connection
    }

    private func dropConnection() {
        if session.holdsLock { logger.warning("postgres: lost the connection holding the relay lock") }
        session = .disconnected
    }

    /// The inspected table; every caller runs after ``usableConnection(requiringLock:)`` or
    /// ``open()``, which inspect it first.
    func inspectedTable() throws(PostgresError) -> InspectedTable {
        guard let inspected else {
            throw PostgresError(code: .unexpectedResult, message: "the table \(table) was not inspected; call open()")
        }
        return inspected
    }

    /// A healthy connection (holding the lock when required), reconnecting with backoff for
    /// up to ``Configuration/Reconnect/maximumTime``, and waiting as a standby while another
    /// relay holds the lock.
    private func usableConnection(requiringLock: Bool = true) async throws -> PostgresConnection {
        let needsLock = requiringLock && self.needsLock
        if let connection = session.connection, connection.isHealthy, !needsLock || session.holdsLock {
            return connection
        }
        var backoff = configuration.reconnect.backoff()
        var announcedStandby = false
        while true {
            try Task.checkCancellation()
            do {
                let connection = try currentOrNewSession()
                backoff.connected(at: .now)
                let inspected = try self.inspected ?? inspectTable(connection)
                guard needsLock, !session.holdsLock else {
                    if needsLock { report(.connected) }
                    return connection
                }
                if try tryLock(connection, key: inspected.info.lockKey) {
                    session = .active(connection)
                    logger.info(
                        "postgres: active relay (advisory lock taken)",
                        metadata: ["lock_key": "\(inspected.info.lockKey)"]
                    )
                    report(.connected)
                    return connection
                }
                if !announcedStandby {
                    let holder = (try? lockHolder(connection)) ?? nil
                    logger.info(
                        "postgres: standby; another relay holds the lock",
                        metadata: ["lock_holder": "\(holder ?? "another session")"]
                    )
                    announcedStandby = true
                    report(.standby(holder: holder))
                }
                try await Task.sleep(for: configuration.lock.standbyPollInterval)
            } catch let error as PostgresError where error.isConnectionFailure {
                dropConnection()
                if needsLock { report(.connecting) }
                announcedStandby = false
                guard let delay = backoff.delayAfterFailure(at: .now) else { throw error }
                logger.warning(
                    "postgres: connection failed; reconnecting",
                    metadata: ["error": "\(error)", "delay": "\(delay)"]
                )
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Runs `body` on a usable connection; on a lost connection, reconnects and retries once.
    func withConnection<T>(
        requiringLock: Bool = true,
        _ body: (PostgresConnection) throws -> T
    ) async throws -> T {
        var retried = false
        while true {
            let connection = try await usableConnection(requiringLock: requiringLock)
            do {
                return try body(connection)
            } catch let error as PostgresError where error.isConnectionFailure && !retried {
                logger.warning("postgres: connection lost; reconnecting and retrying", metadata: ["error": "\(error)"])
                dropConnection()
                retried = true
            }
        }
    }

    private func tryLock(_ connection: PostgresConnection, key: Int64) throws(PostgresError) -> Bool {
        let result = try connection.execute("SELECT pg_try_advisory_lock($1::bigint)", [String(key)])
        return result.string(0, 0) == "t"
    }

    private func unlock(_ connection: PostgresConnection, key: Int64) throws(PostgresError) {
        _ = try connection.execute("SELECT pg_advisory_unlock($1::bigint)", [String(key)])
    }

    // MARK: - Table inspection

    @discardableResult
    private func inspectTable(_ connection: PostgresConnection) throws(PostgresError) -> InspectedTable {
        let configuredTable = configuration.table
        let found = try connection.execute(
            "SELECT to_regclass($1)::oid::text, current_setting('search_path')",
            [configuredTable.quoted(for: .postgres)]
        )
        guard let oidText = found.string(0, 0), let oid = UInt32(oidText) else {
            throw PostgresError(
                code: .missingTable,
                message:
                    "the table \(configuredTable) does not exist (search_path: \(found.string(0, 1) ?? "?")); "
                    + "create it (see `outbox-relay schema`) or set source.table"
            )
        }
        let columns = try connection.execute(
            "SELECT attname::text, format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = $1::oid "
                + "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [oidText]
        )
        var types: [String: String] = [:]
        var names: [String] = []
        for row in 0..<columns.rowCount {
            let name = columns.string(row, 0) ?? ""
            types[name] = columns.string(row, 1) ?? ""
            names.append(name)
        }
        let c = configuration.columns
        for column in c.required(for: configuration.flavour) where types[column.name] == nil {
            throw PostgresError(
                code: .missingColumn,
                message:
                    "the table \(configuredTable) has no column \"\(column.name)\" (source.columns.\(column.key)); "
                    + "its columns are: \(names.joined(separator: ", "))"
            )
        }
        let payloadType = types[c.payload] ?? ""
        guard ["json", "jsonb", "text", "character varying", "character"].contains(payloadType) else {
            throw PostgresError(
                code: .invalidConfiguration,
                message:
                    "the column \(configuredTable).\(c.payload) is \(payloadType); "
                    + "expected json, jsonb, text or varchar"
            )
        }
        let idType = types[c.id] ?? ""
        if configuration.flavour == .outbox, !["bigint", "integer", "smallint"].contains(idType) {
            throw PostgresError(
                code: .invalidConfiguration,
                message:
                    "the column \(configuredTable).\(c.id) is \(idType); the outbox flavour needs an integer id "
                    + "(is the table a dispatcher-flavour table?)"
            )
        }
        var withoutZone = true
        if configuration.flavour == .dispatcher {
            let timeType = types[c.timeOfRecording] ?? ""
            guard timeType.hasPrefix("timestamp") else {
                throw PostgresError(
                    code: .invalidConfiguration,
                    message: "the column \(configuredTable).\(c.timeOfRecording) is \(timeType); expected timestamp(6)"
                )
            }
            withoutZone = timeType == "timestamp without time zone"
        }
        let privileges = try connection.execute(
            "SELECT has_table_privilege($1::oid, 'SELECT'), has_table_privilege($1::oid, 'UPDATE'), "
                + "has_table_privilege($1::oid, 'DELETE'), current_user::text",
            [oidText]
        )
        let user = privileges.string(0, 3) ?? "?"
        var missing: [String] = []
        if privileges.string(0, 0) != "t" { missing.append("SELECT") }
        if configuration.afterDelivery == .mark, privileges.string(0, 1) != "t" { missing.append("UPDATE") }
        if configuration.afterDelivery == .delete || configuration.retention != nil, privileges.string(0, 2) != "t" {
            missing.append("DELETE")
        }
        if !missing.isEmpty {
            throw PostgresError(
                code: .permissionDenied,
                message:
                    "the user \(user) lacks \(missing.joined(separator: ", ")) on \(configuredTable); "
                    + "GRANT \(missing.joined(separator: ", ")) ON "
                    + "\(configuredTable.quoted(for: .postgres)) TO \(user)"
            )
        }
        let info = PostgresTableInfo(oid: oid, idType: idType, timesWithoutZone: withoutZone)
        let statements = PostgresStatements(configuration: configuration, table: info)
        let inspected = InspectedTable(
            info: info,
            statements: statements,
            completion: PostgresRowCompletion(configuration: configuration, statements: statements, table: table)
        )
        self.inspected = inspected
        return inspected
    }

    /// Checks that the relay can insert into one of its own tables (dead letters, parked
    /// deliveries), creating it when it is missing.
    private func ensureRelayTable(
        _ relayTable: SQLIdentifier,
        named what: String,
        setting: String,
        ddl: String,
        on connection: PostgresConnection
    ) throws(PostgresError) {
        let found = try connection.execute("SELECT to_regclass($1)::oid::text", [relayTable.quoted(for: .postgres)])
        if let oid = found.string(0, 0) {
            let privilege = try connection.execute(
                "SELECT has_table_privilege($1::oid, 'INSERT'), current_user::text",
                [oid]
            )
            if privilege.string(0, 0) != "t" {
                let user = privilege.string(0, 1) ?? "?"
                throw PostgresError(
                    code: .permissionDenied,
                    message:
                        "the user \(user) lacks INSERT on the \(what) \(relayTable); "
                        + "GRANT INSERT ON \(relayTable.quoted(for: .postgres)) TO \(user) "
                        + "(and USAGE on its id sequence)"
                )
            }
            return
        }
        // Relays starting together would race on CREATE TABLE IF NOT EXISTS (PostgreSQL then
        // reports a unique violation): serialise creation with a transaction-level advisory lock.
        do {
            try connection.execute("BEGIN")
            try connection.execute(
                "SELECT pg_advisory_xact_lock(\(PostgresTableInfo.lockNamespace), hashtext($1))",
                [relayTable.quoted(for: .postgres)]
            )
            try connection.execute(ddl)
            try connection.execute("COMMIT")
        } catch {
            if !error.isConnectionFailure { _ = try? connection.execute("ROLLBACK") }
            switch (error.code, error.sqlState) {
            case (.permissionDenied, _):
                throw PostgresError(
                    code: .permissionDenied,
                    sqlState: error.sqlState,
                    message:
                        "cannot create the \(what) \(relayTable): \(error.message); "
                        + "create it with `outbox-relay schema` as an owner, or set \(setting)"
                )
            case (_, "23505"?), (_, "42P07"?):
                return  // another relay created it at the same moment
            default:
                throw error
            }
        }
        logger.info("postgres: created a relay table", metadata: ["kind": "\(what)", "created_table": "\(relayTable)"])
    }

    // MARK: - Reading

    private func fetchRows(
        _ connection: PostgresConnection,
        limit: Int,
        maximumBytes: Int,
        after cursor: OutboxCursor?
    ) throws(PostgresError) -> [OutboxRow] {
        let statements = try inspectedTable().statements
        let bounds = [String(configuration.maximumPayloadBytes), String(maximumBytes)]
        switch configuration.flavour {
        case .outbox:
            let result: PostgresResult
            if let cursor {
                guard case .integer(let id) = cursor.id else {
                    throw PostgresError(
                        code: .unexpectedResult,
                        message: "an outbox-flavour cursor needs an integer id, got \(cursor.id)"
                    )
                }
                try connection.prepare("outbox_relay_fetch_after", statements.fetchAfter)
                result = try connection.executePrepared(
                    "outbox_relay_fetch_after",
                    [String(id), String(limit)] + bounds
                )
            } else {
                try connection.prepare("outbox_relay_fetch_first", statements.fetchFirst)
                result = try connection.executePrepared("outbox_relay_fetch_first", [String(limit)] + bounds)
            }
            let count = result.rowCount
            var rows: [OutboxRow] = []
            rows.reserveCapacity(count)
            for row in 0..<count {
                guard let id = result.int64(row, 0) else {
                    throw PostgresError(
                        code: .unexpectedResult,
                        message: "row \(row) of \(table) has a NULL or non-integer id"
                    )
                }
                rows.append(
                    OutboxRow(
                        id: .integer(id),
                        payload: result.bytes(row, 1),
                        oversizedPayload: oversized(result, row, 2)
                    )
                )
            }
            return rows
        case .dispatcher:
            let result: PostgresResult
            if let cursor {
                guard let time = cursor.timeOfRecording else {
                    throw PostgresError(
                        code: .unexpectedResult,
                        message: "a dispatcher-flavour cursor needs a time_of_recording"
                    )
                }
                try connection.prepare("outbox_relay_fetch_after", statements.fetchAfter)
                result = try connection.executePrepared(
                    "outbox_relay_fetch_after",
                    [time, cursor.id.description, String(limit + 1)] + bounds
                )
            } else {
                try connection.prepare("outbox_relay_fetch_first", statements.fetchFirst)
                result = try connection.executePrepared("outbox_relay_fetch_first", [String(limit + 1)] + bounds)
            }
            var rows = dispatcherRows(result, limit: limit)
            let endsInTieGroup = result.rowCount > limit && result.string(limit, 2) == rows.last?.timeOfRecording
            // Cut by the byte bound: the next row is unknown, so check for the rest of the group.
            let cutByBytes = result.rowCount <= limit && rows.reduce(0) { $0 + $1.payload.count } >= maximumBytes
            if endsInTieGroup || cutByBytes, let last = rows.last {
                // The batch ends inside a tie group: read the rest of it (bounded).
                guard let fetchTieGroup = statements.fetchTieGroup else {
                    throw PostgresError(code: .unexpectedResult, message: "no tie-group statement for \(table)")
                }
                try connection.prepare("outbox_relay_fetch_tie_group", fetchTieGroup)
                let rest = try connection.executePrepared(
                    "outbox_relay_fetch_tie_group",
                    [last.timeOfRecording, last.id.description, String(Self.tieGroupLimit(limit))]
                        + [String(configuration.maximumPayloadBytes), String(Int.max)]
                )
                rows.append(contentsOf: dispatcherRows(rest, limit: Self.tieGroupLimit(limit)))
            }
            return rows
        }
    }

    /// Rows a tie group may add to a batch: as many as the batch, at least 100.
    static func tieGroupLimit(_ limit: Int) -> Int { max(limit, 100) }

    /// The oversized payload a read left on the server, from the size in `column`.
    private func oversized(_ result: PostgresResult, _ row: Int, _ column: Int) -> OversizedPayload? {
        guard let size = result.int64(row, column), size > configuration.maximumPayloadBytes else { return nil }
        return OversizedPayload(size: Int(clamping: size), limit: configuration.maximumPayloadBytes)
    }

    private func dispatcherRows(_ result: PostgresResult, limit: Int) -> [OutboxRow] {
        let count = min(result.rowCount, limit)
        var rows: [OutboxRow] = []
        rows.reserveCapacity(count)
        for row in 0..<count {
            rows.append(
                OutboxRow(
                    id: .text(result.string(row, 0) ?? ""),
                    payload: result.bytes(row, 1),
                    timeOfRecording: result.string(row, 2),
                    oversizedPayload: oversized(result, row, 3)
                )
            )
        }
        return rows
    }

    // MARK: - Completing

    private func runRetentionIfDue() {
        inspected?.completion.runRetentionIfDue(session.connection, lastRun: &lastRetention, logger: logger)
    }

    // MARK: - Status

    private func readStatus(_ connection: PostgresConnection) throws(PostgresError) -> OutboxStatus {
        let statements = try inspectedTable().statements
        let backlog = Int(try connection.execute(statements.countBacklog, []).string(0, 0) ?? "0") ?? 0
        var age: Duration?
        let oldest = try connection.execute(statements.oldestUndelivered, [])
        if oldest.rowCount > 0, !oldest.isNull(0, 0) {
            switch configuration.flavour {
            case .dispatcher:
                if let seconds = Double(oldest.string(0, 0) ?? "") { age = Duration(saturatingSeconds: seconds) }
            case .outbox:
                let row = OutboxRow(id: .integer(0), payload: oldest.bytes(0, 0))
                if let recorded = try? EnvelopeDecoder(table: table).decode(row).timeOfRecording {
                    age = Timestamp.now().duration(since: recorded)
                }
            }
        }
        var deadLetters = 0
        let deadLetterTable = configuration.effectiveDeadLetterTable
        if try connection.execute("SELECT to_regclass($1)::oid::text", [deadLetterTable.quoted(for: .postgres)]).string(
            0,
            0
        ) != nil {
            deadLetters = Int(try connection.execute(statements.countDeadLetters, [table]).string(0, 0) ?? "0") ?? 0
        }
        let holder = configuration.lock.mode == .advisory ? try lockHolder(connection) : nil
        return OutboxStatus(backlog: backlog, oldestUndeliveredAge: age, deadLetters: deadLetters, lockHolder: holder)
    }

    private func lockHolder(_ connection: PostgresConnection) throws(PostgresError) -> String? {
        guard let inspected else { return nil }
        let result = try connection.execute(
            inspected.statements.lockHolder,
            [String(PostgresTableInfo.lockNamespace), String(inspected.info.oid)]
        )
        guard result.rowCount > 0 else { return nil }
        let pid = result.string(0, 0) ?? "?"
        let name = result.string(0, 1) ?? ""
        let client = result.string(0, 2) ?? "?"
        let since = result.string(0, 3) ?? "?"
        return "\(name.isEmpty ? "session" : name) (backend pid \(pid), client \(client), connected since \(since))"
    }
}
