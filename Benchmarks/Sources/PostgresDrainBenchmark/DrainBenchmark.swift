import DrainBenchmarkSupport
import OutboxRelay

/// Runs the measurements: fills tables, drains them with the relay and with `pg_drain`,
/// checks every drain, and prints the results.
struct DrainBenchmark {
    /// A program that drains the table.
    enum Program: String, CaseIterable {
        case relay = "relay"
        case reference = "C pg_drain"
        case referenceTransaction = "C pg_drain --transaction"
        case sourceLoop = "PostgresSource loop"
    }

    /// A drain that left the table in the wrong state.
    struct VerificationFailure: Error, CustomStringConvertible {
        var description: String
    }

    let options: BenchmarkOptions
    let psql: PsqlClient
    let relay: RelayDrain
    let reference: ReferenceDrain?
    let referenceTransaction: ReferenceDrain?
    let sourceLoop: SourceLoopDrain?

    init(options: BenchmarkOptions) {
        self.options = options
        psql = PsqlClient(executable: options.psqlExecutable, connection: options.connection)
        relay = RelayDrain(
            connection: options.connection,
            maximumBatchesInFlight: options.maximumBatchesInFlight,
            writeConnection: options.writeConnection
        )
        reference = options.referenceExecutable.flatMap {
            options.skipsReference ? nil : ReferenceDrain(executable: $0, connection: options.connection)
        }
        referenceTransaction =
            options.measuresReferenceTransaction && !options.skipsReference
            ? options.referenceExecutable.map {
                ReferenceDrain(executable: $0, connection: options.connection, extraArguments: ["--transaction"])
            }
            : nil
        sourceLoop = options.measuresSourceLoop ? SourceLoopDrain(connection: options.connection) : nil
    }

    private var programs: [Program] {
        var programs: [Program] = []
        if reference != nil { programs.append(.reference) }
        if referenceTransaction != nil { programs.append(.referenceTransaction) }
        if sourceLoop != nil { programs.append(.sourceLoop) }
        if !options.skipsRelay || options.mode == .backlog { programs.append(.relay) }
        return programs
    }

    // MARK: - Modes

    /// Measures every configuration `rounds` times per program, interleaving the programs
    /// (alternating which goes first) so that machine noise hits both alike, then prints
    /// the medians and the relay's ratio to the C reference.
    nonisolated func runMatrix() async throws {
        let rows = options.effectiveRows
        let rounds = options.effectiveRounds
        let configurations = options.configurations
        let expectedBytes = try prepareWorkloads(for: configurations, rows: rows)
        Console.line(
            "# \(configurations.count) configurations x \(rounds) rounds x \(programs.count) programs, "
                + "\(rows) rows each, \(options.maximumBatchesInFlight) batches in flight, "
                + "write_connection \(options.writeConnection)"
        )

        var samples: [DrainConfiguration: [Program: [DrainMeasurement]]] = [:]
        for round in 1...rounds {
            for configuration in configurations {
                let order = round % 2 == 1 ? programs : programs.reversed()
                for program in order {
                    let workload = DrainWorkload(flavour: configuration.flavour, rows: rows)
                    try psql.execute(workload.resetSQL)
                    let measurement = try await measure(program, configuration, rows: rows)
                    try verify(
                        measurement,
                        of: program,
                        configuration,
                        workload: workload,
                        expectedBytes: expectedBytes[configuration.flavour]!
                    )
                    samples[configuration, default: [:]][program, default: []].append(measurement)
                    Console.line(
                        "round \(round)  \(pad(configuration.description, 30))  \(pad(program.rawValue, 26))  "
                            + "\(leftPad(format(measurement.messagesPerSecond), 9)) msgs/s  "
                            + "(\(format(measurement.seconds, decimals: 3)) s, "
                            + "client CPU \(format(measurement.cpuMicrosecondsPerMessage, decimals: 1)) µs/msg)"
                    )
                }
            }
        }
        printTable(configurations: configurations, samples: samples, rows: rows, rounds: rounds)
    }

    /// Drains one backlog per configuration and reports throughput and this process's peak
    /// resident memory (`VmHWM`). Run one configuration per process for a clean peak.
    nonisolated func runBacklog() async throws {
        let rows = options.effectiveRows
        let configurations = options.configurations
        let expectedBytes = try prepareWorkloads(for: configurations, rows: rows)
        for configuration in configurations {
            let workload = DrainWorkload(flavour: configuration.flavour, rows: rows)
            var referenceRate: Double?
            if let reference {
                try psql.execute(workload.resetSQL)
                let measurement = try reference.run(configuration)
                try verify(
                    measurement,
                    of: .reference,
                    configuration,
                    workload: workload,
                    expectedBytes: expectedBytes[configuration.flavour]!
                )
                referenceRate = measurement.messagesPerSecond
                Console.line(
                    "backlog  \(configuration)  C pg_drain  \(format(measurement.messagesPerSecond)) msgs/s  "
                        + "\(format(measurement.seconds, decimals: 2)) s  max RSS "
                        + "\(format(Double(measurement.peakResidentKiB ?? 0) / 1024, decimals: 1)) MiB"
                )
            }
            try psql.execute(workload.resetSQL)
            let before = ProcessMemory.peakResidentKiB
            let measurement = try await relay.run(configuration, expectedRows: rows)
            try verify(
                measurement,
                of: .relay,
                configuration,
                workload: workload,
                expectedBytes: expectedBytes[configuration.flavour]!
            )
            let peak = ProcessMemory.peakResidentKiB
            var line =
                "backlog  \(configuration)  relay       \(format(measurement.messagesPerSecond)) msgs/s  "
                + "\(format(measurement.seconds, decimals: 2)) s"
            line +=
                "  max RSS \(format(Double(peak) / 1024, decimals: 1)) MiB (before the drain: "
                + "\(format(Double(before) / 1024, decimals: 1)) MiB; "
                + "\(format(Double(measurement.bytes) / 1_048_576, decimals: 0)) MiB of payloads drained)"
            if let referenceRate {
                line += "  ratio \(format(100 * measurement.messagesPerSecond / referenceRate, decimals: 1)) %"
            }
            Console.line(line)
        }
    }

    // MARK: - Steps

    /// Creates the outbox tables and generates the template rows once per flavour.
    /// - Returns: the stored payload bytes per flavour, which every drain must deliver.
    private func prepareWorkloads(for configurations: [DrainConfiguration], rows: Int) throws -> [OutboxFlavour: Int] {
        var bytes: [OutboxFlavour: Int] = [:]
        let clock = ContinuousClock()
        for flavour in OutboxFlavour.allCases where configurations.contains(where: { $0.flavour == flavour }) {
            let workload = DrainWorkload(flavour: flavour, rows: rows)
            let started = clock.now
            try psql.execute(workload.createTableSQL)
            let reused = try psql.integer(workload.templateIsCurrentSQL) == 1
            if !reused {
                try psql.execute(workload.generateTemplateSQL)
                try psql.execute(workload.markTemplateSQL)
            }
            bytes[flavour] = try psql.integer(workload.totalPayloadBytesSQL)
            let average = try psql.integer(workload.averagePayloadSQL)
            let aggregates = try psql.integer(workload.aggregateCountSQL)
            Console.line(
                "# \(flavour): \(reused ? "reused" : "generated") \(rows) rows, \(aggregates) aggregates, "
                    + "average payload \(average) bytes, in \(clock.now - started)"
            )
        }
        return bytes
    }

    private func measure(
        _ program: Program,
        _ configuration: DrainConfiguration,
        rows: Int
    ) async throws -> DrainMeasurement {
        switch program {
        case .relay: return try await relay.run(configuration, expectedRows: rows)
        case .reference: return try reference!.run(configuration)
        case .referenceTransaction: return try referenceTransaction!.run(configuration)
        case .sourceLoop: return try await sourceLoop!.run(configuration)
        }
    }

    /// Checks that the drain handed over every row's bytes and left no row undelivered:
    /// marked rows all marked, deleted rows all gone.
    private func verify(
        _ measurement: DrainMeasurement,
        of program: Program,
        _ configuration: DrainConfiguration,
        workload: DrainWorkload,
        expectedBytes: Int
    ) throws {
        let undelivered = try psql.integer(workload.undeliveredCountSQL)
        let remaining = try psql.integer(workload.totalCountSQL)
        let expectedRemaining = configuration.afterDelivery == .mark ? workload.rows : 0
        guard measurement.rows == workload.rows, measurement.bytes == expectedBytes, undelivered == 0,
            remaining == expectedRemaining
        else {
            throw VerificationFailure(
                description: """
                    \(program.rawValue), \(configuration): drained \(measurement.rows) rows \
                    / \(measurement.bytes) bytes \
                    (expected \(workload.rows) / \(expectedBytes)); afterwards \(undelivered) rows undelivered and \
                    \(remaining) in the table (expected 0 and \(expectedRemaining))
                    """
            )
        }
    }

    // MARK: - Output

    private func printTable(
        configurations: [DrainConfiguration],
        samples: [DrainConfiguration: [Program: [DrainMeasurement]]],
        rows: Int,
        rounds: Int
    ) {
        func rate(_ configuration: DrainConfiguration, _ program: Program) -> Double {
            samples[configuration]?[program]?.map(\.messagesPerSecond).median ?? 0
        }
        func cpu(_ configuration: DrainConfiguration, _ program: Program) -> String {
            guard let values = samples[configuration]?[program], !values.isEmpty else { return "-" }
            return format(values.map(\.cpuMicrosecondsPerMessage).median, decimals: 1)
        }
        var header =
            "\(pad("configuration", 30))  \(leftPad("relay msgs/s", 13))  \(leftPad("C msgs/s", 10))  "
            + "\(leftPad("ratio", 7))"
        if referenceTransaction != nil { header += "  \(leftPad("C+tx msgs/s", 12))  \(leftPad("ratio", 7))" }
        if sourceLoop != nil { header += "  \(leftPad("source loop msgs/s", 18))  \(leftPad("vs C", 7))" }
        Console.line("")
        Console.line(
            "PostgreSQL drain, \(rows) rows per run, median of \(rounds) interleaved runs "
                + "(relay: PostgresSource + RelayEngine + SynchronousDispatcher; C: pg_drain, same SQL; source loop: "
                + "PostgresSource fetch/complete without the engine)"
        )
        Console.line(header)
        Console.line(String(repeating: "-", count: header.count))
        var best: (DrainConfiguration, Double)?
        for configuration in configurations {
            let relay = rate(configuration, .relay)
            var line = "\(pad(configuration.description, 30))  \(leftPad(format(relay), 13))"
            if reference != nil {
                let c = rate(configuration, .reference)
                let ratio = c > 0 ? relay / c : 0
                line += "  \(leftPad(format(c), 10))  \(leftPad(format(100 * ratio, decimals: 1) + " %", 7))"
                if best == nil || ratio > best!.1 { best = (configuration, ratio) }
            }
            if referenceTransaction != nil {
                let c = rate(configuration, .referenceTransaction)
                line +=
                    "  \(leftPad(format(c), 12))  "
                    + "\(leftPad(format(c > 0 ? 100 * relay / c : 0, decimals: 1) + " %", 7))"
            }
            if sourceLoop != nil {
                let loop = rate(configuration, .sourceLoop)
                let c = rate(configuration, .reference)
                line +=
                    "  \(leftPad(format(loop), 18))  "
                    + "\(leftPad(c > 0 ? format(100 * loop / c, decimals: 1) + " %" : "-", 7))"
            }
            Console.line(line)
        }
        Console.line("")
        Console.line(
            "client CPU per message (user + system of the draining process, median), µs: "
                + "the database's own work is the same for all"
        )
        let cpuHeader =
            "\(pad("configuration", 30))  " + programs.map { leftPad($0.rawValue, 20) }.joined(separator: "  ")
        Console.line(cpuHeader)
        Console.line(String(repeating: "-", count: cpuHeader.count))
        for configuration in configurations {
            Console.line(
                "\(pad(configuration.description, 30))  "
                    + programs.map { leftPad(cpu(configuration, $0), 20) }.joined(separator: "  ")
            )
        }
        if let best {
            Console.line(
                "best ratio: \(best.0): \(format(100 * best.1, decimals: 1)) % of the C reference (target >= 90 %)"
            )
        }
        Console.line(
            "peak RSS of this process (all runs): "
                + "\(format(Double(ProcessMemory.peakResidentKiB) / 1024, decimals: 1)) MiB"
        )
    }
}
