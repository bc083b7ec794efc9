import ArgumentParser
import Logging

/// `outbox-relay`: moves events out of EventSauce outbox tables.
///
/// The daemon's whole command line (`run`, `check`, `status`, `schema`, `demo`, `dlq`). The
/// `outbox-relay` executable is a `@main` that calls ``main(registry:)`` with
/// ``RelayRegistry/builtIn``; an executable with its own transports, sources or expanders calls it
/// with its own registry.
public struct OutboxRelayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outbox-relay",
        abstract: "Relays EventSauce outbox tables to Kafka, webhooks, files and in-process consumers.",
        version: RelayVersion.description,
        subcommands: [
            RunCommand.self, CheckCommand.self, StatusCommand.self, SchemaCommand.self, DemoCommand.self,
            DeadLetterCommand.self, ExplainCommand.self, ReplayCommand.self,
        ]
    )

    public init() {}

    /// Parses the process's arguments and runs the command they name, with the transport types,
    /// source kinds and expanders of `registry`; exits the process when the command fails.
    ///
    /// The registry is bound to ``RelayRegistry/current`` for the whole run (commands are built
    /// by the argument parser and read it from there).
    public static func main(registry: RelayRegistry) async {
        await RelayRegistry.$current.withValue(registry) {
            await main()
        }
    }
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Sends logs to standard error (standard output may carry relayed messages).
    func bootstrap() -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "outbox-relay")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
