import Foundation
import OutboxRelay
import Testing

/// A database the `dlq` tests run against: a SQLite file, or a table of its own in the
/// PostgreSQL server `.ci/with-postgres.sh` or the MariaDB server `.ci/with-mysql.sh` started.
enum DeadLetterTestDatabase: CustomStringConvertible, Sendable {
    case sqlite(URL)
    case postgres(url: String, table: String)
    case mysql(url: String, table: String)

    static let postgresURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    /// PostgreSQL runs when the server is there, and must run in CI.
    static let postgresTestable = postgresURL != nil || CLI.isCI
    static let mysqlURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_MYSQL_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    /// MariaDB runs when the server is there, and must run in CI.
    static let mysqlTestable = mysqlURL != nil || CLI.isCI

    /// The kinds the suites run on: SQLite always, the servers when started (always in CI).
    static let kinds = ["sqlite"] + (postgresTestable ? ["postgres"] : []) + (mysqlTestable ? ["mysql"] : [])

    var description: String {
        switch self {
        case .sqlite: return "sqlite"
        case .postgres: return "postgres"
        case .mysql: return "mysql"
        }
    }

    var table: String {
        switch self {
        case .sqlite: return "outbox_messages"
        case .postgres(_, let table), .mysql(_, let table): return table
        }
    }

    /// The `source.url` of the config.
    var sourceURL: String {
        switch self {
        case .sqlite(let file): return "sqlite:\(file.path)"
        case .postgres(let url, _), .mysql(let url, _): return url
        }
    }

    static func make(_ kind: String) throws -> DeadLetterTestDatabase {
        let table = "outbox_dlq_" + UUID().uuidString.prefix(8).lowercased()
        switch kind {
        case "sqlite": return .sqlite(try CLI.temporaryFolder().appendingPathComponent("outbox.db"))
        case "mysql":
            let url = try #require(mysqlURL, "OUTBOX_TEST_MYSQL_URL is not set (run under .ci/with-mysql.sh)")
            return .mysql(url: url, table: table)
        default:
            let url = try #require(postgresURL, "OUTBOX_TEST_POSTGRES_URL is not set (run under .ci/with-postgres.sh)")
            return .postgres(url: url, table: table)
        }
    }

    /// Runs SQL and returns its output (one line per row, columns separated by `|`).
    @discardableResult
    func run(_ sql: String) throws -> String {
        switch self {
        case .sqlite(let file):
            return try SQLiteShell.run(file, sql)
        case .postgres(let url, _):
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = output
            try process.run()
            input.fileHandleForWriting.write(Data(sql.utf8))
            try input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            guard process.terminationStatus == 0 else {
                throw SQLiteShell.ShellError(description: "psql failed: \(text)")
            }
            return text
        case .mysql(let url, _):
            let server = try #require(URLComponents(string: url))
            let database = String(server.path.dropFirst())
            return try MySQLRunCommandTests.sql(server, database: database.isEmpty ? nil : database, sql)
        }
    }

    /// Creates the outbox table (PHP's `outbox` flavour) and the dead-letter table with `outbox-relay schema`.
    func createTables() async throws {
        let schema = try await CLI.run(["schema", "--flavour", "outbox", "--dialect", description, "--table", table])
        try #require(schema.status == 0, "\(schema.output)")
        try run(schema.stdout)
    }

    /// An insert of a dead letter that a transport gave up on `ago` seconds ago.
    func failedEntry(row: Int, destination: String, type: String, payload: String, secondsAgo: Int) -> String {
        let when: String
        let payloadValue: String
        switch self {
        case .sqlite:
            when = "strftime('%Y-%m-%d %H:%M:%f000', 'now', '-\(secondsAgo) seconds')"
            payloadValue = SQLiteShell.literal(payload)
        case .postgres:
            when = "now() - interval '\(secondsAgo) seconds'"
            payloadValue = "convert_to(\(SQLiteShell.literal(payload)), 'UTF8')"
        case .mysql:
            when = "UTC_TIMESTAMP(6) - INTERVAL \(secondsAgo) SECOND"
            payloadValue = SQLiteShell.literal(payload)
        }
        return """
            INSERT INTO outbox_relay_dead_letters (source_table, row_id, event_id, event_type, destination, payload,
              attempts, last_error, first_failed_at, last_failed_at)
            VALUES ('\(table)', '\(row)', 'event-\(row)', '\(type)', '\(destination)', \(payloadValue), 5,
              'HTTP 400 Bad Request', \(when), \(when));
            """
    }
}

/// `outbox-relay dlq list/show/purge` on dead letters the relay wrote (`run --drain`) and one
/// a transport gave up on, on SQLite, PostgreSQL and MariaDB.
@Suite("outbox-relay dlq")
struct DeadLetterCommandTests {
    static let placed = "acme.shop.orders.order_was_placed"

    static func event(_ type: String, _ n: Int) -> String {
        #"{"headers":{"__event_type":"\#(type)","__event_id":"e-\#(n)","__aggregate_root_id":"a","#
            + #""__aggregate_root_version":\#(n)},"payload":{"n":\#(n)}}"#
    }

    /// Rows 1 (routed), 2 (empty payload: undecodable), 3 (no route: unrouted); a drain sets
    /// rows 2 and 3 aside; then a webhook failure on row 1 from three days ago is added.
    static func prepare(_ database: DeadLetterTestDatabase) async throws -> URL {
        try await database.createTables()
        let insert = "INSERT INTO \(database.table) (payload, consumed) VALUES"
        try database.run(
            """
            \(insert) (\(SQLiteShell.literal(event(placed, 1))), false);
            \(insert) ('{"payload":{"n":2}}', false);
            \(insert) (\(SQLiteShell.literal(event("acme.billing.x", 3))), false);
            """
        )
        let folder = try CLI.temporaryFolder()
        let config = folder.appendingPathComponent("relay.yaml")
        try """
        source:
          url: "\(database.sourceURL)"
          flavour: outbox
          table: \(database.table)
        transports:
          out:
            type: file
            path: "\(folder.appendingPathComponent("out.jsonl").path)"
        routes:
          - events: "acme.shop.*"
            to: [out]
        unrouted: dead-letter
        """.write(to: config, atomically: true, encoding: .utf8)
        let drain = try await CLI.run(["run", "--config", config.path, "--drain"])
        try #require(drain.status == 0, "\(drain.output)")
        try database.run(
            database.failedEntry(
                row: 1,
                destination: "hook",
                type: placed,
                payload: event(placed, 1),
                secondsAgo: 259_200
            )
        )
        return config
    }

    static func listJSON(_ config: URL, _ filters: [String] = []) async throws -> [JSONObject] {
        let result = try await CLI.run(["dlq", "list", "--config", config.path, "--json"] + filters)
        try #require(result.status == 0, "\(result.output)")
        return try result.stdout.split(separator: "\n").map {
            try #require(try JSONParser.parse(String($0)).objectValue)
        }
    }

    static let kinds = DeadLetterTestDatabase.kinds

    @Test("list: JSON lines with every field, and each filter", arguments: kinds)
    func list(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let config = try await Self.prepare(database)

        let all = try await Self.listJSON(config)
        #expect(all.map { $0["row_id"]?.stringValue } == ["2", "3", "1"], "\(all)")
        for field in [
            "id", "source_table", "row_id", "event_id", "event_type", "destination", "attempts", "last_error",
            "first_failed_at", "last_failed_at",
        ] {
            #expect(all.allSatisfy { $0[field] != nil }, "a line lacks \(field)")
        }
        #expect(all.allSatisfy { $0["source_table"]?.stringValue == database.table })
        #expect(all.map { $0["reason"]?.stringValue } == ["undecodable", "unrouted", "failed"])
        #expect(all[0]["event_type"] == .null && all[0]["destination"] == .null)
        #expect(all[1]["event_type"]?.stringValue == "acme.billing.x")
        #expect(all[2]["destination"]?.stringValue == "hook" && all[2]["attempts"]?.int64Value == 5)
        #expect(
            all[2]["event_id"]?.stringValue == "event-1" && all[2]["last_error"]?.stringValue == "HTTP 400 Bad Request"
        )
        let lastFailed = try #require(all[2]["last_failed_at"]?.stringValue)
        let parsed = try #require(PHPDateFormat("Y-m-d\\TH:i:s.uP").parse(lastFailed), "\(lastFailed)")
        let age = Timestamp.now().secondsSinceEpoch - parsed.secondsSinceEpoch
        #expect(abs(age - 259_200) < 600, "last_failed_at \(lastFailed) is not three days ago")

        func rows(_ filters: [String]) async throws -> [String?] {
            try await Self.listJSON(config, filters).map { $0["row_id"]?.stringValue }
        }
        #expect(try await rows(["--destination", "hook"]) == ["1"])
        #expect(try await rows(["--reason", "undecodable"]) == ["2"])
        #expect(try await rows(["--reason", "unrouted"]) == ["3"])
        #expect(try await rows(["--event-type", "acme.shop.*"]) == ["1"])
        #expect(try await rows(["--event-type", "acme.*"]) == ["3", "1"])
        #expect(try await rows(["--since", "1d"]) == ["2", "3"])
        #expect(try await rows(["--until", "2d"]) == ["1"])
        #expect(try await rows(["--limit", "2"]) == ["2", "3"])
        #expect(try await rows(["--event-type", "acme.*", "--limit", "1"]) == ["3"])
        let future = String(
            Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 3_600_000_000).rfc3339
        )
        #expect(try await rows(["--since", future]) == [])

        let table = try await CLI.run(["dlq", "list", "--config", config.path])
        #expect(table.status == 0, "\(table.output)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true, "\(table.stdout)")
        #expect(lines.count == 5, "\(table.stdout)")
        #expect(table.stdout.contains("hook") && table.stdout.contains("unrouted"))
        #expect(table.stdout.contains("3 dead letters of \(database.table)"))

        let bad = try await CLI.run(["dlq", "list", "--config", config.path, "--since", "yesterday"])
        #expect(bad.status != 0 && bad.output.contains("--since yesterday"), "\(bad.output)")
    }

    @Test("show: one entry with its stored payload", arguments: kinds)
    func show(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let config = try await Self.prepare(database)
        let failed = try #require(try await Self.listJSON(config, ["--destination", "hook"]).first)
        let id = try #require(failed["id"]?.int64Value)

        let shown = try await CLI.run(["dlq", "show", "--config", config.path, String(id)])
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.stdout.contains("destination:     hook"), "\(shown.stdout)")
        #expect(shown.stdout.contains(Self.event(Self.placed, 1)), "payload missing: \(shown.stdout)")

        let json = try await CLI.run(["dlq", "show", "--config", config.path, String(id), "--json"])
        let object = try #require(try JSONParser.parse(json.stdout).objectValue)
        #expect(object["payload"]?.stringValue == Self.event(Self.placed, 1))
        #expect(object["id"]?.int64Value == id)

        let missing = try await CLI.run(["dlq", "show", "--config", config.path, String(id + 1000)])
        #expect(missing.status == 1 && missing.stdout.contains("no dead letter \(id + 1000)"), "\(missing.output)")
    }

    @Test("purge: without --yes nothing is deleted; with it only the selected entries", arguments: kinds)
    func purge(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let config = try await Self.prepare(database)

        let dryRun = try await CLI.run(["dlq", "purge", "--config", config.path, "--reason", "unrouted"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.stdout.contains("would delete 1 dead letter of \(database.table)"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("acme.billing.x"))
        #expect(try await Self.listJSON(config).count == 3)

        let purged = try await CLI.run(["dlq", "purge", "--config", config.path, "--reason", "unrouted", "--yes"])
        #expect(purged.status == 0, "\(purged.output)")
        #expect(purged.stdout.contains("deleted 1 dead letter of \(database.table)"), "\(purged.stdout)")
        #expect(try await Self.listJSON(config).map { $0["row_id"]?.stringValue } == ["2", "1"])

        let rest = try await CLI.run(["dlq", "purge", "--config", config.path, "--yes"])
        #expect(rest.stdout.contains("deleted 2 dead letters"), "\(rest.stdout)")
        #expect(try await Self.listJSON(config).isEmpty)
    }

    @Test func listsAndShowsParkedDeliveries() async throws {
        let (config, _) = try await StatusCommandTests.parkedOutbox()
        let list = try await CLI.run(["dlq", "list", "--parked", "--config", config.path])
        #expect(list.status == 0, "\(list.output)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.first?.hasPrefix("ID  DESTINATION  ROW  EVENT ID  AGGREGATE  ATTEMPTS  NEXT ATTEMPT (UTC)") == true
        )
        #expect(lines.filter { $0.contains(" hook ") }.count == 10, "\(list.stdout)")
        #expect(lines.last == "10 parked deliveries of outbox_messages", "\(list.stdout)")
        #expect(list.stdout.contains("agg-7"))

        let json = try await CLI.run(["dlq", "list", "--parked", "--json", "--limit", "3", "--config", config.path])
        let objects = try json.stdout.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.map { $0["event_id"] as? String } == ["e-0", "e-1", "e-2"], "by id: outbox order")
        #expect(objects.allSatisfy { $0["destination"] as? String == "hook" && $0["payload"] == nil })
        #expect(objects.first?["aggregate"] as? String == "/agg-0", "the ordering key")
        #expect(objects.first?["row_id"] as? String == "1")
        #expect((objects.first?["attempts"] as? Int ?? 0) >= 1)
        #expect((objects.first?["last_error"] as? String ?? "").isEmpty == false)
        #expect(objects.first?["next_attempt_at"] is String)

        let none = try await CLI.run(["dlq", "list", "--parked", "--destination", "out", "--config", config.path])
        #expect(none.stdout.contains("0 parked deliveries"), "\(none.output)")

        let id = try #require(objects.first?["id"] as? Int)
        let show = try await CLI.run(["dlq", "show", "--parked", String(id), "--config", config.path])
        #expect(show.status == 0, "\(show.output)")
        #expect(show.stdout.contains("aggregate:       /agg-0"), "\(show.stdout)")
        #expect(show.stdout.contains("destination:     hook"), "\(show.stdout)")
        #expect(show.stdout.contains(#""payload":{"n":0}}"#), "the stored payload: \(show.stdout)")
        let missing = try await CLI.run(["dlq", "show", "--parked", "999999", "--config", config.path])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("no parked delivery 999999"), "\(missing.output)")

        let wrong = try await CLI.run(["dlq", "list", "--parked", "--reason", "failed", "--config", config.path])
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("--reason selects dead letters"), "\(wrong.output)")
    }
}
