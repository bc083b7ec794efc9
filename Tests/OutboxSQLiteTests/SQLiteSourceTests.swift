import Foundation
import OutboxRelay
import Testing

@testable import OutboxSQLite

@Suite("SQLiteSource")
struct SQLiteSourceTests {
    // MARK: Reading what PHP wrote

    @Test(
        "fixture rows come back in id order, byte-exact, and decode like PHP",
        .enabled(if: SQLiteFixtures.isTestable, SQLiteFixtures.skipMessage)
    )
    func fixtureRowsDecodeLikePHP() async throws {
        try SQLiteFixtures.requirePresent()
        let database = try TemporaryDatabase()
        try database.loadOutboxFixture()
        let source = try database.source()
        try await source.open()
        #expect(await source.journalMode == "wal")

        let rows = try await fetchAll(source, pageSize: 37)
        let stored = try SQLiteFixtures.jsonLines("outbox/sqlite/rows.jsonl")
        let decoded = try SQLiteFixtures.decoded("outbox/sqlite/decoded.json")
        try #require(rows.count == 200)
        try #require(stored.count == 200 && decoded.count == 200)

        let decoder = EnvelopeDecoder(table: source.table)
        var derivedIDs = 0
        for (index, row) in rows.enumerated() {
            let expectedID = try #require(stored[index]["id"]?.int64Value)
            #expect(row.id == .integer(expectedID))
            #expect(row.timeOfRecording == nil)
            let storedText = try #require(stored[index]["payload"]?.stringValue)
            #expect(
                row.payload == Array(storedText.utf8),
                "row \(expectedID): payload bytes differ from what PHP stored"
            )

            let message = try decoder.decode(row)
            let php = try #require(firstMessage(of: decoded[index]))
            #expect(decoded[index]["row_id"]?.int64Value == expectedID)
            #expect(message.eventType == php["event_type"]?.stringValue)
            #expect(message.aggregateRootID == php["aggregate_root_id"]?.stringValue)
            #expect(message.aggregateRootVersion == php["aggregate_root_version"]?.int64Value)
            if let eventID = php["event_id"]?.stringValue {
                #expect(message.eventID == eventID)
                #expect(!message.eventIDIsDerived)
            } else {
                derivedIDs += 1
                #expect(message.eventIDIsDerived)
                #expect(message.eventID == EnvelopeDecoder.derivedEventID(table: "outbox_messages", rowID: row.id))
            }
            let phpHeaders = try #require(php["headers"]?.objectValue).removing("__doctrine_outbox.message_id")
            #expect(
                JSONValue.object(message.headers).isSemanticallyEqual(to: .object(phpHeaders)),
                "row \(expectedID): headers differ"
            )
            let phpPayload = try #require(php["payload"])
            #expect(try message.payload().isSemanticallyEqual(to: phpPayload), "row \(expectedID): payload differs")
        }
        #expect(derivedIDs == 33, "the README says 33 sqlite rows have no __event_id")
        await source.close()
    }

    @Test(
        "the dispatcher flavour reads (time_of_recording, id) order, ties included",
        .enabled(if: SQLiteFixtures.isTestable, SQLiteFixtures.skipMessage)
    )
    func dispatcherOrderWithFixtureRows() async throws {
        try SQLiteFixtures.requirePresent()
        let database = try TemporaryDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .sqlite))
        // original/mysql: the rows MariaDB stored, ordered by time_of_recording, id (98 distinct times for 200 rows).
        let stored = try SQLiteFixtures.jsonLines("original/mysql/rows.jsonl")
        // Insert in reverse so insertion order (rowid) cannot explain a correct result.
        try database.execute("BEGIN")
        for object in stored.reversed() {
            let id = try #require(object["id"]?.stringValue)
            let payload = try #require(object["payload"]?.stringValue)
            let time = try #require(object["time_of_recording"]?.stringValue)
            try database.execute(
                "INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched) "
                    + "VALUES ('\(id)', '\(payload.replacingOccurrences(of: "'", with: "''"))', '\(time)', 0)"
            )
        }
        try database.execute("COMMIT")
        let source = try database.source(flavour: .dispatcher)
        try await source.open()
        let rows = try await fetchAll(source, pageSize: 7)
        try #require(rows.count == stored.count)
        for (row, object) in zip(rows, stored) {
            #expect(row.id == .text(object["id"]!.stringValue!))
            #expect(row.timeOfRecording == object["time_of_recording"]!.stringValue!)
            #expect(row.payload == Array(object["payload"]!.stringValue!.utf8))
        }
        let decoded = try SQLiteFixtures.decoded("original/mysql/decoded.json")
        let decoder = EnvelopeDecoder(table: source.table)
        for (row, entry) in zip(rows, decoded) {
            #expect(entry["row_id"]?.stringValue == row.id.description)
            let message = try decoder.decode(row)
            #expect(message.eventID == row.id.description, "dispatcher ids are the message's __event_id")
        }
    }

    @Test("bad rows are fetched byte-exact: empty, truncated, no headers, invalid UTF-8")
    func badRowsAreFetchedByteExact() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let good = Array(#"{"headers":{"__event_type":"a.b","__event_id":"e1"},"payload":[]}"#.utf8)
        let truncated = Array(good.prefix(30))
        let noHeaders = Array(#"{"payload":{"x":1}}"#.utf8)
        let invalidUTF8: [UInt8] =
            Array(#"{"headers":{"__event_type":"a.b"},"payload":{"s":""#.utf8) + [0xFF, 0xC3, 0x28]
            + Array(#""}}"#.utf8)
        let ids = try await source.insert(payloads: [[], truncated, noHeaders, invalidUTF8, good])
        // PHP's own form of an empty payload: an empty string literal.
        try database.execute("INSERT INTO outbox_messages (payload) VALUES ('')")
        try await source.open()

        let rows = try await source.fetch(limit: 100, after: nil)
        #expect(rows.map(\.id) == ids + [.integer(6)])
        #expect(rows.map(\.payload) == [[], truncated, noHeaders, invalidUTF8, good, []])
        #expect(
            try database.texts("SELECT typeof(payload) FROM outbox_messages ORDER BY id") == [
                "text", "text", "text", "blob", "text", "text",
            ]
        )

        let decoder = EnvelopeDecoder(table: source.table)
        func code(_ row: OutboxRow) -> EnvelopeDecodingError.Code? {
            do {
                _ = try decoder.decode(row)
                return nil
            } catch { return error.code }
        }
        #expect(code(rows[0]) == .emptyPayload)
        #expect(code(rows[1]) == .truncatedJSON)
        #expect(code(rows[2]) == .missingHeaders)
        #expect(code(rows[4]) == nil)
        #expect(code(rows[5]) == .emptyPayload)
    }

    // MARK: Completing rows

    @Test(
        "complete() marks rows consumed as PHP does, and the next fetch skips them",
        .enabled(if: SQLiteFixtures.isTestable, SQLiteFixtures.skipMessage)
    )
    func completeMarks() async throws {
        try SQLiteFixtures.requirePresent()
        let database = try TemporaryDatabase()
        try database.loadOutboxFixture()
        let source = try database.source()
        try await source.open()
        // More ids than one IN (...) list holds.
        let first = try await source.fetch(limit: 450, after: nil)
        try #require(first.count == 200)
        try await source.complete(rows: first.prefix(130).map(\.id), deadLetters: [])
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 130)
        #expect(try database.int("SELECT max(id) FROM outbox_messages WHERE consumed = 1") == 130)
        #expect(try database.int("SELECT count(*) FROM outbox_messages") == 200)
        let rest = try await source.fetch(limit: 500, after: nil)
        #expect(rest.first?.id == .integer(131))
        #expect(rest.count == 70)
        try await source.complete(rows: rest.map(\.id), deadLetters: [])
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
        #expect(try database.int("SELECT count(*) FROM outbox_relay_dead_letters") == 0)
    }

    @Test("after_delivery: delete removes the rows")
    func completeDeletes() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source(afterDelivery: .delete)
        try await source.createTables()
        let ids = try await source.insert(
            payloads: (1...450).map { Array(#"{"headers":{"__event_type":"t","n":\#($0)},"payload":{}}"#.utf8) }
        )
        try await source.open()
        let rows = try await source.fetch(limit: 1000, after: nil)
        #expect(rows.map(\.id) == ids)
        try await source.complete(rows: rows.dropLast(1).map(\.id), deadLetters: [])
        #expect(try database.int("SELECT count(*) FROM outbox_messages") == 1)
        #expect(try database.int("SELECT id FROM outbox_messages") == 450)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 0)
    }

    @Test("dead letters are written with the mark, every column, payload byte for byte")
    func deadLettersWithMark() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let invalid: [UInt8] = [0x7B, 0xFF, 0xFE]
        let ids = try await source.insert(payloads: [[], invalid, Array(#"{"headers":{},"payload":[]}"#.utf8)])
        try await source.open()
        let first = Timestamp(microsecondsSinceEpoch: 1_710_392_690_163_498)
        let last = Timestamp(microsecondsSinceEpoch: 1_710_392_700_000_001)
        let letters = [
            DeadLetter(
                rowID: ids[0],
                payload: [],
                destination: nil,
                attempts: 0,
                lastError: "the payload column is empty",
                firstFailedAt: first,
                lastFailedAt: first
            ),
            DeadLetter(
                rowID: ids[1],
                payload: invalid,
                eventID: "e-1",
                eventType: "acme.x",
                destination: "kafka",
                attempts: 12,
                lastError: "broker said no",
                firstFailedAt: first,
                lastFailedAt: last
            ),
        ]
        try await source.complete(rows: ids, deadLetters: letters)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 3)
        let stored = try database.connection.query(
            "SELECT source_table, row_id, event_id, event_type, destination, attempts, last_error, first_failed_at, "
                + "last_failed_at, typeof(payload), payload FROM outbox_relay_dead_letters ORDER BY id"
        ) { statement in
            (
                (0..<10).map { statement.isNull(at: Int32($0)) ? nil : statement.text(at: Int32($0)) },
                statement.bytes(at: 10)
            )
        }
        try #require(stored.count == 2)
        #expect(
            stored[0].0 == [
                "outbox_messages", "1", nil, nil, nil, "0", "the payload column is empty", "2024-03-14 05:04:50.163498",
                "2024-03-14 05:04:50.163498", "text",
            ]
        )
        #expect(stored[0].1 == [])
        #expect(
            stored[1].0 == [
                "outbox_messages", "2", "e-1", "acme.x", "kafka", "12", "broker said no", "2024-03-14 05:04:50.163498",
                "2024-03-14 05:05:00.000001", "blob",
            ]
        )
        #expect(stored[1].1 == invalid)
        #expect(try await source.status().deadLetters == 2)
    }

    @Test("a payload above maximumPayloadBytes is not read, and SQLite copies it into its dead letter")
    func oversizedPayloadIsDeadLetteredUnread() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source { $0.maximumPayloadBytes = 1_000 }
        try await source.createTables()
        let small = Array(#"{"headers":{},"payload":{"n":1}}"#.utf8)
        let large =
            Array(#"{"headers":{},"payload":{"s":""#.utf8) + [UInt8](repeating: 0x61, count: 2_000)
            + Array(#""}}"#.utf8)
        let binary: [UInt8] = [0xFF] + [UInt8](repeating: 0x62, count: 1_500)
        let ids = try await source.insert(payloads: [small, large, binary, small])
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        #expect(rows.map(\.id) == ids)
        #expect(rows.map(\.payload.count) == [small.count, 0, 0, small.count])
        #expect(rows[1].oversizedPayload == OversizedPayload(size: large.count, limit: 1_000))
        #expect(rows[2].oversizedPayload == OversizedPayload(size: binary.count, limit: 1_000))
        #expect(rows[0].oversizedPayload == nil)
        let now = Timestamp.now()
        let letters = [rows[1], rows[2]].map { row in
            DeadLetter(
                rowID: row.id,
                payload: [],
                destination: nil,
                attempts: 0,
                lastError: row.oversizedPayload!.reason,
                firstFailedAt: now,
                lastFailedAt: now,
                payloadStaysInOutbox: true
            )
        }
        try await source.complete(rows: ids, deadLetters: letters)
        #expect(try database.column("SELECT payload FROM outbox_relay_dead_letters ORDER BY id") == [large, binary])
        #expect(
            try database.texts("SELECT last_error FROM outbox_relay_dead_letters ORDER BY id").first
                == "payload of \(large.count) bytes exceeds max_payload_bytes 1000 (set aside unread)"
        )
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 4)
    }

    @Test("a byte-bounded read stops at the row that reaches the bound, never before the first row")
    func byteBoundedRead() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let payload = [UInt8](repeating: 0x61, count: 100)
        let ids = try await source.insert(payloads: Array(repeating: payload, count: 10))
        try await source.open()
        #expect(try await source.fetch(limit: 10, maximumBytes: 250, after: nil).map(\.id) == Array(ids[0..<3]))
        #expect(try await source.fetch(limit: 10, maximumBytes: 300, after: nil).count == 3)
        #expect(try await source.fetch(limit: 10, maximumBytes: 0, after: nil).map(\.id) == [ids[0]])
        #expect(try await source.fetch(limit: 4, maximumBytes: .max, after: OutboxCursor(id: ids[5])).count == 4)
    }

    @Test("a failing dead-letter insert rolls back the whole completion")
    func failingDeadLetterRollsBack() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let ids = try await source.insert(payloads: [Array("a".utf8), Array("b".utf8), Array("c".utf8)])
        try await source.open()
        try database.execute(
            """
            CREATE TRIGGER refuse_boom BEFORE INSERT ON outbox_relay_dead_letters
            WHEN NEW.last_error = 'boom' BEGIN SELECT RAISE(ABORT, 'dead letter refused'); END
            """
        )
        let now = Timestamp.now()
        let letters = [
            DeadLetter(
                rowID: ids[0],
                payload: Array("a".utf8),
                destination: nil,
                attempts: 0,
                lastError: "fine",
                firstFailedAt: now,
                lastFailedAt: now
            ),
            DeadLetter(
                rowID: ids[1],
                payload: Array("b".utf8),
                destination: nil,
                attempts: 0,
                lastError: "boom",
                firstFailedAt: now,
                lastFailedAt: now
            ),
        ]
        let error = await #expect(throws: SQLiteError.self) {
            try await source.complete(rows: ids, deadLetters: letters)
        }
        #expect(error?.message.contains("dead letter refused") == true)
        #expect(error?.sql?.contains("INSERT INTO \"outbox_relay_dead_letters\"") == true)
        #expect(try database.int("SELECT count(*) FROM outbox_relay_dead_letters") == 0)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 0)
        #expect(try await source.fetch(limit: 10, after: nil).count == 3)

        // The engine retries; once the cause is gone the same completion goes through.
        try database.execute("DROP TRIGGER refuse_boom")
        try await source.complete(rows: ids, deadLetters: letters)
        #expect(try database.int("SELECT count(*) FROM outbox_relay_dead_letters") == 2)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 3)
    }

    @Test("a failing mark rolls back the dead letters inserted before it")
    func failingMarkRollsBack() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let ids = try await source.insert(payloads: (1...5).map { Array("row \($0)".utf8) })
        try await source.open()
        try database.execute(
            """
            CREATE TRIGGER refuse_row_4 BEFORE UPDATE ON outbox_messages
            WHEN NEW.id = 4 BEGIN SELECT RAISE(ABORT, 'row 4 is locked'); END
            """
        )
        let now = Timestamp.now()
        let letter = DeadLetter(
            rowID: ids[0],
            payload: Array("row 1".utf8),
            destination: "http",
            attempts: 3,
            lastError: "410",
            firstFailedAt: now,
            lastFailedAt: now
        )
        await #expect(throws: SQLiteError.self) {
            try await source.complete(rows: ids, deadLetters: [letter])
        }
        #expect(try database.int("SELECT count(*) FROM outbox_relay_dead_letters") == 0)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == 0)
        // The connection is usable again: no transaction was left open.
        #expect(try await !source.fetch(limit: 1, after: nil).isEmpty)
    }

    @Test("dispatcher flavour: mark sets dispatched and time_of_dispatching, delete deletes")
    func dispatcherMarking() async throws {
        let database = try TemporaryDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .sqlite))
        // Same time for b and a: the id breaks the tie. c is older than both.
        try database.execute(
            """
            INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched, time_of_dispatching) VALUES
              ('b', '{}', '2024-03-14 05:04:50.163498', 0, NULL),
              ('a', '{}', '2024-03-14 05:04:50.163498', 0, NULL),
              ('c', '{}', '2024-03-14 05:04:49.999999', 0, NULL),
              ('d', '{}', '2024-03-14 05:04:51.000000', 1, '2024-03-14 06:00:00.000000'),
              ('e', '{}', '2024-03-14 05:04:52.000000', 0, NULL)
            """
        )
        let source = try database.source(flavour: .dispatcher)
        try await source.open()
        let page1 = try await source.fetch(limit: 2, after: nil)
        #expect(page1.map(\.id) == [.text("c"), .text("a")])
        #expect(page1[1].cursor == OutboxCursor(timeOfRecording: "2024-03-14 05:04:50.163498", id: .text("a")))
        let page2 = try await source.fetch(limit: 2, after: page1.last?.cursor)
        #expect(page2.map(\.id) == [.text("b"), .text("e")])

        let before = Timestamp.now()
        try await source.complete(rows: page1.map(\.id), deadLetters: [])
        let after = Timestamp.now()
        let times = try database.texts(
            "SELECT time_of_dispatching FROM messages_outbox WHERE id IN ('a', 'c') ORDER BY id"
        )
        #expect(times.count == 2 && times[0] == times[1])
        let text = try #require(times[0] ?? nil)
        #expect(text.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}/) != nil, "\(text)")
        let parsed = try #require(SQLiteSource.parseSQLTime(text))
        #expect(parsed >= before && parsed <= after)
        #expect(try database.int("SELECT count(*) FROM messages_outbox WHERE dispatched = 1") == 3)
        #expect(
            try database.texts("SELECT time_of_dispatching FROM messages_outbox WHERE id = 'd'") == [
                "2024-03-14 06:00:00.000000"
            ]
        )
        #expect(try await source.fetch(limit: 10, after: nil).map(\.id) == [.text("b"), .text("e")])

        let deleting = try database.source(flavour: .dispatcher, afterDelivery: .delete)
        try await deleting.open()
        try await deleting.complete(rows: [.text("b")], deadLetters: [])
        #expect(try database.texts("SELECT id FROM messages_outbox ORDER BY id") == ["a", "c", "d", "e"])
    }

    @Test("dispatcher insert(payloads:) uses __event_id and __time_of_recording")
    func dispatcherInsert() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source(flavour: .dispatcher)
        try await source.createTables()
        let payload = Array(
            #"""
            {"headers":{"__event_type":"a.b","__event_id":"7f1c1a52-4c3f-4f57-9a39-2b7d6a0f1e11",\#
            "__time_of_recording":"2024-03-14 07:04:50.163498+0200"},"payload":{}}
            """#
            .utf8
        )
        let ids = try await source.insert(payloads: [payload, Array("not json".utf8)])
        #expect(ids[0] == .text("7f1c1a52-4c3f-4f57-9a39-2b7d6a0f1e11"))
        guard case .text(let random) = ids[1] else {
            Issue.record("expected a text id")
            return
        }
        #expect(random.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
        #expect(
            try database.texts(
                "SELECT time_of_recording FROM messages_outbox WHERE id = '7f1c1a52-4c3f-4f57-9a39-2b7d6a0f1e11'"
            ) == ["2024-03-14 05:04:50.163498"]
        )
    }

    // MARK: Configuration and errors

    @Test("renamed columns work through Configuration.Columns")
    func columnOverrides() async throws {
        let database = try TemporaryDatabase()
        try database.execute(
            """
            CREATE TABLE app_outbox (msg_no INTEGER PRIMARY KEY AUTOINCREMENT, done BOOLEAN NOT NULL DEFAULT 0, \
            body TEXT NOT NULL);
            INSERT INTO app_outbox (body) VALUES ('one'), ('two'), ('three');
            """
        )
        let source = try database.source(table: "app_outbox") {
            $0.columns = try .init(overrides: ["id": "msg_no", "consumed": "done", "payload": "body"])
            $0.deadLetterTable = try SQLIdentifier("relay_failures")
        }
        try await source.open()
        let rows = try await source.fetch(limit: 2, after: nil)
        #expect(rows.map(\.payload) == [Array("one".utf8), Array("two".utf8)])
        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try database.int("SELECT count(*) FROM app_outbox WHERE done = 1") == 2)
        #expect(try database.int("SELECT count(*) FROM relay_failures") == 0)
        #expect(throws: SQLiteError.self) { try SQLiteSource.Configuration.Columns(overrides: ["identifier": "x"]) }
        #expect(throws: SQLIdentifierError.self) {
            try SQLiteSource.Configuration.Columns(overrides: ["id": "x; DROP TABLE app_outbox"])
        }
    }

    @Test("a missing table is named in the error")
    func missingTable() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source(table: "outbox_mesages")
        let error = await #expect(throws: SQLiteError.self) { try await source.open() }
        #expect(error?.code == .missingTable)
        #expect(error?.message.contains("\"outbox_mesages\"") == true)
        #expect(error?.message.contains(database.path) == true)
        await #expect(throws: SQLiteError.self) { _ = try await source.fetch(limit: 1, after: nil) }
    }

    @Test("a missing column is named in the error")
    func missingColumn() async throws {
        let database = try TemporaryDatabase()
        try database.execute(
            "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)"
        )
        let error = await #expect(throws: SQLiteError.self) { try await database.source().open() }
        #expect(error?.code == .missingColumn)
        #expect(error?.message.contains("\"consumed\"") == true)
        #expect(error?.message.contains("id, payload") == true)

        let dispatcher = try database.source(flavour: .dispatcher, table: "outbox_messages")
        let dispatcherError = await #expect(throws: SQLiteError.self) { try await dispatcher.open() }
        #expect(dispatcherError?.message.contains("\"time_of_recording\"") == true)
        #expect(dispatcherError?.message.contains("\"dispatched\"") == true)
    }

    @Test("a missing database file is not created by open()")
    func missingFile() async throws {
        let database = try TemporaryDatabase()
        let path = database.directory + "/nope.db"
        let source = SQLiteSource(configuration: .init(path: path))
        let error = await #expect(throws: SQLiteError.self) { try await source.open() }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains(path) == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("invalid table and column names are refused before any SQL runs")
    func invalidNames() {
        #expect(throws: SQLIdentifierError.self) { try SQLIdentifier("outbox_messages; DROP TABLE users") }
        #expect(throws: SQLIdentifierError.self) { try SQLIdentifier("outbox\"messages") }
        #expect(throws: SQLIdentifierError.self) { try SQLIdentifier("a.b.c") }
        #expect(throws: SQLIdentifierError.self) { try SQLIdentifier("1outbox") }
        #expect(throws: SQLIdentifierError.self) { try SQLIdentifier("", allowsSchema: false) }
    }

    @Test("a table in an attached database is read with a schema-qualified name")
    func attachedSchema() async throws {
        let database = try TemporaryDatabase()
        let auxPath = database.directory + "/aux.db"
        let auxTable = try SQLIdentifier("aux.outbox_messages")
        try database.execute(
            "ATTACH DATABASE '\(auxPath)' AS aux; "
                + "\(OutboxSchema.outboxTable(flavour: .outbox, dialect: .sqlite, table: auxTable)) "
                + "INSERT INTO aux.outbox_messages (payload) VALUES ('x'); DETACH DATABASE aux;"
        )
        // The source's own connection must attach it: opening reports the table missing in main.
        let source = try database.source(table: "aux.outbox_messages")
        let error = await #expect(throws: SQLiteError.self) { try await source.open() }
        #expect(error?.code == .missingTable)
        #expect(error?.message.contains("aux.outbox_messages") == true)
    }

    // MARK: Waiting, status, concurrency

    @Test("waitForRows returns soon after another connection commits, and times out otherwise")
    func waitForRows() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        try await source.open()
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)

        let clock = ContinuousClock()
        let idle = await clock.measure { await source.waitForRows(timeout: .milliseconds(300)) }
        #expect(idle >= .milliseconds(290) && idle < .seconds(3))

        let path = database.path
        let writer = Task.detached {
            try await Task.sleep(for: .milliseconds(150))
            let connection = try SQLiteConnection(path: path, create: false, busyTimeout: .seconds(5))
            defer { connection.close() }
            try connection.execute("INSERT INTO outbox_messages (payload) VALUES ('{}')")
        }
        let woken = await clock.measure { await source.waitForRows(timeout: .seconds(20)) }
        try await writer.value
        #expect(woken >= .milliseconds(100) && woken < .seconds(5), "woke after \(woken)")
        #expect(try await source.fetch(limit: 10, after: nil).count == 1)
    }

    @Test("status() counts backlog and dead letters and ages the oldest row without open()")
    func status() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let old = Array(
            #"{"headers":{"__event_type":"a","__time_of_recording":"2024-03-14 05:04:50.163498+0000"},"payload":[]}"#
                .utf8
        )
        try await source.insert(payloads: [old, old, old])
        try database.execute("UPDATE outbox_messages SET consumed = 1 WHERE id = 1")
        let other = try database.source()
        let status = try await other.status()
        #expect(status.backlog == 2)
        #expect(status.deadLetters == 0)
        #expect(status.lockHolder == nil)
        let age = try #require(status.oldestUndeliveredAge)
        let expected = Timestamp.now().microsecondsSinceEpoch - 1_710_392_690_163_498
        #expect(abs(Int64(age.components.seconds) - expected / 1_000_000) < 60)
    }

    @Test("rows a concurrent writer inserts are all relayed exactly once")
    func concurrentWriter() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        try await source.open()
        let path = database.path
        let writer = Task.detached {
            // A PHP-like application: its own connection, small transactions.
            let connection = try SQLiteConnection(path: path, create: false, busyTimeout: .seconds(10))
            defer { connection.close() }
            for batch in 0..<50 {
                let values = (0..<20).map {
                    "('{\"headers\":{\"__event_type\":\"t\",\"n\":\(batch * 20 + $0)},\"payload\":[]}')"
                }
                try connection.execute(
                    "BEGIN; INSERT INTO outbox_messages (payload) VALUES \(values.joined(separator: ", ")); COMMIT;"
                )
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        var seen: [Int64] = []
        var cursor: OutboxCursor?
        for _ in 0..<10_000 where seen.count < 1000 {
            let rows = try await source.fetch(limit: 64, after: cursor)
            guard let last = rows.last else {
                await source.waitForRows(timeout: .milliseconds(50))
                continue
            }
            cursor = last.cursor
            seen += rows.map { if case .integer(let id) = $0.id { id } else { -1 } }
            try await source.complete(rows: rows.map(\.id), deadLetters: [])
        }
        try await writer.value
        #expect(seen == Array(1...1000))
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0)
        #expect(try await source.fetch(limit: 10, after: nil).isEmpty)
    }
}

/// The first message PHP decoded from a `decoded.json` entry.
private func firstMessage(of entry: JSONObject) -> JSONObject? {
    guard case .array(let messages)? = entry["messages"] else { return nil }
    return messages.first?.objectValue
}
