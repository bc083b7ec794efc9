import Foundation
import Testing

@Suite("outbox-relay schema and demo")
struct SchemaCommandTests {
    @Test(arguments: ["outbox", "dispatcher"])
    func sqliteDDLCreatesWorkingTables(flavour: String) async throws {
        let result = try await CLI.run(["schema", "--flavour", flavour, "--dialect", "sqlite", "--table", "app_outbox"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("app_outbox"))
        #expect(result.stdout.contains("outbox_relay_dead_letters"))
        // The printed DDL runs as is.
        let database = try CLI.temporaryFolder().appendingPathComponent("schema.db")
        try SQLiteShell.run(database, result.stdout)
        let tables = try SQLiteShell.run(database, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;")
        #expect(tables.contains("app_outbox"))
        #expect(tables.contains("outbox_relay_dead_letters"))
    }

    @Test func aBadTableNameIsRefused() async throws {
        let result = try await CLI.run([
            "schema", "--flavour", "outbox", "--dialect", "postgres", "--table", "x; DROP TABLE y",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid SQL name"))
    }

    @Test func notifyPrintsAPostgreSQLTriggerAndIsRefusedElsewhere() async throws {
        let postgres = try await CLI.run([
            "schema", "--flavour", "outbox", "--dialect", "postgres", "--notify", "--channel", "orders_outbox",
        ])
        #expect(postgres.status == 0, "\(postgres.stderr)")
        #expect(postgres.stdout.contains("pg_notify('orders_outbox'"))
        #expect(postgres.stdout.contains("AFTER INSERT ON \"outbox_messages\""))
        let sqlite = try await CLI.run(["schema", "--flavour", "outbox", "--dialect", "sqlite", "--notify"])
        #expect(sqlite.status != 0)
        #expect(sqlite.stderr.contains("--dialect postgres"))
    }

    @Test func demoRelaysAndSummarizes() async throws {
        let folder = try CLI.temporaryFolder()
        let result = try await CLI.run(["demo", "--directory", folder.path, "--events", "120"])
        #expect(result.status == 0, "\(result.stderr)")
        // 120 events + 2 bad rows: one JSON line per delivered message on stdout.
        #expect(result.stdout.split(separator: "\n").count == 120)
        #expect(result.stderr.contains("122 rows, 120 messages"))
        #expect(result.stderr.contains("2 dead letters"))
        #expect(result.stderr.contains("acme.shop.orders.order_was_placed"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("relay.yaml").path))
    }
}
