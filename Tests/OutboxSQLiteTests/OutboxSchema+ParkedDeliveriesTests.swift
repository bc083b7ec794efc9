import Foundation
import OutboxRelay
import Testing

@testable import OutboxSQLite

@Suite("OutboxSchema parked deliveries")
struct OutboxSchemaParkedDeliveriesTests {
    @Test("every dialect's parked-deliveries DDL has the same columns, in insert order, and is idempotent")
    func columns() {
        for dialect in SQLIdentifier.Dialect.allCases {
            let ddl = OutboxSchema.parkedDeliveriesTable(dialect: dialect)
            let columns = ddl.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.compactMap {
                line -> String? in
                guard let first = line.split(separator: " ").first else { return nil }
                let name = first.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "`", with: "")
                guard line.hasSuffix(",") || line.hasSuffix("NULL"),
                    !["PRIMARY", "KEY", "CREATE", "--", ")"].contains(name)
                else { return nil }
                return name
            }
            #expect(columns == ["id"] + OutboxSchema.parkedDeliveryColumns, "\(dialect)")
            #expect(ddl.contains("CREATE TABLE IF NOT EXISTS"), "\(dialect)")
        }
    }

    @Test("the SQLite DDL runs twice, also for a schema-qualified name")
    func sqliteRuns() throws {
        let database = try TemporaryDatabase()
        for _ in 0..<2 {
            try database.execute(OutboxSchema.parkedDeliveriesTable(dialect: .sqlite))
            try database.execute(
                OutboxSchema.parkedDeliveriesTable(dialect: .sqlite, table: try SQLIdentifier("main.parked"))
            )
        }
        #expect(try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 0)
        #expect(try database.int("SELECT count(*) FROM parked") == 0)
        #expect(
            try database.texts(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'parked' ORDER BY name"
            ) == ["parked_key", "parked_queue"]
        )
    }
}
