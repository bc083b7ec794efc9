import ArgumentParser
import Logging
import OutboxRelay

/// `outbox-relay check --config FILE [--offline]`.
///
/// Validates the configuration, then (unless `--offline`) opens the source and starts every
/// transport. `--offline` connects to nothing: it is for CI jobs and config reviews on a machine
/// without the database or the brokers.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validates the configuration, opens the source and starts every transport, and says what is wrong.",
        discussion: "With --offline only the configuration is validated; nothing is connected to."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Seconds to wait for the source to open (a standby waits for the active relay's lock).")
    var openTimeout: Int = 15

    @Flag(name: .long, help: "Validate the configuration only: connect to no database, broker or endpoint.")
    var offline = false

    @OptionGroup var logging: LoggingOptions

    /// Opens `source`, or gives up after `timeout` (returns `false`).
    static func openWithin(_ timeout: Duration, _ source: any OutboxSource) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await source.open()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let opened = try await group.next() ?? false
            group.cancelAll()
            return opened
        }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        let relayConfiguration = try RelayConfiguration.load(path: config) { print("config: FAILED — \($0)") }
        print(
            "config: ok (\(relayConfiguration.transports.count) transports, "
                + "\(relayConfiguration.routing.rules.count) routes)"
        )
        let unused = Set(relayConfiguration.transports.map(\.name)).subtracting(relayConfiguration.routing.destinations)
        if offline {
            let source = relayConfiguration.source
            print("source: not opened (--offline) — \(source.flavour) table \(source.table)")
            for transport in relayConfiguration.transports {
                print("transport \(transport.name): not started (--offline)")
            }
            for name in unused.sorted() { print("warning: transport \(name) is configured but no route sends to it") }
            print("configuration is valid (nothing was connected to)")
            return
        }
        var failures = 0

        let source = relayConfiguration.source
        do {
            if try await Self.openWithin(.seconds(openTimeout), source) {
                print("source: ok (\(source.flavour) table \(source.table))")
            } else {
                print(
                    "source: TIMEOUT — not open within \(openTimeout) s: the database does not answer, "
                        + "or another relay holds the table's lock "
                        + "(lock: advisory) and this one would wait as a hot standby; "
                        + "`outbox-relay status` shows which"
                )
                failures += 1
            }
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
        for name in unused.sorted() {
            logger.warning("a transport is configured but no route sends to it", metadata: ["transport": "\(name)"])
        }
        if failures > 0 { throw ExitCode(1) }
        print("all checks passed")
    }
}
