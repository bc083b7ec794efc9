import Foundation
import OutboxRelay
import Testing

@testable import OutboxRelayCLI

@Suite("outbox-relay status")
struct StatusCommandTests {
    @Test func reportsBacklogAndDeadLetters() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            INSERT INTO outbox_messages (payload) VALUES ('{"headers":{"__event_type":"a.b"},"payload":[]}'), \
            (''), ('{"headers":{"__event_type":"a.b"},"payload":[]}');
            """
        )
        let config = folder.appendingPathComponent("relay.yaml")
        try RunCommandTests.config(database: database, output: output).write(
            to: config,
            atomically: true,
            encoding: .utf8
        )

        let before = try await CLI.run(["status", "--config", config.path])
        #expect(before.status == 0, "\(before.output)")
        #expect(before.stdout.contains("backlog:      3 undelivered rows"), "\(before.stdout)")
        #expect(before.stdout.contains("dead letters: 0"), "\(before.stdout)")

        #expect(try await CLI.run(["run", "--config", config.path, "--drain"]).status == 0)
        let after = try await CLI.run(["status", "--config", config.path])
        #expect(after.stdout.contains("backlog:      0 undelivered rows"), "\(after.stdout)")
        #expect(after.stdout.contains("dead letters: 1"), "\(after.stdout)")
    }

    /// A SQLite outbox of 10 rows (10 aggregates) relayed by the built binary to a file and to a
    /// webhook whose port refuses connections (`park_after: 1`, a cap of 4 parked messages):
    /// every row is marked and parked for the webhook, then the relay is stopped.
    static func parkedOutbox() async throws -> (config: URL, database: URL) {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let rows = (0..<10).map { index in
            #"('{"headers":{"__event_type":"a.b","__event_id":"e-\#(index)","__aggregate_root_id":"agg-\#(index)","#
                + #""__aggregate_root_version":1},"payload":{"n":\#(index)}}')"#
        }
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            INSERT INTO outbox_messages (payload) VALUES \(rows.joined(separator: ", "));
            """
        )
        let config = folder.appendingPathComponent("relay.yaml")
        try """
        source:
          url: "sqlite:\(database.path)"
        transports:
          out:
            type: file
            path: "\(folder.appendingPathComponent("out.jsonl").path)"
          hook:
            type: http
            url: "http://127.0.0.1:\(try refusedPort())/events"
            allow_private_networks: true
            retry: {park_after: 1, max_attempts: unlimited}
        routes:
          - events: "*"
            to: [out, hook]
        relay:
          max_parked_messages: 4
        """.write(to: config, atomically: true, encoding: .utf8)
        let relay = try CLI.start(["run", "--config", config.path])
        defer { relay.process.terminate() }
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            // The relay creates the parked table on start: until then the query fails.
            let counts =
                (try? SQLiteShell.run(
                    database,
                    "SELECT (SELECT count(*) FROM outbox_messages WHERE consumed = 1) || ' ' || "
                        + "(SELECT count(*) FROM outbox_relay_parked_deliveries);"
                )) ?? "not started"
            if counts.trimmingCharacters(in: .whitespacesAndNewlines) == "10 10" { break }
            guard relay.process.isRunning, ContinuousClock.now < deadline else {
                throw CLITestFailure("the relay did not park every row (\(counts)): \(relay.readStderr())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        relay.process.terminate()
        relay.process.waitUntilExit()
        return (config, database)
    }

    /// A loopback port nothing listens on (bound, then released).
    static func refusedPort() throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLITestFailure("no free port: \(text)")
        }
        return port
    }

    @Test func showsParkedDeliveriesPerDestinationAndSaysWhenACapIsReached() async throws {
        let (config, _) = try await Self.parkedOutbox()
        let result = try await CLI.run(["status", "--config", config.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("backlog:      0 undelivered rows"), "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let hook = try #require(lines.first { $0.hasPrefix("  hook") }, "\(result.stdout)")
        #expect(hook.contains("10 messages, "), "\(hook)")
        #expect(hook.contains(" KiB, oldest "), "\(hook)")
        #expect(hook.contains("next attempt"), "\(hook)")
        #expect(!lines.contains { $0.hasPrefix("  out") }, "the file destination has nothing parked")
        #expect(
            result.stdout.contains("AT CAP (relay.max_parked_messages is 4): a relay claims no more rows until hook"),
            "\(result.stdout)"
        )
    }

    @Test func statusWithNothingParkedSaysNone() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        try SQLiteShell.run(
            database,
            "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, "
                + "payload VARCHAR(16001) NOT NULL);"
        )
        let config = folder.appendingPathComponent("relay.yaml")
        try RunCommandTests.config(database: database, output: folder.appendingPathComponent("out.jsonl")).write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        let result = try await CLI.run(["status", "--config", config.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("parked:       none"), "\(result.stdout)")
    }

    @Test func parkedLinesNameTheLimitThatIsReached() {
        let now = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
        let queues = [
            ParkedQueueSummary(
                destination: "hook",
                entries: 12,
                bytes: 3 << 20,
                oldestFirstFailedAt: now.adding(.seconds(-754)),
                nextAttemptAt: now.adding(.seconds(30))
            ),
            ParkedQueueSummary(
                destination: "kafka-eu",
                entries: 1,
                bytes: 10,
                oldestFirstFailedAt: now.adding(.seconds(-2)),
                nextAttemptAt: now.adding(.seconds(-1))
            ),
        ]
        let text = StatusCommand.parkedLines(
            queues,
            limits: .init(maximumEntries: 100, maximumBytes: 2 << 20),
            now: now
        )
        #expect(
            text == """
                parked:
                  hook      12 messages, 3.0 MiB, oldest 12m 34s, next attempt in 30.0s
                  AT CAP (relay.max_parked_bytes is 2097152): a relay claims no more rows until hook takes its parked \
                messages; bring the endpoint back or raise the limit
                  kafka-eu  1 message, 10 B, oldest 2.0s, next attempt due

                """
        )
    }
}
