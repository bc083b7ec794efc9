import Foundation
import OutboxRelay
import Testing

/// `Examples/CustomRelay` (`custom-relay-example`): the standard command line with a plugin
/// transport (`type: datagram`) and a plugin expander (`split-upcaster`), run as a user runs it.
@Suite("custom-relay-example")
struct CustomRelayExampleTests {
    /// An `original`-flavour SQLite table loaded from `original/pgsql/rows.jsonl` (read in place).
    static func fixtureDatabase(in folder: URL) throws -> URL {
        let database = folder.appendingPathComponent("outbox.db")
        let ddl = try String(
            contentsOf: CLI.fixtures.appendingPathComponent("ddl/original.sqlite.sql"),
            encoding: .utf8
        )
        var sql = ddl + "\nBEGIN;\n"
        let rows = try String(
            contentsOf: CLI.fixtures.appendingPathComponent("original/pgsql/rows.jsonl"),
            encoding: .utf8
        )
        for line in rows.split(separator: "\n") {
            let row = try #require(try JSONParser.parse(String(line)).objectValue)
            let values = try ["id", "payload", "time_of_recording"].map { key in
                SQLiteShell.literal(try #require(row[key]?.stringValue, "rows.jsonl: no \(key)"))
            }
            sql += "INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched) VALUES ("
            sql += values.joined(separator: ", ") + ", 0);\n"
        }
        try SQLiteShell.run(database, sql + "COMMIT;\n")
        return database
    }

    static func config(database: URL, socket: String, transportExtra: String = "", sourceExtra: String = "") -> String {
        """
        source:
          url: "sqlite:\(database.path)"
          flavour: dispatcher
          batch_size: 16
          expander: split-upcaster
        \(sourceExtra)
        transports:
          lines:
            type: datagram
            path: "\(socket)"
            retry: {initial_delay: 1ms, max_delay: 20ms, max_attempts: unlimited}
        \(transportExtra)
        routes:
          - events: "*"
            to: [lines]
        """
    }

    static func write(_ text: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("relay.yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test(
        "200 original/pgsql rows reach a Unix datagram socket as the 221 messages PHP's split upcaster reads",
        .enabled(if: CLI.fixturesAvailable)
    )
    func relaysFixturesThroughThePlugins() async throws {
        let folder = try CLI.temporaryFolder()
        let database = try Self.fixtureDatabase(in: folder)
        let receiver = try UnixDatagramReceiver(path: folder.appendingPathComponent("r.sock").path)
        let config = try Self.write(Self.config(database: database, socket: receiver.path), in: folder)

        let result = try await CLI.run(
            ["run", "--config", config.path, "--drain"],
            executable: CLI.customRelayExample
        )
        let datagrams = try await receiver.finish()
        #expect(result.status == 0, "\(result.stderr)")

        let expected = try #require(
            try JSONParser.parse(
                Data(contentsOf: CLI.fixtures.appendingPathComponent("original/pgsql/decoded-split-upcaster.json"))
            ).arrayValue
        )
        let stored = try String(
            contentsOf: CLI.fixtures.appendingPathComponent("original/pgsql/rows.jsonl"),
            encoding: .utf8
        ).split(separator: "\n").map { try #require(try JSONParser.parse(String($0)).objectValue) }
        let storedPayload = Dictionary(
            uniqueKeysWithValues: try stored.map {
                (try #require($0["id"]?.stringValue), try #require($0["payload"]?.stringValue))
            }
        )

        // What PHP reads, in outbox order: (row, message).
        var phpMessages: [(row: String, message: JSONObject)] = []
        for entry in expected {
            let row = try #require(entry.objectValue)
            let rowID = try #require(row["row_id"]?.stringValue)
            for message in try #require(row["messages"]?.arrayValue) {
                phpMessages.append((rowID, try #require(message.objectValue)))
            }
        }
        #expect(expected.count == 200)
        #expect(phpMessages.count == 221)
        #expect(datagrams.count == 221, "received \(datagrams.count) datagrams")

        // Each datagram is one envelope; index them by event id.
        var received: [String: (envelope: JSONObject, bytes: [UInt8])] = [:]
        for datagram in datagrams {
            let envelope = try #require(try JSONParser.parse(datagram).objectValue, "a datagram is not an envelope")
            let headers = try #require(envelope["headers"]?.objectValue)
            let eventID = try #require(headers["__event_id"]?.stringValue)
            #expect(received[eventID] == nil, "\(eventID) was received twice")
            received[eventID] = (envelope, datagram)
        }

        for (rowID, php) in phpMessages {
            let eventID = try #require(php["event_id"]?.stringValue)
            guard let datagram = received[eventID] else {
                Issue.record("\(eventID) (row \(rowID)) was not received")
                continue
            }
            let headers = JSONValue.object(datagram.envelope["headers"]?.objectValue ?? [:])
            #expect(
                headers.isSemanticallyEqual(to: php["headers"] ?? .null),
                "\(eventID): headers differ from PHP's"
            )
            let payload = datagram.envelope["payload"] ?? .null
            #expect(
                payload.isSemanticallyEqual(to: php["payload"] ?? .null),
                "\(eventID): payload differs from PHP's"
            )
            if php["event_type"]?.stringValue != "acme.shop.orders.order_line_added" || !eventID.contains("#") {
                #expect(
                    String(decoding: datagram.bytes, as: UTF8.self) == storedPayload[rowID],
                    "\(eventID): an unexpanded message must be forwarded as the stored bytes"
                )
            }
        }

        // Order per aggregate: each aggregate's messages arrive in outbox order, which for this
        // (dispatcher) flavour the engine refines to __aggregate_root_version order within a batch
        // (PHP wrote several versions with one time_of_recording; with batch_size 16 no
        // aggregate's versions straddle a batch boundary out of order); split messages keep
        // their line order.
        var expectedByAggregate: [String: [(version: Int64, index: Int, eventID: String)]] = [:]
        for (index, (_, php)) in phpMessages.enumerated() {
            let aggregate = try #require(php["aggregate_root_id"]?.stringValue)
            let version = try #require(php["aggregate_root_version"]?.int64Value)
            expectedByAggregate[aggregate, default: []].append(
                (version, index, try #require(php["event_id"]?.stringValue))
            )
        }
        var receivedByAggregate: [String: [String]] = [:]
        for datagram in datagrams {
            let headers = try #require(try JSONParser.parse(datagram).objectValue?["headers"]?.objectValue)
            let aggregate = try #require(headers["__aggregate_root_id"]?.stringValue)
            receivedByAggregate[aggregate, default: []].append(try #require(headers["__event_id"]?.stringValue))
        }
        for (aggregate, expected) in expectedByAggregate {
            let order = expected.sorted { ($0.version, $0.index) < ($1.version, $1.index) }.map(\.eventID)
            #expect(receivedByAggregate[aggregate] == order, "aggregate \(aggregate): messages out of order")
        }

        let undelivered = try SQLiteShell.run(database, "SELECT count(*) FROM messages_outbox WHERE dispatched = 0;")
        #expect(undelivered.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test(
        "check starts the plugin transport and prints its own findings; without a receiver it fails",
        .enabled(if: CLI.fixturesAvailable)
    )
    func checkRunsThePluginCheck() async throws {
        let folder = try CLI.temporaryFolder()
        let database = try Self.fixtureDatabase(in: folder)
        let socketPath = folder.appendingPathComponent("r.sock").path
        let config = try Self.write(Self.config(database: database, socket: socketPath), in: folder)

        let missing = try await CLI.run(["check", "--config", config.path], executable: CLI.customRelayExample)
        #expect(missing.status == 1, "\(missing.output)")
        #expect(
            missing.stdout.contains("transport lines: FAILED — no receiver socket at \(socketPath)"),
            "\(missing.output)"
        )

        let receiver = try UnixDatagramReceiver(path: socketPath)
        let passing = try await CLI.run(["check", "--config", config.path], executable: CLI.customRelayExample)
        #expect(try await receiver.finish().isEmpty, "check must not send messages")
        #expect(passing.status == 0, "\(passing.output)")
        #expect(passing.stdout.contains("transport lines: ok\n  sends to the Unix datagram socket \(socketPath)"))
        #expect(passing.stdout.contains("all checks passed"))
    }

    @Test(
        "explain through the plugins: a row the split upcaster expands, as PHP reads it, each a datagram",
        .enabled(if: CLI.fixturesAvailable)
    )
    func explainUsesThePluginExplanation() async throws {
        let folder = try CLI.temporaryFolder()
        let database = try Self.fixtureDatabase(in: folder)
        let socket = folder.appendingPathComponent("r.sock").path
        let config = try Self.write(Self.config(database: database, socket: socket), in: folder)
        let expected = try #require(
            try JSONParser.parse(
                Data(contentsOf: CLI.fixtures.appendingPathComponent("original/pgsql/decoded-split-upcaster.json"))
            ).arrayValue
        )
        let split = try #require(
            expected.compactMap(\.objectValue).first { ($0["messages"]?.arrayValue?.count ?? 0) > 1 },
            "the fixture has no row the upcaster splits"
        )
        let rowID = try #require(split["row_id"]?.stringValue)
        let phpEventIDs = try #require(split["messages"]?.arrayValue).map { $0.objectValue?["event_id"]?.stringValue }

        let result = try await CLI.run(
            ["explain", "--config", config.path, "--row", rowID, "--json"],
            executable: CLI.customRelayExample
        )
        #expect(result.status == 0, "\(result.output)")
        let explanation = try #require(try JSONParser.parse(result.stdout).objectValue, "\(result.stdout)")
        let messages = (explanation["messages"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(!messages.isEmpty, "\(explanation)")
        #expect(messages.map { $0["event_id"]?.stringValue } == phpEventIDs)
        for message in messages {
            let destination = try #require(message["destinations"]?.arrayValue?.first?.objectValue)
            let delivery = try #require(
                destination["delivery"]?.objectValue,
                "the datagram transport explained nothing"
            )
            #expect(delivery["socket"]?.stringValue == socket)
            #expect(delivery["datagram_size"] == message["envelope_size"], "\(message)")
            #expect(destination["outcome"]?.stringValue == "send")
        }
        #expect(!FileManager.default.fileExists(atPath: socket), "explain must not need the receiver")
    }

    @Test("a mistake in a plugin transport's keys is reported exactly like one in a built-in transport's")
    func pluginConfigMistakesLookBuiltIn() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        try SQLiteShell.run(database, "CREATE TABLE t (x);")
        let plugin = try Self.write(
            Self.config(database: database, socket: "/tmp/x.sock").replacingOccurrences(of: "path:", with: "pathh:"),
            in: folder
        )
        let pluginResult = try await CLI.run(["check", "--config", plugin.path], executable: CLI.customRelayExample)

        let builtInFolder = try CLI.temporaryFolder()
        let builtIn = try Self.write(
            """
            source: {url: "sqlite:\(database.path)", flavour: dispatcher}
            transports:
              lines: {type: file, pathh: /dev/null}
            routes: [{events: "*", to: [lines]}]
            """,
            in: builtInFolder
        )
        let builtInResult = try await CLI.run(["check", "--config", builtIn.path])

        let line = #"config: FAILED — config key "transports.lines.pathh": unknown key. Fix: did you mean "path"?"#
        #expect(pluginResult.status == 78, "\(pluginResult.output)")
        #expect(builtInResult.status == 78, "\(builtInResult.output)")
        #expect(pluginResult.stdout.trimmingCharacters(in: .newlines) == line, "\(pluginResult.output)")
        #expect(builtInResult.stdout.trimmingCharacters(in: .newlines) == line, "\(builtInResult.output)")

        // `env:` values go through the same resolution, with the same message.
        let unset = try Self.write(
            Self.config(database: database, socket: "env:OUTBOX_RELAY_TEST_UNSET_SOCKET"),
            in: folder
        )
        let unsetResult = try await CLI.run(["check", "--config", unset.path], executable: CLI.customRelayExample)
        #expect(unsetResult.status == 78)
        #expect(
            unsetResult.stdout.contains(
                #"config key "transports.lines.path": refers to the environment variable "#
                    + "OUTBOX_RELAY_TEST_UNSET_SOCKET"
            ),
            "\(unsetResult.output)"
        )
    }

    @Test("an unknown expander names the registered ones; outbox-relay itself knows neither plugin")
    func registriesAreSeparate() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        try SQLiteShell.run(database, "CREATE TABLE t (x);")
        let wrongExpander = try Self.write(
            Self.config(database: database, socket: "/tmp/x.sock")
                .replacingOccurrences(of: "expander: split-upcaster", with: "expander: split-upcastr"),
            in: folder
        )
        let wrong = try await CLI.run(["check", "--config", wrongExpander.path], executable: CLI.customRelayExample)
        #expect(wrong.status == 78)
        #expect(
            wrong.stdout.contains(
                #"config key "source.expander": names no registered expander "split-upcastr". "#
                    + "Fix: use one of: split-upcaster"
            ),
            "\(wrong.output)"
        )

        let plain = try Self.write(Self.config(database: database, socket: "/tmp/x.sock"), in: folder)
        let builtIn = try await CLI.run(["check", "--config", plain.path])
        #expect(builtIn.status == 78)
        #expect(
            builtIn.stdout.contains(#"config key "source.expander": names no registered expander"#),
            "\(builtIn.output)"
        )
        let noExpander = try Self.write(
            Self.config(database: database, socket: "/tmp/x.sock")
                .replacingOccurrences(of: "expander: split-upcaster", with: ""),
            in: folder
        )
        let unknownType = try await CLI.run(["check", "--config", noExpander.path])
        #expect(unknownType.status == 78)
        #expect(
            unknownType.stdout.contains(
                #"config key "transports.lines.type": unknown transport type "datagram". "#
                    + "Fix: use one of: file, kafka, http"
            ),
            "\(unknownType.output)"
        )
    }
}
