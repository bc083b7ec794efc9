import Foundation
import OutboxRelay
import Testing

/// `outbox-relay run` end to end on SQLite: the real binary, a real database, the file transport.
@Suite("outbox-relay run")
struct RunCommandTests {
    static func config(database: URL, output: URL, batchSize: Int = 500, extra: String = "") -> String {
        """
        source:
          url: "sqlite:\(database.path)"
          flavour: outbox
          batch_size: \(batchSize)
        transports:
          out:
            type: file
            path: "\(output.path)"
        routes:
          - events: "*"
            to: [out]
        \(extra)
        """
    }

    struct Line {
        var rowID: Int64
        var eventID: String
        var eventType: String
        var message: JSONObject
    }

    static func readLines(_ url: URL) throws -> [Line] {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONParser.parse(String(line)).objectValue)
            return Line(
                rowID: try #require(object["row_id"]?.int64Value),
                eventID: try #require(object["event_id"]?.stringValue),
                eventType: try #require(object["event_type"]?.stringValue),
                message: try #require(object["message"]?.objectValue)
            )
        }
    }

    @Test(
        "every fixture row reaches the file transport exactly once, JSON-equal to what PHP decodes",
        .enabled(if: CLI.fixturesAvailable)
    )
    func sqliteFixturesInterop() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let fixture = CLI.fixtures.appendingPathComponent("outbox/sqlite")
        try SQLiteShell.run(database, String(contentsOf: fixture.appendingPathComponent("schema.sql"), encoding: .utf8))
        try SQLiteShell.run(database, String(contentsOf: fixture.appendingPathComponent("rows.sql"), encoding: .utf8))
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output, batchSize: 37).write(
            to: configURL,
            atomically: true,
            encoding: .utf8
        )

        let result = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(result.status == 0, "\(result.stderr)")

        let decoded = try #require(
            try JSONParser.parse(Data(contentsOf: fixture.appendingPathComponent("decoded.json"))).arrayValue
        )
        let lines = try Self.readLines(output)
        #expect(lines.count == decoded.count)
        #expect(Set(lines.map(\.rowID)).count == lines.count, "a row was delivered twice")
        let byRow = Dictionary(lines.map { ($0.rowID, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in decoded {
            let row = try #require(entry.objectValue)
            let rowID = try #require(row["row_id"]?.int64Value)
            let expected = try #require(row["messages"]?.arrayValue?.first?.objectValue)
            let line = try #require(byRow[rowID], "row \(rowID) was not delivered")
            var expectedHeaders = try #require(expected["headers"]?.objectValue)
            expectedHeaders["__doctrine_outbox.message_id"] = nil
            let headers = JSONValue.object(line.message["headers"]?.objectValue ?? [:])
            #expect(headers.isSemanticallyEqual(to: .object(expectedHeaders)), "headers of row \(rowID)")
            #expect(
                line.message["payload"]?.isSemanticallyEqual(to: expected["payload"] ?? .null) == true,
                "payload of row \(rowID)"
            )
            #expect(line.eventType == expected["event_type"]?.stringValue)
            if let eventID = expected["event_id"]?.stringValue {
                #expect(line.eventID == eventID)
            } else {
                #expect(
                    line.eventID == EnvelopeDecoder.derivedEventID(table: "outbox_messages", rowID: .integer(rowID))
                )
            }
        }
        let unconsumed = try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;")
        #expect(unconsumed.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("bad rows end in the dead-letter table with a reason; the rest is delivered; --drain finishes")
    func badRowsAreSetAside() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let good = { (n: Int) in
            #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","__aggregate_root_id":"a","#
                + #""__aggregate_root_version":\#(n)},"payload":{"n":\#(n)}}"#
        }
        let truncated = String(good(2).prefix(60))
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(good(1))));
            INSERT INTO outbox_messages (payload) VALUES ('');
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(truncated)));
            INSERT INTO outbox_messages (payload) VALUES ('{"payload":{"n":3}}');
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(good(4))));
            """
        )
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output).write(to: configURL, atomically: true, encoding: .utf8)

        let result = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.readLines(output).map(\.rowID) == [1, 5])

        let letters = try SQLiteShell.run(
            database,
            "SELECT row_id || '|' || payload || '|' || last_error FROM outbox_relay_dead_letters "
                + "ORDER BY CAST(row_id AS INTEGER);"
        )
        .split(separator: "\n").map(String.init)
        #expect(letters.count == 3)
        #expect(letters.count == 3 && letters[0].hasPrefix("2||") && letters[0].contains("empty"))
        #expect(letters.count == 3 && letters[1].hasPrefix("3|\(truncated)|") && letters[1].contains("truncated"))
        #expect(letters.count == 3 && letters[2].hasPrefix("4|") && letters[2].contains("headers"))
        let unconsumed = try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;")
        #expect(unconsumed.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        let strict = try await CLI.run(["run", "--config", configURL.path, "--drain", "--fail-on-dead-letters"])
        #expect(strict.status == 0, "nothing left to relay, so nothing set aside in this run")
    }

    @Test("a row above max_payload_bytes is set aside unread with its size; the rows around it are delivered")
    func oversizedRowIsSetAside() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let message = { (n: Int, text: String) in
            #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","__aggregate_root_id":"a","#
                + #""__aggregate_root_version":\#(n)},"payload":{"text":"\#(text)"}}"#
        }
        let large = message(2, String(repeating: "x", count: 5_000))
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(message(1, "small"))));
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(large)));
            INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(message(3, "small"))));
            """
        )
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output).replacingOccurrences(
            of: "flavour: outbox",
            with: "flavour: outbox\n  max_payload_bytes: 4KiB"
        ).write(to: configURL, atomically: true, encoding: .utf8)

        let result = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.readLines(output).map(\.rowID) == [1, 3])
        let letter = try SQLiteShell.run(
            database,
            "SELECT row_id || '|' || (payload = CAST(\(SQLiteShell.literal(large)) AS BLOB) OR payload = "
                + "\(SQLiteShell.literal(large))) || '|' || last_error FROM outbox_relay_dead_letters;"
        )
        #expect(
            letter.trimmingCharacters(in: .whitespacesAndNewlines)
                == "2|1|payload of \(large.utf8.count) bytes exceeds max_payload_bytes 4096 (set aside unread)"
        )
        let unconsumed = try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;")
        #expect(unconsumed.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("SIGKILL in the middle of a drain: a restart delivers every row at least once, none lost")
    func killedMidDrainLosesNothing() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let rows = 30_000
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
            INSERT INTO outbox_messages (payload)
            SELECT '{"headers":{"__event_type":"acme.shop.orders.order_line_added","__aggregate_root_id":"order-' \
            || (i % 97) || '","__aggregate_root_version":' || i || '},"payload":{"line":' || i \
            || ',"padding":"' || hex(zeroblob(200)) || '"}}' FROM n;
            """
        )
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output, batchSize: 50).write(
            to: configURL,
            atomically: true,
            encoding: .utf8
        )

        let first = try CLI.start(["run", "--config", configURL.path, "--drain"])
        // Wait until some, but not all, rows are out; then kill without warning.
        let deadline = ContinuousClock.now + .seconds(60)
        while first.process.isRunning, ContinuousClock.now < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int) ?? 0
            if size > 0 { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(first.process.isRunning, "the first run finished before it could be killed; raise the row count")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)
        let consumedAfterKill =
            Int(
                try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 1;")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            ) ?? -1
        #expect(consumedAfterKill < rows, "the kill happened mid-drain")

        let second = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(second.status == 0, "\(second.stderr)")

        // Every row delivered at least once; every row marked.
        let delivered = Set(try Self.readLines(output).map(\.rowID))
        #expect(delivered == Set((1...rows).map(Int64.init)))
        let unconsumed = try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;")
        #expect(unconsumed.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // Lines written by the killed run may be cut off mid-line only at the very end of its
        // output, which the JSON parse above would have rejected: every line parsed.
    }

    @Test("SIGTERM stops claiming and exits 0")
    func sigtermExitsCleanly() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        try SQLiteShell.run(
            database,
            "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                + "consumed BOOLEAN NOT NULL DEFAULT 0, payload VARCHAR(16001) NOT NULL);"
        )
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output).write(to: configURL, atomically: true, encoding: .utf8)
        let relay = try CLI.start(["run", "--config", configURL.path])
        try await Task.sleep(for: .milliseconds(700))
        #expect(relay.process.isRunning, "\(relay.readStderr())")
        try SQLiteShell.run(
            database,
            #"INSERT INTO outbox_messages (payload) VALUES ('{"headers":{"__event_type":"x.y"},"payload":[]}');"#
        )
        let deadline = ContinuousClock.now + .seconds(20)
        while (try Self.readLines(output)).isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try Self.readLines(output).count == 1, "a row inserted while running is relayed")
        relay.process.terminate()
        relay.process.waitUntilExit()
        #expect(relay.process.terminationReason == .exit)
        #expect(relay.process.terminationStatus == 0, "\(relay.readStderr())")
    }

    // MARK: Hostile rows and outputs (issue 11)

    static func createOutbox(_ database: URL, payloads: [String]) throws {
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            """
                + payloads.map { "INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal($0)));" }
                .joined(separator: "\n")
        )
    }

    static func goodRow(_ n: Int) -> String {
        #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","__aggregate_root_id":"a","#
            + #""__aggregate_root_version":\#(n)},"payload":{"n":\#(n)}}"#
    }

    @Test("a U time of recording that overflows (the reported crash) is delivered with its text; rows around it too")
    func overflowingTimeOfRecording() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let overflow =
            #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","__aggregate_root_id":"a","#
            + #""__aggregate_root_version":2,"__time_of_recording_format":"U","#
            + #""__time_of_recording":"99999999999999999"},"payload":{"n":2}}"#
        try Self.createOutbox(database, payloads: [Self.goodRow(1), overflow, Self.goodRow(3)])
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output).write(to: configURL, atomically: true, encoding: .utf8)

        let result = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try Self.readLines(output)
        #expect(lines.map(\.rowID) == [1, 2, 3])
        let headers = lines.count == 3 ? lines[1].message["headers"]?.objectValue : nil
        #expect(headers?["__time_of_recording"]?.stringValue == "99999999999999999")
        let unconsumed = try SQLiteShell.run(database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;")
        #expect(unconsumed.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let status = try await CLI.run(["status", "--config", configURL.path])
        #expect(status.status == 0, "\(status.stderr)")
    }

    @Test("status with a far-past time of recording as the oldest row does not trap")
    func statusWithFarPastTime() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let farPast =
            #"{"headers":{"__event_type":"t","__time_of_recording_format":"U","#
            + #""__time_of_recording":"-9223372036854"},"payload":{}}"#
        try Self.createOutbox(database, payloads: [farPast])
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: folder.appendingPathComponent("out.jsonl")).write(
            to: configURL,
            atomically: true,
            encoding: .utf8
        )
        let status = try await CLI.run(["status", "--config", configURL.path])
        #expect(status.status == 0, "\(status.output)")
        #expect(status.stdout.contains("backlog"), "\(status.output)")
    }

    @Test("a stored payload with raw line breaks is written as exactly one line, JSON-equal to the stored one")
    func rawNewlinesStayOnOneLine() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let pretty =
            "{\n  \"headers\": {\"__event_type\": \"a.b\",\r\n \"__aggregate_root_id\": \"x\"},\n"
            + "  \"payload\": {\n    \"text\": \"line\\nbreak\"\n  }\n}\n"
        try Self.createOutbox(database, payloads: [Self.goodRow(1), pretty, Self.goodRow(3)])
        let configURL = folder.appendingPathComponent("relay.yaml")
        try Self.config(database: database, output: output).write(to: configURL, atomically: true, encoding: .utf8)

        let result = try await CLI.run(["run", "--config", configURL.path, "--drain"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 4, "\(text)")
        let lines = try Self.readLines(output)
        #expect(lines.map(\.rowID) == [1, 2, 3])
        let stored = try JSONParser.parse(pretty)
        #expect(lines.count == 3 && JSONValue.object(lines[1].message).isSemanticallyEqual(to: stored))
    }
}
