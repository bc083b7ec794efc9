import Foundation
import Testing

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
}
