import CLibPQ
import Logging
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A second connection that `LISTEN`s on the notify channel and blocks in `poll()` on its own
/// thread until a notification arrives, so the source's data connection stays free.
actor PostgresNotificationListener {
    private let executor = DedicatedThreadExecutor(name: "outbox-relay.postgres-listen")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let connectionString: PostgresConnectionString
    private let applicationName: String
    private let channel: String
    private let logger: Logger
    private var connection: PostgresConnection?
    private var reportedFailure = false

    init(connection: PostgresConnectionString, applicationName: String, channel: String, logger: Logger) {
        self.connectionString = connection
        self.applicationName = applicationName
        self.channel = channel
        self.logger = logger
    }

    deinit {
        executor.shutdown()
    }

    /// Connects and subscribes.
    /// - Throws: ``PostgresError`` when the server cannot be reached.
    func start() throws(PostgresError) {
        let connection = try PostgresConnection.connect(
            connectionString,
            applicationName: applicationName + " (listen)"
        )
        try connection.execute("LISTEN \"\(channel)\"")
        self.connection = connection
    }

    /// Returns on a notification, after `timeout`, or soon after the calling task is cancelled.
    /// A re-established subscription returns at once: notifications may have been missed.
    func wait(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        guard let connection, connection.isHealthy else {
            self.connection = nil
            do {
                try start()
                if reportedFailure {
                    logger.info("postgres: LISTEN connection re-established", metadata: ["channel": "\(channel)"])
                }
                reportedFailure = false
            } catch {
                if !reportedFailure {
                    logger.warning(
                        "postgres: LISTEN connection failed, polling instead",
                        metadata: ["channel": "\(channel)", "error": "\(error)"]
                    )
                }
                reportedFailure = true
                sleep(until: deadline)
            }
            return
        }
        do {
            try connection.consumeInput()
            if !connection.takeNotifications().isEmpty { return }
            while !Task.isCancelled {
                let remaining = deadline - ContinuousClock.now
                if remaining <= .zero { return }
                let slice = min(remaining, .milliseconds(100))
                var descriptor = pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, Int32(max(1, slice.milliseconds)))
                if ready > 0 {
                    try connection.consumeInput()
                    if !connection.takeNotifications().isEmpty { return }
                    if !connection.isHealthy {
                        self.connection = nil
                        return
                    }
                }
            }
        } catch {
            logger.warning(
                "postgres: LISTEN connection lost",
                metadata: ["channel": "\(channel)", "error": "\(error)"]
            )
            self.connection = nil
        }
    }

    /// Closes the connection.
    func close() {
        connection = nil
    }

    private func sleep(until deadline: ContinuousClock.Instant) {
        while !Task.isCancelled {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return }
            var request = timespec(tv_sec: 0, tv_nsec: Int(min(remaining, .milliseconds(100)).milliseconds) * 1_000_000)
            nanosleep(&request, nil)
        }
    }
}
