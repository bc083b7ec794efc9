import DrainBenchmarkSupport
import OutboxMySQL
import OutboxRelay

/// Runs the measurements: fills tables, drains them with the relay and with `mysql_drain`,
/// checks every drain, and prints the results.
struct MySQLDrainBenchmark: Sendable {
    /// A drain that left the table in the wrong state.
    struct VerificationFailure: Error, CustomStringConvertible {
        var description: String
    }

    let url: String
    let client: MariaDBClient
    let relay: MySQLRelayDrain
    let reference: ReferenceDrain?
    let measuresSourceLoop: Bool
    let rows: Int

    init(options: MySQLBenchmarkOptions) throws {
        url = options.url!
        let parsed = try MySQLConnectionURL(url)
        client = MariaDBClient(executable: options.clientExecutable, url: parsed)
        relay = MySQLRelayDrain(url: parsed, maximumBatchesInFlight: options.maximumBatchesInFlight)
        reference =
            options.skipsReference
            ? nil : options.referenceExecutable.map { ReferenceDrain(executable: $0, connection: options.url!) }
        measuresSourceLoop = options.measuresSourceLoop
        rows = options.effectiveRows
    }

    /// Every configuration, the programs interleaved; prints the comparison.
    nonisolated func runMatrix(
        configurations: [DrainConfiguration],
        rounds: Int,
        maximumBatchesInFlight: Int
    )
        async throws
    {
        let expectedBytes = try prepareWorkloads(for: configurations)
        let rows = self.rows
        let relay = self.relay
        Console.line(
            "# \(configurations.count) configurations x \(rounds) rounds, \(rows) rows each, "
                + "\(maximumBatchesInFlight) batches in flight"
        )
        let matrix = DrainMatrix(
            title:
                "MySQL drain, \(rows) rows per run (relay: MySQLSource + RelayEngine + SynchronousDispatcher; "
                + "C: mysql_drain, same SQL; source loop: MySQLSource fetch/complete without the engine)",
            relay: DrainProgram(name: "relay") { try await relay.run($0, expectedRows: rows) },
            reference: reference.map { reference in DrainProgram(name: "C mysql_drain") { try reference.run($0) } },
            others: measuresSourceLoop
                ? [DrainProgram(name: "MySQLSource loop") { try await relay.runSourceLoop($0) }] : [],
            reset: { try self.client.execute(MySQLDrainWorkload(flavour: $0.flavour, rows: rows).resetSQL) },
            verify: { program, configuration, measurement in
                try self.verify(measurement, of: program.name, configuration, expectedBytes: expectedBytes)
            }
        )
        try await matrix.run(configurations: configurations, rounds: rounds)
        Console.line(
            "peak RSS of this process (all runs): "
                + "\(format(Double(ProcessMemory.peakResidentKiB) / 1024, decimals: 1)) MiB"
        )
    }

    /// Drains one backlog per configuration and reports throughput and this process's peak
    /// resident memory (`VmHWM`). Run one configuration per process for a clean peak.
    nonisolated func runBacklog(configurations: [DrainConfiguration]) async throws {
        let expectedBytes = try prepareWorkloads(for: configurations)
        for configuration in configurations {
            let workload = MySQLDrainWorkload(flavour: configuration.flavour, rows: rows)
            var referenceRate: Double?
            if let reference {
                try client.execute(workload.resetSQL)
                let measurement = try reference.run(configuration)
                try verify(measurement, of: "C mysql_drain", configuration, expectedBytes: expectedBytes)
                referenceRate = measurement.messagesPerSecond
                Console.line(
                    "backlog  \(configuration)  C mysql_drain  \(format(measurement.messagesPerSecond)) msgs/s  "
                        + "\(format(measurement.seconds, decimals: 2)) s  max RSS "
                        + "\(format(Double(measurement.peakResidentKiB ?? 0) / 1024, decimals: 1)) MiB"
                )
            }
            try client.execute(workload.resetSQL)
            let before = ProcessMemory.peakResidentKiB
            let measurement = try await relay.run(configuration, expectedRows: rows)
            try verify(measurement, of: "relay", configuration, expectedBytes: expectedBytes)
            var line =
                "backlog  \(configuration)  relay          \(format(measurement.messagesPerSecond)) msgs/s  "
                + "\(format(measurement.seconds, decimals: 2)) s  max RSS "
                + "\(format(Double(ProcessMemory.peakResidentKiB) / 1024, decimals: 1)) MiB (before the drain: "
                + "\(format(Double(before) / 1024, decimals: 1)) MiB; "
                + "\(format(Double(measurement.bytes) / 1_048_576, decimals: 0)) MiB of payloads drained; "
                + "client CPU \(format(measurement.cpuMicrosecondsPerMessage, decimals: 1)) µs/msg)"
            if let referenceRate {
                line += "  ratio \(format(100 * measurement.messagesPerSecond / referenceRate, decimals: 1)) %"
            }
            Console.line(line)
        }
    }

    /// Creates the outbox tables and generates the template rows once per flavour.
    /// - Returns: the stored payload bytes per flavour, which every drain must deliver.
    private func prepareWorkloads(for configurations: [DrainConfiguration]) throws -> [OutboxFlavour: Int] {
        var bytes: [OutboxFlavour: Int] = [:]
        let clock = ContinuousClock()
        for flavour in OutboxFlavour.allCases where configurations.contains(where: { $0.flavour == flavour }) {
            let workload = MySQLDrainWorkload(flavour: flavour, rows: rows)
            let started = clock.now
            try client.execute(workload.createTableSQL)
            let reused = try client.integer(workload.templateIsCurrentSQL) == 1
            if !reused {
                try client.execute(workload.generateTemplateSQL)
                try client.execute(workload.markTemplateSQL)
            }
            bytes[flavour] = try client.integer(workload.totalPayloadBytesSQL)
            let average = try client.integer(workload.averagePayloadSQL)
            let aggregates = try client.integer(workload.aggregateCountSQL)
            Console.line(
                "# \(flavour): \(reused ? "reused" : "generated") \(rows) rows, \(aggregates) aggregates, "
                    + "average payload \(average) bytes, in \(clock.now - started)"
            )
        }
        return bytes
    }

    /// Checks that the drain handed over every row's bytes and left no row undelivered:
    /// marked rows all marked, deleted rows all gone.
    private func verify(
        _ measurement: DrainMeasurement,
        of program: String,
        _ configuration: DrainConfiguration,
        expectedBytes: [OutboxFlavour: Int]
    ) throws {
        let workload = MySQLDrainWorkload(flavour: configuration.flavour, rows: rows)
        let undelivered = try client.integer(workload.undeliveredCountSQL)
        let remaining = try client.integer(workload.totalCountSQL)
        let expectedRemaining = configuration.afterDelivery == .mark ? rows : 0
        let bytes = expectedBytes[configuration.flavour] ?? -1
        guard measurement.rows == rows, measurement.bytes == bytes, undelivered == 0, remaining == expectedRemaining
        else {
            throw VerificationFailure(
                description: """
                    \(program), \(configuration): drained \(measurement.rows) rows / \(measurement.bytes) bytes \
                    (expected \(rows) / \(bytes)); afterwards \(undelivered) rows undelivered and \
                    \(remaining) in the table (expected 0 and \(expectedRemaining))
                    """
            )
        }
    }
}
