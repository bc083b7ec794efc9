import Foundation
import Logging
import Testing

@testable import OutboxPostgres

/// Reading, ordering, completing, errors, wake-ups, retention and status against a real server.
@Suite(
    "PostgreSQL source",
    .serialized,
    .enabled(if: PostgresTestDatabase.isTestable, PostgresTestDatabase.skipMessage)
)
struct PostgresSourceTests {
    @Test("outbox rows come in id order across batches, and a nil cursor reads from the first undelivered row")
    func outboxOrderAndNilCursor() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(250)
        let source = try schema.source(.outbox)
        try await source.open()
        let rows = try await fetchAll(source, limit: 100)
        #expect(rows.map(\.id) == (1...250).map { OutboxRowID.integer(Int64($0)) })
        // Complete the first 100; a row "committed late" with a lower id is found from a nil cursor.
        try await source.complete(rows: Array(rows.prefix(100)).map(\.id), deadLetters: [])
        try schema.execute("UPDATE outbox_messages SET consumed = false WHERE id = 50")
        let again = try await source.fetch(limit: 3, after: nil)
        #expect(again.map(\.id) == [.integer(50), .integer(101), .integer(102)])
        await source.close()
    }

    @Test("dispatcher rows on whole seconds, fractions and ties are read in (time, id) order, each once")
    func dispatcherWholeSecondsAndTies() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.dispatcher)
        let times = [
            "2024-01-01 00:00:01", "2024-01-01 00:00:00", "2024-01-01 00:00:00.5", "2024-01-01 00:00:01",
            "2024-01-01 00:00:01", "2024-01-01 00:00:02.000001", "2024-01-01 00:00:02", "2024-01-01 00:00:01",
        ]
        for (index, time) in times.enumerated() {
            try schema.execute(
                """
                INSERT INTO messages_outbox (id, payload, dispatched, time_of_recording) VALUES
                ($1::uuid, $2::json, false, $3::timestamp)
                """,
                [
                    String(format: "00000000-0000-0000-0000-%012d", index),
                    #"{"headers":{"__event_type":"a.b","__event_id":"x\#(index)"},"payload":{}}"#, time,
                ]
            )
        }
        let source = try schema.source(.dispatcher)
        try await source.open()
        let rows = try await fetchAll(source, limit: 1)
        let expected = times.enumerated().sorted { ($0.element.padded, $0.offset) < ($1.element.padded, $1.offset) }
        #expect(
            rows.map(\.id.description) == expected.map { String(format: "00000000-0000-0000-0000-%012d", $0.offset) }
        )
        #expect(rows.map { $0.timeOfRecording ?? "" } == expected.map(\.element.padded))
        // With limit 1 the whole tie group at 00:00:01 (4 rows) came in one batch.
        let batch = try await source.fetch(limit: 1, after: rows[1].cursor)
        #expect(batch.count == 4)
        #expect(Set(batch.map { $0.timeOfRecording! }) == ["2024-01-01 00:00:01.000000"])
        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(
            try schema.scalar(
                "SELECT count(*) FROM messages_outbox WHERE dispatched AND time_of_dispatching IS NOT NULL"
            ) == "8"
        )
        await source.close()
    }

    @Test("after_delivery: delete removes the rows, in chunks")
    func deleteAfterDelivery() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.dispatcher)
        try schema.insertDispatcherRows(1200)
        let source = try schema.source(.dispatcher, afterDelivery: .delete) { $0.completeChunkSize = 500 }
        try await source.open()
        let rows = try await fetchAll(source, limit: 1000)
        #expect(rows.count == 1200)
        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox") == "0")
        await source.close()
    }

    @Test("bad rows in a varchar payload table are set aside as dead letters, the rest delivered, all marked")
    func badRowsInVarcharTable() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox, varcharPayload: true)
        #expect(
            try schema.scalar(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    + "WHERE attrelid = 'outbox_messages'::regclass AND attname = 'payload'"
            ) == "character varying(16001)"
        )
        try schema.insertOutboxRows(20)
        let truncated = String(#"{"headers":{"__event_type":"a.b","__event_id":"t"},"payload":{"text":""#.prefix(40))
        for bad in [
            "", truncated, #"{"payload":{}}"#, "not json", #"{"headers":{"__event_id":"no-type"},"payload":[]}"#,
        ] {
            try schema.execute("INSERT INTO outbox_messages (consumed, payload) VALUES (false, $1)", [bad])
        }
        try schema.insertOutboxRows(5, startVersion: 100)
        let received = Received()
        let source = try schema.source(.outbox)
        let engine = try RelayEngine(
            source: source,
            transports: [SynchronousDispatcher(consumer: MessageConsumerClosure { await received.add($0) })],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 7)
        )
        let summary = try await engine.drain()
        #expect(await received.count == 25)
        #expect(summary.undecodableRows == 5)
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "0")
        #expect(
            try schema.scalar("SELECT count(*) FROM outbox_relay_dead_letters WHERE source_table = $1", [source.table])
                == "5"
        )
        #expect(
            try schema.scalar("SELECT string_agg(row_id, ',' ORDER BY row_id::int) FROM outbox_relay_dead_letters")
                == "21,22,23,24,25"
        )
        // The stored bytes are kept untouched in the dead letter.
        #expect(
            try schema.scalar("SELECT convert_from(payload, 'UTF8') FROM outbox_relay_dead_letters WHERE row_id = '24'")
                == "not json"
        )
        await source.close()
    }

    @Test(
        """
        write_connection: separate marks on a second session, shared on the reading one; \
        both mark every row and record dead letters
        """,
        arguments: [PostgresSource.Configuration.WriteConnection.separate, .shared]
    )
    func writeConnection(_ mode: PostgresSource.Configuration.WriteConnection) async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox, varcharPayload: true)
        try schema.insertOutboxRows(300)
        try schema.execute("INSERT INTO outbox_messages (consumed, payload) VALUES (false, 'not json')")
        let name = "write-connection-test-\(mode)-\(UInt32.random(in: 0...UInt32.max))"
        let source = try schema.source(.outbox) {
            $0.writeConnection = mode
            $0.applicationName = name
        }
        try await source.open()
        #expect(
            try schema.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [name])
                == (mode == .separate ? "2" : "1")
        )
        await source.close()
        let engine = try RelayEngine(
            source: source,
            transports: [SynchronousDispatcher(consumer: MessageConsumerClosure { _ in })],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 40)
        )
        let summary = try await engine.drain()
        #expect(summary.rowsCompleted == 301)
        #expect(summary.undecodableRows == 1)
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "0")
        #expect(try schema.scalar("SELECT row_id FROM outbox_relay_dead_letters") == "301")
    }

    @Test("dead letters and marking commit together or not at all")
    func deadLettersAreAtomic() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3)
        let source = try schema.source(.outbox)
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        let now = Timestamp.now()
        let letter = DeadLetter(
            rowID: rows[1].id,
            payload: rows[1].payload,
            eventID: "e",
            eventType: "t",
            destination: "kafka",
            attempts: 12,
            lastError: "broker says no",
            firstFailedAt: now,
            lastFailedAt: now
        )
        // Make the UPDATE fail after the dead letter was inserted.
        try schema.execute(
            """
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON outbox_messages FOR EACH ROW EXECUTE FUNCTION refuse();
            """
        )
        await #expect(throws: PostgresError.self) {
            try await source.complete(rows: rows.map(\.id), deadLetters: [letter])
        }
        #expect(try schema.scalar("SELECT count(*) FROM outbox_relay_dead_letters") == "0")
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "3")
        try schema.execute("DROP TRIGGER refuse ON outbox_messages")
        try await source.complete(rows: rows.map(\.id), deadLetters: [letter])
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "0")
        let stored = try schema.execute(
            "SELECT row_id, event_id, event_type, destination, attempts::text, last_error, payload = $1::bytea "
                + "FROM outbox_relay_dead_letters",
            [rows[1].payload.postgresByteaHex]
        )
        #expect(stored.rowCount == 1)
        #expect((0..<7).map { stored.string(0, $0) } == ["2", "e", "t", "kafka", "12", "broker says no", "t"])
        await source.close()
    }

    @Test("a payload above maximumPayloadBytes stays on the server and is copied into its dead letter there")
    func oversizedPayloadIsDeadLetteredServerSide() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.execute(
            """
            INSERT INTO outbox_messages (consumed, payload) VALUES
            (false, '{"n":1}'), (false, json_build_object('s', repeat('é', 1000))), (false, '{"n":3}')
            """
        )
        let largeSize = try #require(
            Int(try schema.scalar("SELECT octet_length(payload::text) FROM outbox_messages WHERE id = 2") ?? "")
        )
        #expect(largeSize > 2_000, "two-byte characters count as two")
        let source = try schema.source(.outbox) { $0.maximumPayloadBytes = 1_000 }
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        #expect(rows.map(\.id) == [.integer(1), .integer(2), .integer(3)])
        #expect(rows.map(\.payload) == [Array(#"{"n":1}"#.utf8), [], Array(#"{"n":3}"#.utf8)])
        #expect(rows[1].oversizedPayload == OversizedPayload(size: largeSize, limit: 1_000))
        let now = Timestamp.now()
        let letter = DeadLetter(
            rowID: rows[1].id,
            payload: [],
            destination: nil,
            attempts: 0,
            lastError: rows[1].oversizedPayload!.reason,
            firstFailedAt: now,
            lastFailedAt: now,
            payloadStaysInOutbox: true
        )
        try await source.complete(rows: rows.map(\.id), deadLetters: [letter])
        #expect(
            try schema.scalar(
                "SELECT (d.payload = convert_to(m.payload::text, 'UTF8'))::text FROM outbox_relay_dead_letters d "
                    + "JOIN outbox_messages m ON m.id::text = d.row_id"
            ) == "true"
        )
        #expect(
            try schema.scalar("SELECT last_error FROM outbox_relay_dead_letters")
                == "payload of \(largeSize) bytes exceeds max_payload_bytes 1000 (set aside unread)"
        )
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = false") == "0")
        await source.close()
    }

    @Test("a byte-bounded read stops on the server at the row that reaches the bound, in both flavours")
    func byteBoundedRead() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(10)
        let source = try schema.source(.outbox)
        try await source.open()
        let all = try await source.fetch(limit: 10, after: nil)
        let size = all[0].payload.count
        #expect(all.allSatisfy { $0.payload.count == size })
        let bounded = try await source.fetch(limit: 10, maximumBytes: size * 2 + 1, after: nil)
        #expect(bounded.map(\.id) == Array(all.prefix(3).map(\.id)))
        #expect(try await source.fetch(limit: 10, maximumBytes: 0, after: nil).map(\.id) == [all[0].id])
        let after = try await source.fetch(limit: 10, maximumBytes: size * 2, after: all[4].cursor)
        #expect(after.map(\.id) == Array(all[5...6].map(\.id)))
        await source.close()

        try schema.createOutboxTable(.dispatcher)
        try schema.insertDispatcherRows(6)
        let dispatcher = try schema.source(.dispatcher) { $0.maximumPayloadBytes = 1_000_000 }
        try await dispatcher.open()
        let dispatcherRows = try await dispatcher.fetch(limit: 10, after: nil)
        let first = try #require(dispatcherRows.first)
        let cut = try await dispatcher.fetch(limit: 10, maximumBytes: first.payload.count, after: nil)
        #expect(cut.map(\.id) == [first.id], "rows one microsecond apart: no tie group to complete")
        await dispatcher.close()
    }

    @Test("a missing table, a missing column, bad credentials and missing privileges are named")
    func clearErrors() async throws {
        let schema = try TestSchema()
        let missingTable = try schema.source(.outbox)
        let tableError = await #expect(throws: PostgresError.self) { try await missingTable.open() }
        #expect(tableError?.code == .missingTable)
        #expect(tableError?.message.contains("\(schema.name).outbox_messages") == true)

        try schema.createOutboxTable(.outbox)
        let missingColumn = try schema.source(.outbox) { $0.columns.payload = "body" }
        let columnError = await #expect(throws: PostgresError.self) { try await missingColumn.open() }
        #expect(columnError?.code == .missingColumn)
        #expect(columnError?.message.contains("\"body\"") == true)

        let role = "outbox_relay_test_\(schema.name)"
        try schema.execute("CREATE ROLE \(role) LOGIN PASSWORD 'secret-pw'")
        defer { _ = try? schema.execute("DROP OWNED BY \(role); DROP ROLE \(role)") }
        try schema.execute(
            "GRANT USAGE ON SCHEMA \"\(schema.name)\" TO \(role); GRANT SELECT ON outbox_messages TO \(role)"
        )
        var configuration = missingColumn.configuration
        configuration.columns.payload = "payload"
        configuration.connection = PostgresConnectionString(
            schema.url.replacingOccurrences(of: "://postgres@", with: "://\(role):secret-pw@")
        )
        if configuration.connection.conninfo != schema.url {
            let unprivileged = try PostgresSource(configuration: configuration)
            let privilegeError = await #expect(throws: PostgresError.self) { try await unprivileged.open() }
            #expect(privilegeError?.code == .permissionDenied)
            #expect(privilegeError?.message.contains("UPDATE") == true)
            #expect(privilegeError?.description.contains("secret-pw") == false)
        }

        var badUser = missingColumn.configuration
        badUser.connection = PostgresConnectionString(
            "host=127.0.0.1 port=1 user=nobody password=hunter2 connect_timeout=2"
        )
        let unreachable = try PostgresSource(configuration: badUser)
        let connectError = await #expect(throws: PostgresError.self) { try await unreachable.open() }
        #expect(connectError?.code == .connectionFailed)
        #expect(connectError?.description.contains("hunter2") == false)
        #expect(connectError?.description.contains("password=***") == true)
    }

    @Test("server errors keep their message and SQLSTATE but not DETAIL, which quotes row data")
    func serverDetailIsNotInErrors() throws {
        let schema = try TestSchema()
        try schema.execute("CREATE TABLE \(schema.qualified("guarded")) (secret text CHECK (secret = 'ok'))")
        let error = #expect(throws: PostgresError.self) {
            try schema.execute("INSERT INTO \(schema.qualified("guarded")) VALUES ('planted-r0w-s3cret')")
        }
        #expect(error?.sqlState == "23514")
        #expect(error?.message.contains("violates check constraint") == true, "\(error?.message ?? "")")
        #expect(error?.description.contains("planted-r0w-s3cret") == false, "\(error?.description ?? "")")
        #expect(error?.description.contains("DETAIL") == false)
    }

    @Test("a statement that runs past statement_timeout fails with statementTimeout")
    func statementTimeout() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3)
        let source = try schema.source(.outbox) { $0.statementTimeout = .milliseconds(300) }
        try await source.open()
        try schema.execute("BEGIN; LOCK TABLE outbox_messages IN ACCESS EXCLUSIVE MODE")
        let error = await #expect(throws: PostgresError.self) { _ = try await source.fetch(limit: 10, after: nil) }
        #expect(error?.code == .statementTimeout)
        try schema.execute("ROLLBACK")
        #expect(try await source.fetch(limit: 10, after: nil).count == 3)
        await source.close()
    }

    @Test("LISTEN/NOTIFY wakes a waiting relay within milliseconds of an insert; without one it waits out the timeout")
    func notifyWakeUp() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.execute(
            PostgresSchema.notifyTrigger(
                table: SQLIdentifier(schema.qualified("outbox_messages")),
                channel: "outbox_\(schema.name)"
            )
        )
        let source = try schema.source(.outbox) { $0.notifyChannel = "outbox_\(schema.name)" }
        try await source.open()

        let clock = ContinuousClock()
        let idle = await clock.measure { await source.waitForRows(timeout: .milliseconds(400)) }
        #expect(idle >= .milliseconds(380))

        let url = schema.url
        let name = schema.name
        let inserter = Task {
            try await Task.sleep(for: .milliseconds(300))
            let other = try PostgresConnection.connect(PostgresConnectionString(url), applicationName: "inserter")
            try other.execute(
                "INSERT INTO \"\(name)\".outbox_messages (payload) VALUES ('{\"headers\":{},\"payload\":{}}')"
            )
            return ContinuousClock.now
        }
        await source.waitForRows(timeout: .seconds(10))
        let woke = ContinuousClock.now
        let inserted = try await inserter.value
        #expect(woke - inserted < .milliseconds(500), "woke \(woke - inserted) after the insert")
        #expect(try await source.fetch(limit: 10, after: nil).count == 1)
        await source.close()
    }

    @Test(
        "retention deletes delivered rows past the age (dispatcher) or beyond the newest N (outbox), in bounded batches"
    )
    func retention() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.dispatcher)
        try schema.insertDispatcherRows(30)
        let dispatcher = try schema.source(.dispatcher) {
            $0.retention = .init(maximumAge: .seconds(3600), batchSize: 4, maximumBatchesPerRun: 2, interval: .zero)
        }
        try await dispatcher.open()
        let rows = try await fetchAll(dispatcher, limit: 100)
        try await dispatcher.complete(rows: Array(rows.prefix(20)).map(\.id), deadLetters: [])
        // Just marked: nothing is old enough yet.
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox") == "30")
        try schema.execute(
            "UPDATE messages_outbox SET time_of_dispatching = time_of_dispatching - interval '2 hours' WHERE dispatched"
        )
        try await dispatcher.complete(rows: [rows[20].id], deadLetters: [])
        // One run deletes at most 2 batches of 4.
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox") == "22")
        try await dispatcher.complete(rows: [rows[21].id], deadLetters: [])
        try await dispatcher.complete(rows: [rows[22].id], deadLetters: [])
        // 8 + 8 + the last 4 old rows are gone; the 3 just marked and the 7 undelivered stay.
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox") == "10")
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox WHERE NOT dispatched") == "7")
        await dispatcher.close()

        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(30)
        let outbox = try schema.source(.outbox) {
            $0.retention = .init(keepNewest: 5, batchSize: 100, interval: .zero)
        }
        try await outbox.open()
        let outboxRows = try await fetchAll(outbox, limit: 100)
        try await outbox.complete(rows: Array(outboxRows.prefix(25)).map(\.id), deadLetters: [])
        #expect(
            try schema.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox_messages WHERE consumed")
                == "21,22,23,24,25"
        )
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE NOT consumed") == "5")
        await outbox.close()

        #expect(throws: PostgresError.self) {
            _ = try schema.source(.outbox) { $0.retention = .init(maximumAge: .seconds(1)) }
        }
    }

    @Test("status reports backlog, oldest age, dead letters and the lock holder")
    func status() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.dispatcher)
        try schema.insertDispatcherRows(12, start: "2020-01-01 00:00:00")
        let relay = try schema.source(.dispatcher)
        try await relay.open()
        let rows = try await relay.fetch(limit: 2, after: nil)
        let now = Timestamp.now()
        try await relay.complete(
            rows: rows.map(\.id),
            deadLetters: [
                DeadLetter(
                    rowID: rows[0].id,
                    payload: rows[0].payload,
                    destination: nil,
                    attempts: 0,
                    lastError: "x",
                    firstFailedAt: now,
                    lastFailedAt: now
                )
            ]
        )

        let observer = try schema.source(.dispatcher)
        let status = try await observer.status()
        #expect(status.backlog == 10)
        #expect(status.deadLetters == 1)
        #expect((status.oldestUndeliveredAge ?? .zero) > .seconds(86_400 * 365))
        #expect(status.lockHolder?.contains("outbox-relay") == true)
        #expect(await observer.isActiveRelay == false)
        await relay.close()
        #expect(try await observer.status().lockHolder == nil)
        await observer.close()
    }
}

extension String {
    /// Test times with six fraction digits.
    var padded: String {
        let parts = split(separator: ".", maxSplits: 1)
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        return parts[0] + "." + fraction + String(repeating: "0", count: 6 - fraction.count)
    }
}
