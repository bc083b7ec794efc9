import Foundation
import Testing

@testable import OutboxPostgres

/// Rows written by real PHP EventSauce into PostgreSQL, loaded from the fixtures' own
/// `schema.sql` and `rows.sql` (`pg_dump --inserts`), read, decoded, compared with what PHP
/// decoded (`decoded.json`), and completed.
@Suite("PostgreSQL fixture interop", .serialized)
struct PostgresFixtureInteropTests {
    @Test(
        "outbox/pgsql: every row read in id order, decoded as PHP did, and marked consumed",
        .enabled(if: PostgresTestDatabase.fixturesTestable, PostgresTestDatabase.fixturesSkipMessage)
    )
    func outboxFlavour() async throws {
        try PostgresTestDatabase.requireFixtures()
        let schema = try TestSchema()
        try load(folder: "outbox", into: schema, table: "outbox_messages")
        let source = try schema.source(.outbox)
        try await source.open()
        let rows = try await fetchAll(source, limit: 37)
        let expected = try decodedRows("outbox")
        #expect(rows.count == 200)
        #expect(rows.count == expected.count)
        try compare(rows, expected, table: source.table, flavour: .outbox)

        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "0")
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = true") == "200")
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
        await source.close()
    }

    @Test(
        "original/pgsql: every row read in time_of_recording order, decoded as PHP did, and marked dispatched",
        .enabled(if: PostgresTestDatabase.fixturesTestable, PostgresTestDatabase.fixturesSkipMessage)
    )
    func dispatcherFlavour() async throws {
        try PostgresTestDatabase.requireFixtures()
        let schema = try TestSchema()
        try load(folder: "original", into: schema, table: "messages_outbox")
        let source = try schema.source(.dispatcher)
        try await source.open()
        let rows = try await fetchAll(source, limit: 23)
        let expected = try decodedRows("original")
        #expect(rows.count == 200)
        #expect(rows.count == expected.count)
        try compare(rows, expected, table: source.table, flavour: .dispatcher)

        // The time read back is the column's value, canonical with six digits.
        let jsonl = try String(
            contentsOfFile: PostgresTestDatabase.fixtures + "/original/pgsql/rows.jsonl",
            encoding: .utf8
        )
        .split(separator: "\n").map { try JSONParser.parse(String($0)).objectValue! }
        for (row, line) in zip(rows, jsonl) {
            let stored = line["time_of_recording"]!.stringValue!
            #expect(
                row.timeOfRecording.map { canonicalTime(stored) == $0 } == true,
                "row \(row.id): \(row.timeOfRecording ?? "nil") vs \(stored)"
            )
        }

        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox WHERE dispatched = false") == "0")
        #expect(
            try schema.scalar(
                "SELECT count(*) FROM messages_outbox WHERE dispatched = true AND time_of_dispatching IS NOT NULL"
            ) == "200"
        )
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
        await source.close()
    }

    // MARK: - Helpers

    /// Runs the fixture's `schema.sql` and `rows.sql` through libpq into the test schema.
    private func load(folder: String, into schema: TestSchema, table: String) throws {
        let directory = PostgresTestDatabase.fixtures + "/\(folder)/pgsql"
        try schema.execute(String(contentsOfFile: directory + "/schema.sql", encoding: .utf8))
        // pg_dump writes `public.<table>` and clears search_path for the session: point both at
        // the test schema.
        let rows = try String(contentsOfFile: directory + "/rows.sql", encoding: .utf8)
            .replacingOccurrences(of: "INSERT INTO public.\(table) ", with: "INSERT INTO \"\(schema.name)\".\(table) ")
            .replacingOccurrences(of: "setval('public.", with: "setval('\(schema.name).")
        try schema.execute(rows)
        try schema.execute("SET search_path TO \"\(schema.name)\"")
        #expect(try schema.scalar("SELECT count(*) FROM \(table)") == "200")
    }

    private func decodedRows(_ folder: String) throws -> [JSONObject] {
        let text = try String(
            contentsOfFile: PostgresTestDatabase.fixtures + "/\(folder)/pgsql/decoded.json",
            encoding: .utf8
        )
        guard case .array(let rows) = try JSONParser.parse(text) else { throw FixtureShapeError() }
        return rows.map { $0.objectValue! }
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
            // Headers as PHP read them; the outbox repository adds __doctrine_outbox.message_id on read.
            var phpHeaders = php["headers"]!.objectValue!
            if flavour == .outbox {
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

    /// `2024-03-14 05:04:50.67614` → `2024-03-14 05:04:50.676140`; whole seconds get `.000000`.
    private func canonicalTime(_ text: String) -> String {
        let parts = text.split(separator: ".", maxSplits: 1)
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        return parts[0] + "." + fraction + String(repeating: "0", count: max(0, 6 - fraction.count))
    }
}

struct FixtureShapeError: Error {}
