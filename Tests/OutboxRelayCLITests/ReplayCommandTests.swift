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
}
