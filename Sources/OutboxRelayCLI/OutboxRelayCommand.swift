import ArgumentParser
import Logging

/// `outbox-relay`: moves events out of EventSauce outbox tables.
///
/// The daemon's whole command line (`run`, `check`, `status`, `schema`, `demo`,
/// `dlq`). The `outbox-relay`
/// executable is a `main.swift` that calls ``main()``.
public struct OutboxRelayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outbox-relay",
        abstract: "Relays EventSauce outbox tables to Kafka, webhooks, files and in-process consumers.",
        version: RelayVersion.description,
        subcommands: [
            RunCommand.self, CheckCommand.self, StatusCommand.self, SchemaCommand.self, DemoCommand.self,
            DeadLetterCommand.self,
        ]
    )

    public init() {}
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
