import ArgumentParser
import Logging
import OutboxRelay

/// `outbox-relay status --config FILE`: the backlog, the oldest undelivered row's age, the
/// dead-letter count and the relay holding the lock, without relaying anything.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Shows the outbox backlog, the age of its oldest row, dead letters and which relay is active."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        _ = logging.bootstrap()
        let relayConfiguration = try RelayConfiguration.load(path: config) { print("config: FAILED — \($0)") }
        let source = relayConfiguration.source
        guard let reporting = source as? any OutboxStatusReporting else {
            print("status: the \(source.flavour) source for \(source.table) cannot report its status")
            throw ExitCode(1)
        }
        let status: OutboxStatus
        do {
            status = try await reporting.status()
        } catch {
            await source.close()
            print("status: FAILED — \(error)")
            throw ExitCode(1)
        }
        await source.close()
        print("table:        \(source.table) (\(source.flavour))")
        print("backlog:      \(status.backlog) undelivered row\(status.backlog == 1 ? "" : "s")")
        print(
            "oldest:       \(status.oldestUndeliveredAge.map(Self.describe) ?? (status.backlog == 0 ? "-" : "unknown"))"
        )
        print("dead letters: \(status.deadLetters)")
        print("active relay: \(status.lockHolder ?? "none")")
    }

    /// `3d 4h`, `2h 5m`, `4m 12s`, `12.3s`.
    static func describe(_ duration: Duration) -> String {
        let seconds = duration.seconds
        // Saturating: an age read from a row may be absurd, and printing it must not trap.
        let whole = Int(exactly: seconds.rounded(.towardZero)) ?? (seconds < 0 ? Int.min : Int.max)
        switch whole {
        case 86_400...: return "\(whole / 86_400)d \(whole % 86_400 / 3600)h"
        case 3600...: return "\(whole / 3600)h \(whole % 3600 / 60)m"
        case 60...: return "\(whole / 60)m \(whole % 60)s"
        default:
            let tenths = Int((seconds * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)s"
        }
    }
}
