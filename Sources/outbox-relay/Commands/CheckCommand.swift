import ArgumentParser
import Logging
import OutboxRelay

/// `outbox-relay check --config FILE`.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validates the configuration, opens the source and starts every transport, and says what is wrong."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap()
        let relayConfiguration: RelayConfiguration
        do {
            relayConfiguration = try RelayConfiguration.load(path: config)
        } catch let error as ConfigError {
            print("config: FAILED — \(error)")
            throw ExitCode(78)
        }
        print("config: ok (\(relayConfiguration.transports.count) transports, \(relayConfiguration.routing.rules.count) routes)")
        var failures = 0

        let source = relayConfiguration.source
        do {
            try await source.open()
            print("source: ok (\(source.flavour) table \(source.table))")
        } catch {
            print("source: FAILED — \(error)")
            failures += 1
        }
        await source.close()

        for transport in relayConfiguration.transports {
            do {
                try await transport.start()
                var line = "transport \(transport.name): ok"
                if let checking = transport as? any DestinationChecking {
                    let findings = try await checking.checkDestinations(routing: relayConfiguration.routing)
                    if !findings.isEmpty { line += "\n  " + findings.joined(separator: "\n  ") }
                }
                print(line)
            } catch {
                print("transport \(transport.name): FAILED — \(error)")
                failures += 1
            }
            await transport.shutdown()
        }
        let unused = Set(relayConfiguration.transports.map(\.name)).subtracting(relayConfiguration.routing.destinations)
        for name in unused.sorted() {
            logger.warning("transport \(name) is configured but no route sends to it")
        }
        if failures > 0 { throw ExitCode(1) }
        print("all checks passed")
    }
}

/// A transport that can check, for `outbox-relay check`, that the destinations routes will
/// produce to exist (Kafka topics, for example). Returns one line per finding.
protocol DestinationChecking {
    func checkDestinations(routing: RoutingTable) async throws -> [String]
}
