import ArgumentParser
import Foundation
import Logging
import OutboxRelay
import OutboxSQLite

/// `outbox-relay demo`: an end-to-end run on an embedded SQLite outbox.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Creates an SQLite outbox with realistic EventSauce messages and relays them to stdout and an "
            + "in-process consumer."
    )

    @Option(name: .long, help: "The folder to create the demo in (default: a new temporary folder).")
    var directory: String?

    @Option(name: .long, help: "How many events to generate.")
    var events: Int = 300

    @Flag(name: .long, help: "Do not print the relayed JSON lines, only the summary.")
    var quiet = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap()
        let folder = try directory ?? Self.makeTemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let databasePath = folder + "/outbox.db"
        let configPath = folder + "/relay.yaml"
        try? FileManager.default.removeItem(atPath: databasePath)

        // 1. An outbox table exactly as PHP's message-outbox creates it, filled like PHP fills it.
        let seeding = SQLiteSource(configuration: .init(path: databasePath, flavour: .outbox))
        try await seeding.createTables()
        var payloads = DemoEvents.generate(count: events)
        payloads.insert([], at: payloads.count / 3)  // a failed json_encode
        payloads.insert(Array(payloads[10].prefix(120)), at: payloads.count / 2)  // truncated JSON
        _ = try await seeding.insert(payloads: payloads)
        await seeding.close()

        // 2. A config file, as you would write one.
        let yaml = """
            # outbox-relay demo configuration: see the README's config reference.
            source:
              url: "sqlite:\(databasePath)"
              flavour: outbox
              table: outbox_messages
              batch_size: 100
              after_delivery: mark
            transports:
              stdout:
                type: file
                path: "\(quiet ? "/dev/null" : "-")"
            routes:
              - events: "*"
                to: [stdout]
            unrouted: skip

            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let relayConfiguration = try RelayConfiguration.load(path: configPath)

        // 3. An in-process consumer for the order events, next to the file transport.
        let tally = EventTally()
        let dispatcher = SynchronousDispatcher(
            name: "in-process",
            consumers: [
                .init(events: try EventTypePattern("acme.shop.orders.*"), consumer: tally)
            ]
        )
        let routing = try RoutingTable(
            rules: relayConfiguration.routing.rules + [
                .init(events: try EventTypePattern("acme.shop.orders.*"), to: ["in-process"])
            ],
            unrouted: relayConfiguration.routing.unrouted
        )
        let engine = try RelayEngine(
            source: relayConfiguration.source,
            transports: relayConfiguration.transports + [dispatcher],
            routing: routing,
            expander: relayConfiguration.expander,
            configuration: relayConfiguration.engine,
            logger: logger
        )
        let started = ContinuousClock.now
        let summary = try await engine.drain()
        let elapsed = ContinuousClock.now - started

        // 4. What happened.
        let counts = await tally.counts
        var report = """

            ── outbox-relay demo ──────────────────────────────────────────────
            outbox:      \(databasePath) (\(payloads.count) rows, EventSauce 'outbox' flavour)
            relayed:     \(summary) in \(Int(elapsed.seconds * 1000)) ms
            stdout:      one JSON line per message (above\(quiet ? ", suppressed by --quiet" : ""))
            in-process:  a Swift MessageConsumer received the order events:

            """
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) {
            report += "               \(String(count).leftPadded(to: 4))  \(type)\n"
        }
        report += """
            dead letters: \(summary.deadLetters) rows set aside in outbox_relay_dead_letters (see why:
                         sqlite3 \(databasePath) 'SELECT row_id, last_error FROM outbox_relay_dead_letters')

            Run it on your own table:
              1. copy \(configPath) and point source.url at your database
                 (sqlite:PATH, postgres://user@host/db or mysql://user@host/db), source.flavour/table at your outbox;
              2. outbox-relay check --config relay.yaml
              3. outbox-relay run --config relay.yaml          (Ctrl-C stops it cleanly)
            Never run the PHP relay on the same table at the same time.

            """
        FileHandle.standardError.write(Data(report.utf8))
        if summary.rowsLeftInFlight > 0 { throw ExitCode(1) }
    }

    static func makeTemporaryFolder() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/outbox-relay-demo-XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw ValidationError("cannot create a temporary folder") }
        return String(cString: result)
    }
}

/// Counts the messages it receives, per event type.
actor EventTally: MessageConsumer {
    private(set) var counts: [String: Int] = [:]

    nonisolated func handle(_ message: OutboxMessage) async throws {
        await record(message.eventType)
    }

    private func record(_ eventType: String) {
        counts[eventType, default: 0] += 1
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
