import DrainBenchmarkSupport
import Logging
import OutboxMySQL
import OutboxRelay

/// Drains the outbox table once through the real relay: `MySQLSource` → `RelayEngine` →
/// `SynchronousDispatcher` → a `CountingConsumer`, with the relay's default settings except
/// the batch size.
struct MySQLRelayDrain: Sendable {
    /// The failure of a drain that did not deliver what it should have.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The server.
    var url: MySQLConnectionURL
    /// Batches in flight. Default: the relay's default.
    var maximumBatchesInFlight = RelayEngine.Configuration().maximumBatchesInFlight

    private func source(_ configuration: DrainConfiguration) throws -> MySQLSource {
        var logger = Logger(label: "outbox-relay.benchmark")
        logger.logLevel = .warning
        return try MySQLSource(
            configuration: MySQLSource.Configuration(
                connection: url,
                flavour: configuration.flavour,
                afterDelivery: configuration.afterDelivery
            ),
            logger: logger
        )
    }

    /// Drains the table once and returns the time from opening the source to the last row
    /// marked. Runs off the main actor.
    /// - Throws: what the relay throws, or ``Failure`` when the counts disagree.
    nonisolated func run(_ configuration: DrainConfiguration, expectedRows: Int) async throws -> DrainMeasurement {
        var logger = Logger(label: "outbox-relay.benchmark")
        logger.logLevel = .warning
        let consumer = CountingConsumer()
        let engine = try RelayEngine(
            source: try source(configuration),
            transports: [SynchronousDispatcher(name: "in-process", consumer: consumer)],
            routing: try RoutingTable(rules: [RoutingTable.Rule(events: try EventTypePattern("*"), to: ["in-process"])]
            ),
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
        return DrainMeasurement(
            rows: summary.rowsCompleted,
            bytes: consumer.bytes,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            peakResidentKiB: ProcessMemory.peakResidentKiB,
            cpuSeconds: ProcessMemory.cpuSeconds - cpuBefore
        )
    }

    /// Drains the table with `MySQLSource` alone — `fetch` then `complete`, one batch at a
    /// time, as `mysql_drain` does — without the engine, decoding or a transport: C → source
    /// loop is the source's cost, source loop → relay the engine's.
    nonisolated func runSourceLoop(_ configuration: DrainConfiguration) async throws -> DrainMeasurement {
        let source = try source(configuration)
        let clock = ContinuousClock()
        let cpuBefore = ProcessMemory.cpuSeconds
        let started = clock.now
        try await source.open()
        var rows = 0
        var bytes = 0
        var cursor: OutboxCursor?
        while true {
            let batch = try await source.fetch(limit: configuration.batchSize, after: cursor)
            guard let last = batch.last else { break }
            var ids: [OutboxRowID] = []
            ids.reserveCapacity(batch.count)
            for row in batch {
                ids.append(row.id)
                bytes += row.payload.count
            }
            try await source.complete(rows: ids, deadLetters: [])
            rows += batch.count
            cursor = last.cursor
        }
        await source.close()
        let elapsed = clock.now - started
        return DrainMeasurement(
            rows: rows,
            bytes: bytes,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            peakResidentKiB: nil,
            cpuSeconds: ProcessMemory.cpuSeconds - cpuBefore
        )
    }
}
