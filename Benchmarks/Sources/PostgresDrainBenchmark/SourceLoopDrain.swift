import DrainBenchmarkSupport
import Logging
import OutboxPostgres
import OutboxRelay

/// Drains the table with `PostgresSource` alone — `fetch` then `complete`, one batch at a
/// time, as `pg_drain` does — without the engine, decoding or a transport.
///
/// Sits between the C reference and the full relay, so the table shows where the time goes:
/// C → source loop is the cost of the source (libpq wrapping, copies, the thread hop per
/// call, BEGIN/COMMIT); source loop → relay is the cost of the engine (decoding, routing,
/// delivery, bookkeeping).
struct SourceLoopDrain {
    /// The libpq connection string (empty: PG* environment variables).
    var connection: String

    /// Drains the table once. Runs off the main actor.
    /// - Throws: what the source throws.
    nonisolated func run(_ configuration: DrainConfiguration) async throws -> DrainMeasurement {
        var logger = Logger(label: "outbox-relay.benchmark")
        logger.logLevel = .warning
        let source = try PostgresSource(
            configuration: PostgresSource.Configuration(
                connection: PostgresConnectionString(connection),
                flavour: configuration.flavour,
                afterDelivery: configuration.afterDelivery
            ),
            logger: logger
        )
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
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return DrainMeasurement(
            rows: rows,
            bytes: bytes,
            seconds: seconds,
            peakResidentKiB: nil,
            cpuSeconds: ProcessMemory.cpuSeconds - cpuBefore
        )
    }
}
