import Foundation
import OutboxRelay
import Testing

/// `outbox-relay replay --destination`: rows a drain already delivered and marked, backfilled to
/// a new file destination, on SQLite, PostgreSQL and MariaDB.
@Suite("outbox-relay replay")
struct ReplayCommandTests {
    static let placed = "acme.shop.orders.order_was_placed"

    static func event(_ type: String, _ n: Int, aggregate: String, version: Int) -> String {
        #"{"headers":{"__event_type":"\#(type)","__event_id":"e-\#(n)","__aggregate_root_id":"\#(aggregate)","#
            + #""__aggregate_root_version":\#(version)},"payload":{"n":\#(n)}}"#
    }

    @Test(
        "one event type from marked rows to a new file destination; marks and other destinations untouched",
        arguments: DeadLetterTestDatabase.kinds
    )
    func backfillsANewDestination(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        try await database.createTables()
        let insert = "INSERT INTO \(database.table) (payload, consumed) VALUES"
        let rows = [
            Self.event(Self.placed, 1, aggregate: "a-1", version: 1),
            Self.event("acme.shop.orders.order_was_cancelled", 2, aggregate: "a-1", version: 2),
            Self.event(Self.placed, 3, aggregate: "a-2", version: 1),
            Self.event("acme.billing.invoice_sent", 4, aggregate: "b-1", version: 1),
            Self.event(Self.placed, 5, aggregate: "a-1", version: 3),
        ]
        try database.run(rows.map { "\(insert) (\(SQLiteShell.literal($0)), false);" }.joined(separator: "\n"))
        let folder = try CLI.temporaryFolder()
        let out = folder.appendingPathComponent("out.jsonl")
        let audit = folder.appendingPathComponent("audit.jsonl")
        let backfill = folder.appendingPathComponent("backfill.jsonl")
        func config(withBackfill: Bool) throws -> URL {
            let url = folder.appendingPathComponent(withBackfill ? "backfill.yaml" : "relay.yaml")
            try """
            source:
              url: "\(database.sourceURL)"
              flavour: outbox
              table: \(database.table)
            transports:
              out: {type: file, path: "\(out.path)"}
              audit: {type: file, path: "\(audit.path)"}
            \(withBackfill ? "  backfill: {type: file, path: \"\(backfill.path)\"}" : "")
            routes:
              - {events: "acme.shop.*", to: [\(withBackfill ? "out, backfill" : "out")]}
              - {events: "*", to: [audit]}
            """.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let drain = try await CLI.run(["run", "--config", try config(withBackfill: false).path, "--drain"])
        try #require(drain.status == 0, "\(drain.output)")
        #expect(try RunCommandTests.readLines(out).count == 4)
        #expect(try RunCommandTests.readLines(audit).count == 5)
        func undelivered() throws -> String {
            try database.run("SELECT count(*) FROM \(database.table) WHERE consumed = false;")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try undelivered() == "0")

        let withBackfill = try config(withBackfill: true)
        let replay = ["replay", "--config", withBackfill.path, "--destination", "backfill"]
        let dryRun = try await CLI.run(replay + ["--event-type", Self.placed, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.stdout.contains("would send 3 messages from 5 rows"), "\(dryRun.stdout)")
        #expect(!FileManager.default.fileExists(atPath: backfill.path), "--dry-run wrote to the destination")

        let result = try await CLI.run(replay + ["--event-type", Self.placed, "--max-rate", "1000/s"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("3 messages delivered, 0 failed"), "\(result.stdout)")
        #expect(result.stdout.contains("last row finished: 5"), "\(result.stdout)")
        let lines = try RunCommandTests.readLines(backfill)
        #expect(lines.map(\.rowID) == [1, 3, 5] && lines.allSatisfy { $0.eventType == Self.placed })
        #expect(lines.map(\.message) == [1, 3, 5].map { try! JSONParser.parse(rows[$0 - 1]).objectValue! })
        // Nothing else moved: marks, the other destinations, the dead-letter table.
        #expect(try undelivered() == "0")
        #expect(try RunCommandTests.readLines(out).count == 4)
        #expect(try RunCommandTests.readLines(audit).count == 5)
        #expect(try await DeadLetterCommandTests.listJSON(withBackfill).isEmpty)

        // Resumable: after row 3 only row 5 is left; --limit stops early and says where.
        try FileManager.default.removeItem(at: backfill)
        let resumed = try await CLI.run(replay + ["--event-type", Self.placed, "--after-row", "3"])
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try RunCommandTests.readLines(backfill).map(\.rowID) == [5])
        try FileManager.default.removeItem(at: backfill)
        let limited = try await CLI.run(replay + ["--limit", "2"])
        #expect(limited.status == 0 && limited.stdout.contains("last row finished: 2"), "\(limited.output)")
        #expect(try RunCommandTests.readLines(backfill).map(\.rowID) == [1, 2], "both shop events, no billing")

        let unknown = try await CLI.run(["replay", "--config", withBackfill.path, "--destination", "nope"])
        #expect(unknown.status == 1 && unknown.stdout.contains("no transport named nope"), "\(unknown.output)")
        let badRate = try await CLI.run(replay + ["--max-rate", "fast"])
        #expect(badRate.status != 0 && badRate.output.contains("--max-rate fast"), "\(badRate.output)")
    }

    @Test(
        "a destination that rejects: the failures are printed, exit 1, and the last finished row says where to resume"
    )
    func failingDestination() async throws {
        let database = try DeadLetterTestDatabase.make("sqlite")
        try await database.createTables()
        let insert = "INSERT INTO \(database.table) (payload, consumed) VALUES"
        try database.run(
            (1...3).map {
                "\(insert) (\(SQLiteShell.literal(Self.event(Self.placed, $0, aggregate: "a", version: $0))), true);"
            }
            .joined(separator: "\n")
        )
        let webhook = try await SwitchableWebhookServer(secret: DeadLetterReplayCommandTests.secret)
        defer { webhook.stop() }
        let config = try CLI.temporaryFolder().appendingPathComponent("relay.yaml")
        try """
        source: {url: "\(database.sourceURL)", flavour: outbox, table: \(database.table)}
        transports:
          hook:
            type: http
            url: "\(webhook.url)"
            secrets: ["\(DeadLetterReplayCommandTests.secret)"]
            allow_private_networks: true
            max_client_error_attempts: 1
            retry: {initial_delay: 1ms, max_delay: 5ms, max_attempts: 2}
        routes:
          - {events: "*", to: [hook]}
        """.write(to: config, atomically: true, encoding: .utf8)

        let rejected = try await CLI.run(["replay", "--config", config.path, "--destination", "hook"])
        #expect(rejected.status == 1, "\(rejected.output)")
        #expect(rejected.stdout.contains("row 1, event e-1: FAILED"), "\(rejected.stdout)")
        #expect(rejected.stdout.contains("last row finished: none"), "\(rejected.stdout)")
        #expect(try await DeadLetterCommandTests.listJSON(config).isEmpty, "replay must not write dead letters")

        webhook.accept()
        let accepted = try await CLI.run([
            "replay", "--config", config.path, "--destination", "hook", "--after-row", "1",
        ])
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.stdout.contains("last row finished: 3"), "\(accepted.stdout)")
        let delivered = webhook.requests().filter { $0.status == 200 }
        #expect(delivered.map(\.webhookID) == ["e-2", "e-3"] && delivered.allSatisfy { $0.signatureValid })
    }

    @Test(
        "dispatcher flavour: all rows in relay order across pages and time ties, as run delivered them",
        arguments: DeadLetterTestDatabase.kinds
    )
    func dispatcherRowsInRelayOrder(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let schema = try await CLI.run([
            "schema", "--flavour", "dispatcher", "--dialect", database.description, "--table", database.table,
        ])
        try #require(schema.status == 0, "\(schema.output)")
        try database.run(schema.stdout)
        // Rows 1 and 2, and 4 and 5, share a time_of_recording; ids sort unlike the times.
        let times = ["10:00:00.000001", "10:00:00.000001", "10:00:00.000002", "10:00:03", "10:00:03", "10:00:04"]
        let ids = [9, 3, 7, 2, 8, 1].map { "00000000-0000-4000-8000-00000000000\($0)" }
        var sql = ""
        for (index, (id, time)) in zip(ids, times).enumerated() {
            let payload = Self.event(Self.placed, index + 1, aggregate: "a-\(index % 2)", version: index / 2 + 1)
            sql += "INSERT INTO \(database.table) (id, payload, time_of_recording, dispatched) VALUES "
            sql += "('\(id)', \(SQLiteShell.literal(payload)), '2026-12-01 \(time)', false);\n"
        }
        try database.run(sql)
        let folder = try CLI.temporaryFolder()
        let out = folder.appendingPathComponent("out.jsonl")
        let backfill = folder.appendingPathComponent("backfill.jsonl")
        let config = folder.appendingPathComponent("relay.yaml")
        try """
        source: {url: "\(database.sourceURL)", flavour: dispatcher, table: \(database.table), batch_size: 2}
        transports:
          out: {type: file, path: "\(out.path)"}
          backfill: {type: file, path: "\(backfill.path)"}
        routes:
          - {events: "*", to: [out]}
          - {events: "acme.shop.*", to: [backfill]}
        """.write(to: config, atomically: true, encoding: .utf8)
        // The drain delivers to both; the replay sends backfill everything again, in the same order.
        let drain = try await CLI.run(["run", "--config", config.path, "--drain"])
        try #require(drain.status == 0, "\(drain.output)")
        func eventIDs(_ file: URL) throws -> [String] {
            try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
                try #require(try JSONParser.parse(String($0)).objectValue?["event_id"]?.stringValue)
            }
        }
        let delivered = try eventIDs(backfill)
        #expect(delivered.count == 6)
        try FileManager.default.removeItem(at: backfill)
        let replay = try await CLI.run(["replay", "--config", config.path, "--destination", "backfill"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(try eventIDs(backfill) == delivered)
        #expect(try eventIDs(out).count == 6, "replay sent to another destination")
        #expect(replay.stdout.contains("last row finished: \(ids[5])"), "\(replay.stdout)")
    }
}
