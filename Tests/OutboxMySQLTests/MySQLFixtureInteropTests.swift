import Foundation
import Testing

@testable import OutboxMySQL

/// Rows written by real PHP EventSauce into MariaDB, loaded from the fixtures' own
/// `schema.sql` and `rows.sql` (`mariadb-dump`), read, decoded, compared with what PHP
/// decoded (`decoded.json`), and completed.
@Suite("MySQL fixture interop", .serialized)
struct MySQLFixtureInteropTests {
    @Test(
        "outbox/mysql: every row read in id order, bytes as stored, decoded as PHP did, and marked consumed",
        .enabled(if: MySQLTestDatabase.fixturesTestable, MySQLTestDatabase.fixturesSkipMessage)
    )
    func outboxFlavour() async throws {
        try MySQLTestDatabase.requireFixtures()
        let database = try TestDatabase()
        try load(folder: "outbox", into: database, table: "outbox_messages")
        let source = try database.source(.outbox)
        try await source.open()
        let rows = try await fetchAll(source, limit: 37)
        let expected = try fixtureLines("outbox", "decoded.json")
        #expect(rows.count == 200)
        #expect(rows.count == expected.count)
        try compareStoredBytes(rows, folder: "outbox")
        try compare(rows, expected, table: source.table, flavour: .outbox)

        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == "200")
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
        await source.close()
    }

    @Test(
        "original/mysql (non-strict, time without offset): read by time_of_recording, decoded as PHP did, dispatched",
        .enabled(if: MySQLTestDatabase.fixturesTestable, MySQLTestDatabase.fixturesSkipMessage)
    )
    func dispatcherFlavour() async throws {
        try MySQLTestDatabase.requireFixtures()
        let database = try TestDatabase()
        try load(folder: "original", into: database, table: "messages_outbox")
        let source = try database.source(.dispatcher)
        try await source.open()
        let rows = try await fetchAll(source, limit: 23)
        let expected = try fixtureLines("original", "decoded.json")
        #expect(rows.count == 200)
        #expect(rows.count == expected.count)
        try compareStoredBytes(rows, folder: "original")
        try compare(rows, expected, table: source.table, flavour: .dispatcher)

        // The time read back is the column's value with six digits, as PDO returned it.
        let stored = try fixtureLines("original", "rows.jsonl")
        for (row, line) in zip(rows, stored) {
            #expect(row.timeOfRecording == line["time_of_recording"]?.stringValue, "row \(row.id)")
        }

        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try database.scalar("SELECT count(*) FROM messages_outbox WHERE dispatched = 0") == "0")
        #expect(
            try database.scalar(
                "SELECT count(*) FROM messages_outbox WHERE dispatched = 1 AND time_of_dispatching IS NOT NULL"
            ) == "200"
        )
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
        await source.close()
    }

    // MARK: - Helpers

    /// Runs the fixture's `schema.sql` and `rows.sql` into the test database, as PHP's harness did
    /// (`original` under `sql_mode=''`).
    private func load(folder: String, into database: TestDatabase, table: String) throws {
        let directory = MySQLTestDatabase.fixtures + "/\(folder)/mysql"
        if folder == "original" { try database.execute("SET SESSION sql_mode = ''") }
        try database.execute(String(contentsOfFile: directory + "/schema.sql", encoding: .utf8))
        try database.execute(String(contentsOfFile: directory + "/rows.sql", encoding: .utf8))
        #expect(try database.scalar("SELECT count(*) FROM \(table)") == "200")
    }

    private func fixtureLines(_ folder: String, _ file: String) throws -> [JSONObject] {
        let text = try String(
            contentsOfFile: MySQLTestDatabase.fixtures + "/\(folder)/mysql/\(file)",
            encoding: .utf8
        )
        if file.hasSuffix(".jsonl") {
            return try text.split(separator: "\n").map { try #require(try JSONParser.parse(String($0)).objectValue) }
        }
        guard case .array(let rows) = try JSONParser.parse(text) else { throw FixtureShapeError() }
        return rows.map { $0.objectValue! }
    }

    /// The payload bytes are what PDO read back: forwarded untouched.
    private func compareStoredBytes(_ rows: [OutboxRow], folder: String) throws {
        let stored = try fixtureLines(folder, "rows.jsonl")
        for (row, line) in zip(rows, stored) {
            #expect(row.payload == Array(line["payload"]!.stringValue!.utf8), "stored bytes of row \(row.id)")
        }
    }

    private func compare(_ rows: [OutboxRow], _ expected: [JSONObject], table: String, flavour: OutboxFlavour) throws {
        let decoder = EnvelopeDecoder(table: table)
        for (row, line) in zip(rows, expected) {
            #expect(
                JSONValue.string(row.id.description).isSemanticallyEqual(to: .string(line["row_id"]!.textValue)),
                "row order: got \(row.id), PHP read \(line["row_id"]!.textValue)"
            )
            guard case .array(let messages) = line["messages"], let php = messages.first?.objectValue else {
                Issue.record("decoded.json row \(row.id) has no message")
                continue
            }
            let message = try decoder.decode(row)
            #expect(message.eventType == php["event_type"]?.stringValue)
            if let phpEventID = php["event_id"]?.stringValue {
                #expect(message.eventID == phpEventID)
                #expect(!message.eventIDIsDerived)
            } else {
                #expect(message.eventIDIsDerived, "row \(row.id) has no __event_id, so its id is derived")
            }
            #expect(message.aggregateRootID == php["aggregate_root_id"]?.stringValue)
            #expect(message.aggregateRootVersion == php["aggregate_root_version"]?.int64Value)
            #expect(message.timeOfRecordingText == php["time_of_recording"]?.stringValue)
            var phpHeaders = php["headers"]!.objectValue!
            if flavour == .outbox {
                // The PHP repository adds __doctrine_outbox.message_id (the row id) when reading.
                #expect(
                    phpHeaders["__doctrine_outbox.message_id"]?.int64Value
                        == { if case .integer(let id) = row.id { return id } else { return nil } }()
                )
                phpHeaders = JSONObject(phpHeaders.members.filter { $0.key != "__doctrine_outbox.message_id" })
            }
            #expect(
                JSONValue.object(message.headers).isSemanticallyEqual(to: .object(phpHeaders)),
                "headers of row \(row.id)"
            )
            #expect(try message.payload().isSemanticallyEqual(to: php["payload"]!), "payload of row \(row.id)")
        }
    }
}

struct FixtureShapeError: Error {}
