import Foundation
import OutboxMySQL
import OutboxPostgres
import OutboxRelay
import OutboxSQLite
import Testing

@testable import OutboxRelayCLI

/// `retry.park_after`, `retry.max_age`, the parked-queue caps and `source.parked_deliveries_table`:
/// accepted forms, and mistakes that name the key.
@Suite("parking configuration")
struct ParkingConfigTests {
    static func config(retry: String, relay: String = "") -> String {
        CheckCommandTests.valid.replacingOccurrences(
            of: "path: /dev/null",
            with: "path: /dev/null\n    retry: {\(retry)}"
        ) + (relay.isEmpty ? "" : "\nrelay:\n  \(relay)\n")
    }

    @Test(arguments: [
        "park_after: 3", "park_after: 5s", "park_after: never", "max_age: 2h", "max_age: unlimited",
        "park_after: 1, max_age: 30m, max_attempts: unlimited",
    ])
    func acceptedForms(retry: String) async throws {
        let files = try CheckCommandTests.write(Self.config(retry: retry, relay: "max_parked_messages: 5000"))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status == 0, "\(retry): \(result.output)")
    }

    @Test(arguments: [
        ("park_after: 0", "transports.out.retry.park_after"), ("park_after: soon", "transports.out.retry.park_after"),
        ("max_age: forever", "transports.out.retry.max_age"),
    ])
    func mistakesNameTheKey(retry: String, keyPath: String) async throws {
        let files = try CheckCommandTests.write(Self.config(retry: retry))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status != 0, "\(retry) was accepted")
        #expect(result.output.contains("\"\(keyPath)\""), "\(result.output)")
    }

    @Test func aParkedCapBelowOneIsRefused() async throws {
        let files = try CheckCommandTests.write(Self.config(retry: "park_after: 3", relay: "max_parked_bytes: 0"))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status != 0)
        #expect(result.output.contains("\"relay.max_parked_bytes\""), "\(result.output)")
    }

    @Test func schemaPrintsTheParkedTable() async throws {
        for dialect in ["sqlite", "postgres", "mysql"] {
            let result = try await CLI.run(["schema", "--flavour", "outbox", "--dialect", dialect])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("outbox_relay_parked_deliveries"), "\(dialect)")
        }
    }

    static func yaml(source: String, parkedTable: String) -> String {
        """
        source:
          url: "\(source)"
          table: app.outbox_messages
          parked_deliveries_table: \(parkedTable)
        transports:
          out: {type: file, path: /dev/null}
        routes:
          - events: "*"
            to: [out]
        """
    }

    @Test func theParkedTableNameReachesEverySource() throws {
        let sqlite = try RelayConfiguration.parse(
            yaml: Self.yaml(source: "sqlite:/tmp/x.db", parkedTable: "app.parked")
        )
        let sqliteSource = try #require(sqlite.source as? SQLiteSource)
        #expect(sqliteSource.configuration.parkedDeliveriesTable == (try SQLIdentifier("app.parked")))
        let postgres = try RelayConfiguration.parse(
            yaml: Self.yaml(source: "postgres://relay@127.0.0.1/shop", parkedTable: "relay.parked_messages")
        )
        let postgresSource = try #require(postgres.source as? PostgresSource)
        #expect(
            postgresSource.configuration.effectiveParkedDeliveriesTable == (try SQLIdentifier("relay.parked_messages"))
        )
        #expect(
            postgresSource.configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)
                == #""relay"."parked_messages""#
        )
        let mysql = try RelayConfiguration.parse(
            yaml: Self.yaml(source: "mysql://relay@127.0.0.1/shop", parkedTable: "relay.parked_messages")
        )
        let mysqlSource = try #require(mysql.source as? MySQLSource)
        #expect(
            mysqlSource.configuration.effectiveParkedDeliveriesTable.quoted(for: .mysql) == "`relay`.`parked_messages`"
        )
    }

    @Test(arguments: [
        ("bad-name", "invalid SQL name"), ("a.b.c", "invalid SQL name"),
        ("app.outbox_messages", "names the outbox table"),
        ("app.outbox_relay_dead_letters", "names the dead-letter table"),
        (String(repeating: "p", count: 58), "too long for its index names"),
    ])
    func aWrongParkedTableNameIsRefused(name: String, problem: String) throws {
        for source in ["sqlite:/tmp/x.db", "postgres://relay@127.0.0.1/shop", "mysql://relay@127.0.0.1/shop"] {
            var sqliteDeadLetters = name
            // SQLite's dead-letter table is not schema-qualified by default.
            if source.hasPrefix("sqlite"), name == "app.outbox_relay_dead_letters" {
                sqliteDeadLetters = "outbox_relay_dead_letters"
            }
            let error = try #require(throws: ConfigError.self) {
                try RelayConfiguration.parse(yaml: Self.yaml(source: source, parkedTable: sqliteDeadLetters))
            }
            #expect(error.keyPath == "source.parked_deliveries_table", "\(source): \(error)")
            #expect("\(error)".contains(problem), "\(source): \(error)")
        }
    }

    @Test func theRelayCreatesAndUsesTheConfiguredParkedTable() async throws {
        let files = try CheckCommandTests.write(
            CheckCommandTests.valid.replacingOccurrences(
                of: "flavour: outbox",
                with: "flavour: outbox\n  parked_deliveries_table: relay_parked"
            )
        )
        let run = try await CLI.run(["run", "--drain", "--config", files.config.path])
        #expect(run.status == 0, "\(run.output)")
        let tables = try SQLiteShell.run(files.database, "SELECT name FROM sqlite_master WHERE type = 'table';")
        #expect(tables.contains("relay_parked"), "\(tables)")
        #expect(!tables.contains("outbox_relay_parked_deliveries"), "\(tables)")
        let status = try await CLI.run(["status", "--config", files.config.path])
        #expect(status.stdout.contains("parked:       none"), "\(status.output)")
    }
}
