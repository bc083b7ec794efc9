import Foundation
import OutboxRelay
import Testing

/// `outbox-relay dlq replay`: a real webhook that rejects (400) until switched to accept, the
/// file transport beside it, on SQLite, PostgreSQL and MariaDB.
@Suite("outbox-relay dlq replay")
struct DeadLetterReplayCommandTests {
    static let placed = "acme.shop.orders.order_was_placed"
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// Rows 1 and 2 (aggregate a, versions 1 and 2) go to the file and the webhook; row 3 is
    /// undecodable. A drain against the rejecting webhook leaves three dead letters.
    static func prepare(
        _ database: DeadLetterTestDatabase,
        webhook: SwitchableWebhookServer
    ) async throws -> (config: URL, output: URL) {
        try await database.createTables()
        let insert = "INSERT INTO \(database.table) (payload, consumed) VALUES"
        try database.run(
            """
            \(insert) (\(SQLiteShell.literal(DeadLetterCommandTests.event(placed, 1))), false);
            \(insert) (\(SQLiteShell.literal(DeadLetterCommandTests.event(placed, 2))), false);
            \(insert) ('{"payload":{"n":3}}', false);
            """
        )
        let folder = try CLI.temporaryFolder()
        let output = folder.appendingPathComponent("out.jsonl")
        let config = folder.appendingPathComponent("relay.yaml")
        try """
        source:
          url: "\(database.sourceURL)"
          flavour: outbox
          table: \(database.table)
        transports:
          out:
            type: file
            path: "\(output.path)"
          hook:
            type: http
            url: "\(webhook.url)"
            secrets: ["\(secret)"]
            allow_private_networks: true
            max_client_error_attempts: 1
            retry: {initial_delay: 1ms, max_delay: 5ms, max_attempts: 3}
        routes:
          - events: "acme.shop.*"
            to: [out, hook]
        unrouted: dead-letter
        """.write(to: config, atomically: true, encoding: .utf8)
        let drain = try await CLI.run(["run", "--config", config.path, "--drain"])
        try #require(drain.status == 0, "\(drain.output)")
        return (config, output)
    }

    @Test(
        "rejected, then replayed to the webhook only once it accepts; a fixed undecodable row is routed again",
        arguments: DeadLetterTestDatabase.kinds
    )
    func replaysToTheFailedDestinationOnly(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let webhook = try await SwitchableWebhookServer(secret: Self.secret)
        defer { webhook.stop() }
        let (config, output) = try await Self.prepare(database, webhook: webhook)
        #expect(try RunCommandTests.readLines(output).map(\.eventID) == ["e-1", "e-2"])
        let rejected = webhook.requests().count
        #expect(rejected >= 1 && webhook.requests().allSatisfy { $0.status == 400 })

        let listed = try await DeadLetterCommandTests.listJSON(config, ["--destination", "hook"])
        #expect(listed.map { $0["event_id"]?.stringValue } == ["e-1", "e-2"], "\(listed)")
        let attemptsBefore = listed.compactMap { $0["attempts"]?.int64Value }

        // --dry-run sends nothing.
        let dryRun = try await CLI.run(["dlq", "replay", "--config", config.path, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.stdout.contains("would send 2 to hook only"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("would decode and route 1 again"), "\(dryRun.stdout)")
        #expect(webhook.requests().count == rejected)

        // Still rejecting: the entries stay, with attempts and last_error updated.
        let failing = try await CLI.run(["dlq", "replay", "--config", config.path, "--destination", "hook"])
        #expect(failing.status == 1, "\(failing.output)")
        #expect(failing.stdout.contains("0 delivered, 2 failed"), "\(failing.stdout)")
        let stillThere = try await DeadLetterCommandTests.listJSON(config, ["--destination", "hook"])
        #expect(stillThere.map { $0["id"] } == listed.map { $0["id"] }, "the entries were replaced, not updated")
        // Each replay adds the engine's attempts (a later message of the aggregate that the webhook
        // transport held back while the earlier one failed counts that round too).
        let attemptsAfter = stillThere.compactMap { $0["attempts"]?.int64Value }
        #expect(attemptsAfter.count == 2 && zip(attemptsAfter, attemptsBefore).allSatisfy { $0 > $1 }, "\(stillThere)")
        #expect(stillThere.allSatisfy { $0["last_error"]?.stringValue?.contains("400") == true }, "\(stillThere)")
        #expect(stillThere.map { $0["first_failed_at"] } == listed.map { $0["first_failed_at"] })

        webhook.accept()
        let before = webhook.requests().count
        let replay = try await CLI.run(["dlq", "replay", "--config", config.path, "--destination", "hook"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.stdout.contains("2 delivered, 0 failed"), "\(replay.stdout)")
        let accepted = webhook.requests().dropFirst(before).filter { $0.status == 200 }
        #expect(accepted.map(\.webhookID) == ["e-1", "e-2"], "oldest first per aggregate")
        #expect(accepted.allSatisfy { $0.signatureValid }, "replayed requests must be signed like run's")
        #expect(accepted.first?.body == DeadLetterCommandTests.event(Self.placed, 1), "the stored bytes, untouched")
        #expect(try RunCommandTests.readLines(output).count == 2, "the file destination got a message twice")
        #expect(try await DeadLetterCommandTests.listJSON(config, ["--destination", "hook"]).isEmpty)

        // The operator fixes the undecodable row's stored payload; a replay decodes and routes it.
        let undecodable = try #require(try await DeadLetterCommandTests.listJSON(config).first)
        #expect(undecodable["reason"]?.stringValue == "undecodable")
        let id = try #require(undecodable["id"]?.int64Value)
        let fixed = SQLiteShell.literal(DeadLetterCommandTests.event(Self.placed, 3))
        try database.run("UPDATE outbox_relay_dead_letters SET payload = \(fixed) WHERE id = \(id);")
        let routed = try await CLI.run(["dlq", "replay", "--config", config.path, "--reason", "undecodable"])
        #expect(routed.status == 0, "\(routed.output)")
        #expect(try RunCommandTests.readLines(output).map(\.eventID) == ["e-1", "e-2", "e-3"])
        #expect(webhook.requests().last?.webhookID == "e-3")
        #expect(try await DeadLetterCommandTests.listJSON(config).isEmpty)

        let nothing = try await CLI.run(["dlq", "replay", "--config", config.path])
        #expect(nothing.status == 0 && nothing.stdout.contains("nothing to replay"), "\(nothing.output)")
    }
}
