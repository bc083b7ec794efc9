import Logging
import OutboxRelay

/// Completes delivered rows on a connection and thread of its own
/// (``PostgresSource/Configuration/WriteConnection/separate``), so the next batch is read
/// while the previous one is being marked: the server works on both at once.
///
/// It takes no lock: marking rows this relay delivered is right whichever relay holds the
/// table's lock (marking is idempotent).
actor PostgresRowWriter {
    private let executor: DedicatedThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let configuration: PostgresSource.Configuration
    private let logger: Logger
    private var completion: PostgresRowCompletion?
    private var connection: PostgresConnection?
    private var lastRetention: ContinuousClock.Instant?

    init(configuration: PostgresSource.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "outbox-relay.postgres-writer")
    }

    deinit {
        executor.shutdown()
    }

    /// Takes the statements `open()` built and connects now, so mistakes surface there.
    /// - Throws: ``PostgresError``.
    func open(_ completion: PostgresRowCompletion) throws(PostgresError) {
        self.completion = completion
        _ = try currentOrNewSession()
    }

    /// Marks (or deletes) the rows and records the dead letters in one transaction; a lost
    /// connection is re-established (with backoff) and the batch retried once.
    /// - Throws: ``PostgresError``; nothing is marked unless everything is.
    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter], parked: [ParkedDelivery] = []) async throws {
        guard let completion else {
            throw PostgresError(code: .unexpectedResult, message: "the source is not open")
        }
        do {
            try completion.complete(try await usableConnection(), rows: rows, deadLetters: deadLetters, parked: parked)
        } catch let error as PostgresError where error.isConnectionFailure {
            logger.warning(
                "postgres: write connection lost; reconnecting and retrying",
                metadata: ["error": "\(error)"]
            )
            connection = nil
            try completion.complete(try await usableConnection(), rows: rows, deadLetters: deadLetters, parked: parked)
        }
        completion.runRetentionIfDue(connection, lastRun: &lastRetention, logger: logger)
    }

    /// Closes the connection.
    func close() {
        connection = nil
    }

    private func currentOrNewSession() throws(PostgresError) -> PostgresConnection {
        if let connection, connection.isHealthy { return connection }
        connection = nil
        let session = try PostgresConnection.session(for: configuration)
        connection = session
        return session
    }

    private func usableConnection() async throws -> PostgresConnection {
        var backoff = configuration.reconnect.backoff()
        while true {
            let error: PostgresError
            do {
                return try currentOrNewSession()
            } catch let failure {
                error = failure
            }
            guard error.isConnectionFailure, let delay = backoff.delayAfterFailure(at: .now) else { throw error }
            logger.warning(
                "postgres: write connection failed; reconnecting",
                metadata: ["error": "\(error)", "delay": "\(delay)"]
            )
            try await Task.sleep(for: delay)
        }
    }
}
