import Foundation
import OutboxRelay
import Testing

@testable import OutboxSQLite

@Suite("OutboxSchema")
struct OutboxSchemaTests {
    /// The text without comments, quotes and layout: what the statements say.
    static func normalized(_ sql: String) -> String {
        sql.split(separator: "\n")
            .filter { line in
                let trimmed = line.drop(while: { $0 == " " })
                return !trimmed.hasPrefix("--") && !trimmed.hasPrefix("#")
            }
            .joined(separator: " ")
            .replacingOccurrences(of: "\"", with: "")
            .replacingOccurrences(of: "`", with: "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            .joined(separator: " ")
            .lowercased()
    }

    @Test(
        "the outbox DDL for the default table is the packages' own text",
        .enabled(if: SQLiteFixtures.isTestable, SQLiteFixtures.skipMessage),
        arguments: [
            (OutboxFlavour.outbox, SQLIdentifier.Dialect.postgres, "ddl/outbox.pgsql.sql"),
            (.outbox, .mysql, "ddl/outbox.mysql.sql"),
            (.outbox, .sqlite, "ddl/outbox.sqlite.sql"),
            (.outbox, .sqlite, "outbox/sqlite/schema.sql"),
            (.dispatcher, .postgres, "ddl/original.pgsql.sql"),
            (.dispatcher, .mysql, "ddl/original.mysql.sql"),
            (.dispatcher, .sqlite, "ddl/original.sqlite.sql"),
        ]
    )
    func matchesPackageDDL(flavour: OutboxFlavour, dialect: SQLIdentifier.Dialect, file: String) throws {
        try SQLiteFixtures.requirePresent()
        let expected = Self.normalized(try SQLiteFixtures.text(file))
        let actual = Self.normalized(OutboxSchema.outboxTable(flavour: flavour, dialect: dialect))
        #expect(actual == expected)
    }

    @Test("a configured table name is quoted everywhere, with derived index names")
    func customTableName() throws {
        let table = try SQLIdentifier("app.events")
        let postgres = OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres, table: table)
        #expect(postgres.contains(#"create table if not exists "app"."events""#))
        #expect(postgres.contains(#"create index "events_is_consumed" on "app"."events" ("consumed", "id" asc);"#))
        let mysql = OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .mysql, table: table)
        #expect(mysql.contains("CREATE TABLE IF NOT EXISTS `app`.`events` ("))
        let sqlite = OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .sqlite, table: table)
        // SQLite qualifies the index, not the table, in CREATE INDEX.
        #expect(
            sqlite.contains(
                #"CREATE INDEX IF NOT EXISTS "app"."events_not_dispatched_ordered_by_time" ON "events" "#
                    + #"(dispatched, time_of_recording ASC);"#
            )
        )
        let deadLetters = OutboxSchema.deadLetterTable(dialect: .postgres, table: try SQLIdentifier("relay.failures"))
        #expect(deadLetters.contains(#"CREATE TABLE IF NOT EXISTS "relay"."failures" ("#))
        #expect(deadLetters.contains(#"CREATE INDEX IF NOT EXISTS "failures_source_row" ON "relay"."failures""#))
        // The default table keeps PHP's index names.
        #expect(
            OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres).contains(
                #"create index "is_consumed" on "outbox_messages""#
            )
        )
    }

    @Test("every dialect's dead-letter DDL has the same columns, in insert order")
    func deadLetterColumns() {
        for dialect in SQLIdentifier.Dialect.allCases {
            let ddl = OutboxSchema.deadLetterTable(dialect: dialect)
            let body = ddl.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let columns = body.compactMap { line -> String? in
                guard let first = line.split(separator: " ").first else { return nil }
                let name = first.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "`", with: "")
                guard line.hasSuffix(",") || line.hasSuffix("NULL") || line.hasSuffix("NOT NULL"),
                    !["PRIMARY", "KEY", "CREATE", "--", ")"].contains(name)
                else { return nil }
                return name
            }
            #expect(columns == ["id"] + OutboxSchema.deadLetterColumns, "\(dialect)")
            #expect(ddl.contains("IF NOT EXISTS"), "\(dialect): created on open(), so it must be idempotent")
        }
    }

    @Test(
        "the SQLite DDL runs, twice, and creates the columns the source reads",
        arguments: [
            (OutboxFlavour.outbox, nil as String?), (.dispatcher, nil), (.outbox, "custom_outbox"),
            (.dispatcher, "main.custom_dispatcher"),
        ]
    )
    func sqliteDDLRuns(flavour: OutboxFlavour, tableName: String?) async throws {
        let database = try TemporaryDatabase()
        let table = try tableName.map { try SQLIdentifier($0) }
        for _ in 0..<2 {
            try database.execute(OutboxSchema.outboxTable(flavour: flavour, dialect: .sqlite, table: table))
            try database.execute(OutboxSchema.deadLetterTable(dialect: .sqlite))
        }
        // open() checks every column the flavour uses and the dead-letter columns.
        let source = try database.source(flavour: flavour, table: tableName)
        try await source.open()
        #expect(try await source.fetch(limit: 1, after: nil).isEmpty)
        let indexes = try database.texts(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).compactMap { $0 }
        // The outbox's index, the dead letters' and the parked deliveries' two (created by open()).
        #expect(indexes.count == 4, "\(indexes)")
        #expect(indexes.contains("outbox_relay_dead_letters_source_row"))
        #expect(indexes.contains("outbox_relay_parked_deliveries_queue"))
        #expect(indexes.contains("outbox_relay_parked_deliveries_key"))
    }
}
