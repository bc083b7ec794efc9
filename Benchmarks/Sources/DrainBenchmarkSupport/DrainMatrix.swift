/// One program that drains a freshly filled table: the C reference, the relay, or a step
/// in between.
public struct DrainProgram: Sendable {
    /// What the program is, for the table (`relay`, `C mysql_drain`, …).
    public var name: String
    /// Drains the table once.
    public var drain: @Sendable (DrainConfiguration) async throws -> DrainMeasurement

    /// Creates a program.
    public init(name: String, drain: @escaping @Sendable (DrainConfiguration) async throws -> DrainMeasurement) {
        self.name = name
        self.drain = drain
    }
}

/// Measures drain programs against each other: every configuration `rounds` times per
/// program, the programs interleaved (the order alternating every round) so machine noise
/// hits all alike, each drain preceded by `reset` and followed by `verify`; then prints the
/// median msgs/s, the relay's ratio to the reference and client CPU µs per message.
public struct DrainMatrix: Sendable {
    /// The table's title line.
    public var title: String
    /// The relay (the program measured).
    public var relay: DrainProgram
    /// The C reference the relay is compared with, if any.
    public var reference: DrainProgram?
    /// More programs shown next to them (ratio to the reference).
    public var others: [DrainProgram]
    /// Refills the table before each drain.
    public var reset: @Sendable (DrainConfiguration) throws -> Void
    /// Checks the table and the measurement after each drain.
    public var verify: @Sendable (DrainProgram, DrainConfiguration, DrainMeasurement) throws -> Void

    /// Creates a matrix.
    public init(
        title: String,
        relay: DrainProgram,
        reference: DrainProgram?,
        others: [DrainProgram] = [],
        reset: @escaping @Sendable (DrainConfiguration) throws -> Void,
        verify: @escaping @Sendable (DrainProgram, DrainConfiguration, DrainMeasurement) throws -> Void
    ) {
        self.title = title
        self.relay = relay
        self.reference = reference
        self.others = others
        self.reset = reset
        self.verify = verify
    }

    private var programs: [DrainProgram] { (reference.map { [$0] } ?? []) + others + [relay] }

    /// Runs every measurement, printing a line per drain and the tables at the end.
    /// - Returns: the best ratio of the relay to the reference (0 without a reference).
    @discardableResult
    public nonisolated func run(configurations: [DrainConfiguration], rounds: Int) async throws -> Double {
        var samples: [DrainConfiguration: [String: [DrainMeasurement]]] = [:]
        for round in 1...max(1, rounds) {
            for configuration in configurations {
                let order = round % 2 == 1 ? programs : programs.reversed()
                for program in order {
                    try reset(configuration)
                    let measurement = try await program.drain(configuration)
                    try verify(program, configuration, measurement)
                    samples[configuration, default: [:]][program.name, default: []].append(measurement)
                    Console.line(
                        "round \(round)  \(pad(configuration.description, 30))  \(pad(program.name, 22))  "
                            + "\(leftPad(format(measurement.messagesPerSecond), 9)) msgs/s  "
                            + "(\(format(measurement.seconds, decimals: 3)) s, "
                            + "client CPU \(format(measurement.cpuMicrosecondsPerMessage, decimals: 1)) µs/msg)"
                    )
                }
            }
        }
        return printTable(configurations: configurations, samples: samples, rounds: rounds)
    }

    private func printTable(
        configurations: [DrainConfiguration],
        samples: [DrainConfiguration: [String: [DrainMeasurement]]],
        rounds: Int
    ) -> Double {
        func rate(_ configuration: DrainConfiguration, _ program: DrainProgram) -> Double {
            samples[configuration]?[program.name]?.map(\.messagesPerSecond).median ?? 0
        }
        func cpu(_ configuration: DrainConfiguration, _ program: DrainProgram) -> String {
            guard let values = samples[configuration]?[program.name], !values.isEmpty else { return "-" }
            return format(values.map(\.cpuMicrosecondsPerMessage).median, decimals: 1)
        }
        var header = "\(pad("configuration", 30))  \(leftPad("relay msgs/s", 13))"
        if reference != nil { header += "  \(leftPad("C msgs/s", 10))  \(leftPad("ratio", 7))" }
        for other in others { header += "  \(leftPad(other.name + " msgs/s", 26))  \(leftPad("vs C", 7))" }
        Console.line("")
        Console.line("\(title), median of \(rounds) interleaved runs")
        Console.line(header)
        Console.line(String(repeating: "-", count: header.count))
        var best: (DrainConfiguration, Double)?
        for configuration in configurations {
            let relayRate = rate(configuration, relay)
            var line = "\(pad(configuration.description, 30))  \(leftPad(format(relayRate), 13))"
            let c = reference.map { rate(configuration, $0) } ?? 0
            if reference != nil {
                let ratio = c > 0 ? relayRate / c : 0
                line += "  \(leftPad(format(c), 10))  \(leftPad(format(100 * ratio, decimals: 1) + " %", 7))"
                if best == nil || ratio > best!.1 { best = (configuration, ratio) }
            }
            for other in others {
                let value = rate(configuration, other)
                line +=
                    "  \(leftPad(format(value), 26))  "
                    + "\(leftPad(c > 0 ? format(100 * value / c, decimals: 1) + " %" : "-", 7))"
            }
            Console.line(line)
        }
        Console.line("")
        Console.line("client CPU per message (user + system of the draining process, median), µs")
        let cpuHeader = "\(pad("configuration", 30))  " + programs.map { leftPad($0.name, 22) }.joined(separator: "  ")
        Console.line(cpuHeader)
        Console.line(String(repeating: "-", count: cpuHeader.count))
        for configuration in configurations {
            Console.line(
                "\(pad(configuration.description, 30))  "
                    + programs.map { leftPad(cpu(configuration, $0), 22) }.joined(separator: "  ")
            )
        }
        if let best {
            Console.line(
                "best ratio: \(best.0): \(format(100 * best.1, decimals: 1)) % of the C reference (target >= 90 %)"
            )
        }
        return best?.1 ?? 0
    }
}
