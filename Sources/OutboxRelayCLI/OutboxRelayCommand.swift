import ArgumentParser
import Foundation
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
    /// How log lines are written.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        /// swift-log's text lines.
        case text
        /// One JSON object per line (``JSONLogHandler``).
        case json
    }

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "text or json (one object per line); default OUTBOX_RELAY_LOG_FORMAT, else text.")
    var logFormat: LogFormat?

    /// Sends logs to standard error (standard output may carry relayed messages).
    func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) -> Logger {
        let level = logLevel
        let format = logFormat ?? environment["OUTBOX_RELAY_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "outbox-relay")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
