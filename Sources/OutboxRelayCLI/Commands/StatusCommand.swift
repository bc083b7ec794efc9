import ArgumentParser
import Logging
import OutboxRelay

/// `outbox-relay status --config FILE`: the backlog, the oldest undelivered row's age, the
/// dead-letter count, what each destination has parked and the relay holding the lock, without
/// relaying anything.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Shows the outbox backlog, the age of its oldest row, dead letters, parked deliveries per destination "
            + "and which relay is active."
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
        var parked: Result<[ParkedQueueSummary], any Error>?
        do {
            status = try await reporting.status()
            if let store = source as? any ParkedDeliveryStore {
                do { parked = .success(try await store.parkedSummary()) } catch { parked = .failure(error) }
            }
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
        switch parked {
        case nil: break
        case .failure(let error): print("parked:       unknown — \(error)")
        case .success(let queues):
            print(Self.parkedLines(queues, limits: relayConfiguration.engine.parking, now: .now()), terminator: "")
        }
        print("active relay: \(status.lockHolder ?? "none")")
    }

    /// The `parked:` lines: `none`, or one line per destination with its entries, bytes, the
    /// oldest entry's age and the next attempt, and a loud `AT CAP` with what the relay does then.
    static func parkedLines(
        _ queues: [ParkedQueueSummary],
        limits: RelayEngine.Configuration.Parking,
        now: Timestamp
    ) -> String {
        guard !queues.isEmpty else { return "parked:       none\n" }
        let width = queues.map(\.destination.count).max() ?? 0
        var text = "parked:\n"
        for queue in queues {
            var line = "  " + queue.destination + String(repeating: " ", count: width - queue.destination.count)
            line += "  \(queue.entries) message\(queue.entries == 1 ? "" : "s"), \(describe(bytes: queue.bytes))"
            if let oldest = queue.oldestFirstFailedAt {
                line += ", oldest \(describe(max(.zero, now.duration(since: oldest))))"
            }
            if let next = queue.nextAttemptAt {
                let wait = next.duration(since: now)
                line += wait > .zero ? ", next attempt in \(describe(wait))" : ", next attempt due"
            }
            text += line + "\n"
            if queue.isAtCap(limits) {
                let cap =
                    queue.entries >= limits.maximumEntries
                    ? "relay.max_parked_messages is \(limits.maximumEntries)"
                    : "relay.max_parked_bytes is \(limits.maximumBytes)"
                text +=
                    "  AT CAP (\(cap)): a relay claims no more rows until \(queue.destination) takes its parked "
                    + "messages; bring the endpoint back or raise the limit\n"
            }
        }
        return text
    }

    /// `512 B`, `4.2 KiB`, `13.0 MiB`, `1.5 GiB`.
    static func describe(bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        var value = Double(bytes) / 1024
        for unit in ["KiB", "MiB", "GiB"] {
            if value < 1024 || unit == "GiB" { return "\((value * 10).rounded() / 10) \(unit)" }
            value /= 1024
        }
        return "\(bytes) B"
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
