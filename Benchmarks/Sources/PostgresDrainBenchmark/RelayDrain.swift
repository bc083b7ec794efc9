import DrainBenchmarkSupport
import Logging
import OutboxPostgres
import OutboxRelay

/// Drains the outbox table once through the real relay: `PostgresSource` → `RelayEngine` →
/// `SynchronousDispatcher` → a ``CountingConsumer``, with the relay's default settings except
/// the batch size.
struct RelayDrain {
    /// The failure of a drain that did not deliver what it should have.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The libpq connection string (empty: PG* environment variables).
    var connection: String
    /// Batches in flight (``RelayEngine/Configuration/maximumBatchesInFlight``). Default: the
    /// relay's default.
    var maximumBatchesInFlight = RelayEngine.Configuration().maximumBatchesInFlight
    /// Which connection marks rows. Default `separate`, the relay's default.
    var writeConnection: PostgresSource.Configuration.WriteConnection = .separate

    /// Drains the table once and returns the time from opening the source to the last row
    /// marked. Runs off the main actor.
    /// - Throws: what the relay throws, or ``Failure`` when the counts disagree.
    nonisolated func run(_ configuration: DrainConfiguration, expectedRows: Int) async throws -> DrainMeasurement {
        var logger = Logger(label: "outbox-relay.benchmark")
        logger.logLevel = .warning
        let source = try PostgresSource(
            configuration: PostgresSource.Configuration(
                connection: PostgresConnectionString(connection),
                flavour: configuration.flavour,
                afterDelivery: configuration.afterDelivery,
                writeConnection: writeConnection
            ),
            logger: logger
        )
        let consumer = CountingConsumer()
        let dispatcher = SynchronousDispatcher(name: "in-process", consumer: consumer)
        let routing = try RoutingTable(rules: [RoutingTable.Rule(events: try EventTypePattern("*"), to: ["in-process"])]
        )
        let engine = try RelayEngine(
            source: source,
            transports: [dispatcher],
            routing: routing,
            configuration: RelayEngine.Configuration(
                batchSize: configuration.batchSize,
                maximumBatchesInFlight: maximumBatchesInFlight
            ),
            logger: logger
        )

        let clock = ContinuousClock()
        let cpuBefore = ProcessMemory.cpuSeconds
        let started = clock.now
        let summary = try await engine.drain()
        let elapsed = clock.now - started

        guard summary.rowsCompleted == expectedRows, consumer.messages == expectedRows, summary.deadLetters == 0 else {
            throw Failure(
                description:
                    "\(configuration): expected \(expectedRows) rows delivered and completed, "
                    + "the relay reports \(summary) and the consumer saw \(consumer.messages) messages"
            )
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return DrainMeasurement(
            rows: summary.rowsCompleted,
            bytes: consumer.bytes,
            seconds: seconds,
            peakResidentKiB: ProcessMemory.peakResidentKiB,
            cpuSeconds: ProcessMemory.cpuSeconds - cpuBefore
        )
    }
}
