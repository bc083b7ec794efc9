import Foundation
import SourceTestSupport
import Synchronization
import Testing

@testable import OutboxMySQL

@Suite("MySQL source", .serialized, .enabled(if: MySQLTestDatabase.isTestable, MySQLTestDatabase.skipMessage))
struct MySQLSourceTests {
    /// Message row ids an in-process consumer saw.
    final class Received: Sendable {
        private let ids = Mutex<[Int64]>([])
        func add(_ message: OutboxMessage) {
            if case .integer(let id) = message.rowID { ids.withLock { $0.append(id) } }
        }
        var all: [Int64] { ids.withLock { $0 } }
    }

    @Test("a row committed late with a lower auto-increment id is not skipped")
    func lateCommittedLowerIDIsDelivered() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        // This transaction takes id 1 and stays open while ids 2…30 commit.
        let slow = try database.connect()
        try slow.execute("START TRANSACTION")
        let latePayload = slow.literal(outboxPayload(aggregate: "late", version: 1))
        try slow.execute("INSERT INTO outbox_messages (payload) VALUES (\(latePayload))")
        let lateID = try #require(Int64(try slow.scalar("SELECT LAST_INSERT_ID()") ?? ""))
        for index in 0..<29 {
            try database.execute(
                "INSERT INTO outbox_messages (payload) VALUES "
                    + "(\(database.admin.literal(outboxPayload(aggregate: "a\(index)", version: 1))))"
            )
        }
        let received = Received()
        let engine = try RelayEngine(
            source: try database.source(.outbox),
            transports: [SynchronousDispatcher(consumer: MessageConsumerClosure { received.add($0) })],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 10, idlePollInterval: .milliseconds(10) ... .milliseconds(100))
        )
        let task = Task { try await engine.run() }
        defer { task.cancel() }
        try await eventually("29 rows arrived") { received.all.count >= 29 }
        #expect(!received.all.contains(lateID), "the open transaction's row is invisible until it commits")
        // Several idle polls pass with the cursor beyond the late row; then it commits.
        try await Task.sleep(for: .milliseconds(300))
        try slow.execute("COMMIT")
        try await eventually("the late row arrived") { received.all.contains(lateID) }
        try await eventually("every row is marked") {
            (try? database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0")) == "0"
        }
        #expect(Set(received.all).count == 30)
        task.cancel()
        _ = try? await task.value
    }

    @Test("dead letters and marks in one transaction; the dead-letter table is created in the MySQL dialect")
    func deadLettersAndMarks() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        try database.execute(
            "INSERT INTO outbox_messages (payload) VALUES ('not json'), "
                + "(\(database.admin.literal(outboxPayload(aggregate: "a", version: 1))))"
        )
        let source = try database.source(.outbox, afterDelivery: .delete)
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        #expect(rows.map(\.id) == [.integer(1), .integer(2)])
        #expect(rows[0].payload == Array("not json".utf8))
        let now = Timestamp.now()
        let letter = DeadLetter(
            rowID: .integer(1),
            payload: rows[0].payload + [0, 0xFF, UInt8(ascii: "'"), UInt8(ascii: "\\")],
            destination: nil,
            attempts: 0,
            lastError: "undecodable: it's not JSON",
            firstFailedAt: now,
            lastFailedAt: now
        )
        try await source.complete(rows: rows.map(\.id), deadLetters: [letter])
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages") == "0")
        #expect(try database.scalar("SELECT last_error FROM outbox_relay_dead_letters") == letter.lastError)
        #expect(try database.scalar("SELECT hex(payload) FROM outbox_relay_dead_letters") == "6E6F74206A736F6E00FF275C")
        #expect(try database.scalar("SELECT source_table FROM outbox_relay_dead_letters") == "outbox_messages")
        let status = try await source.status()
        #expect(status.backlog == 0)
        #expect(status.deadLetters == 1)
        await source.close()
    }

    @Test("a payload above maximumPayloadBytes stays on the server and is copied into its dead letter there")
    func oversizedPayloadIsDeadLetteredServerSide() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        try database.execute(
            "INSERT INTO outbox_messages (payload) VALUES ('{\"n\":1}'), "
                + "(CONCAT('{\"s\":\"', REPEAT('a', 2000), '\"}')), ('{\"n\":3}')"
        )
        var configuration = try MySQLSource.Configuration(
            connection: MySQLConnectionURL(database.url),
            flavour: .outbox,
            lock: .init(mode: .none)
        )
        configuration.maximumPayloadBytes = 1_000
        let source = try MySQLSource(configuration: configuration)
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        #expect(rows.map(\.id) == [.integer(1), .integer(2), .integer(3)])
        #expect(rows.map(\.payload) == [Array(#"{"n":1}"#.utf8), [], Array(#"{"n":3}"#.utf8)])
        #expect(rows[1].oversizedPayload == OversizedPayload(size: 2_008, limit: 1_000))
        let bounded = try await source.fetch(limit: 10, maximumBytes: 1, after: nil)
        #expect(bounded.map(\.id) == [.integer(1)])
        let skipping = try await source.fetch(limit: 10, maximumBytes: 8, after: nil)
        #expect(skipping.map(\.id) == [.integer(1), .integer(2), .integer(3)], "an oversized row adds no bytes")
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
            try database.scalar(
                "SELECT d.payload = m.payload FROM outbox_relay_dead_letters d "
                    + "JOIN outbox_messages m ON m.id = d.row_id"
            ) == "1"
        )
        #expect(try database.scalar("SELECT LENGTH(payload) FROM outbox_relay_dead_letters") == "2008")
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        await source.close()
    }

    @Test("bad rows are set aside in the dead-letter table with their reason; the others are delivered")
    func badRowsAreSetAside() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        let good = (0..<5).map { "(\(database.admin.literal(outboxPayload(aggregate: "a", version: $0 + 1))))" }
        try database.execute(
            "INSERT INTO outbox_messages (payload) VALUES \(good[0]), ('{\"headers\":'), \(good[1]), "
                + "('[1,2,3]'), \(good[2...].joined(separator: ", "))"
        )
        let received = Received()
        let engine = try RelayEngine(
            source: try database.source(.outbox),
            transports: [SynchronousDispatcher(consumer: MessageConsumerClosure { received.add($0) })],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])])
        )
        let summary = try await engine.drain()
        #expect(summary.deadLetters == 2)
        #expect(received.all == [1, 3, 5, 6, 7])
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        #expect(
            try database.scalar("SELECT GROUP_CONCAT(row_id ORDER BY row_id) FROM outbox_relay_dead_letters") == "2,4"
        )
        #expect(try database.scalar("SELECT count(*) FROM outbox_relay_dead_letters WHERE last_error = ''") == "0")
        #expect(try database.scalar("SELECT payload FROM outbox_relay_dead_letters WHERE row_id = '4'") == "[1,2,3]")
    }

    @Test("a missing table or column is a clear error naming it")
    func missingTableAndColumn() async throws {
        let database = try TestDatabase()
        let missingTable = await #expect(throws: MySQLError.self) { try await database.source(.outbox).open() }
        #expect(missingTable?.code == .missingTable)
        #expect(missingTable?.message.contains("outbox_messages") == true)
        try database.execute("CREATE TABLE outbox_messages (id bigint unsigned PRIMARY KEY, payload text)")
        let missingColumn = await #expect(throws: MySQLError.self) { try await database.source(.outbox).open() }
        #expect(missingColumn?.code == .missingColumn)
        #expect(missingColumn?.message.contains("consumed") == true)
    }

    @Test("a wrong password is an authentication error that does not show the password")
    func wrongPassword() async throws {
        let database = try TestDatabase()
        var url = try MySQLConnectionURL(database.url)
        url.password = "definitely-wrong-pw"
        let source = try MySQLSource(configuration: .init(connection: url))
        let error = await #expect(throws: MySQLError.self) { try await source.open() }
        #expect(error?.code == .authenticationFailed)
        #expect(error.map { "\($0)" }?.contains("definitely-wrong-pw") == false)
    }

    @Test("dispatcher rows: (time_of_recording, id) order, a tie group read whole at a batch boundary")
    func dispatcherOrderAndTies() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.dispatcher)
        var values: [String] = []
        for index in 0..<12 {
            // Rows 3…8 share one time; ids are not in time order.
            let time = index >= 3 && index <= 8 ? "2024-01-01 00:00:03.000000" : "2024-01-01 00:00:\(10 + index).5"
            let id = String(format: "%08d-0000-0000-0000-%012d", 99 - index, index)
            values.append(
                "('\(id)', \(database.admin.literal(outboxPayload(aggregate: "a", version: index + 1))), '\(time)', 0)"
            )
        }
        try database.execute(
            "INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched) VALUES "
                + values.joined(separator: ", ")
        )
        let source = try database.source(.dispatcher)
        try await source.open()
        let first = try await source.fetch(limit: 2, after: nil)
        #expect(first.count == 6, "the batch of 2 ends inside a tie group of 6, read to its end")
        #expect(Set(first.map(\.timeOfRecording)) == ["2024-01-01 00:00:03.000000"])
        #expect(first.map(\.id.description) == first.map(\.id.description).sorted())
        // A cursor inside the tie group: its rest first, then later times (the read is bounded
        // by the time of the limit + 1-th later row, which must not cut the group's rest).
        let inside = try await source.fetch(limit: 2, after: first[1].cursor)
        #expect(inside.map(\.id) == first[2...].map(\.id), "the rest of the tie group, read whole")
        let after = try await source.fetch(limit: 2, after: first[5].cursor)
        #expect(after.map(\.timeOfRecording) == ["2024-01-01 00:00:10.500000", "2024-01-01 00:00:11.500000"])
        let rest = try await fetchAll(source, limit: 4)
        let all = first + rest.filter { row in !first.contains { $0.id == row.id } }
        #expect(all.count == 12)
        let keys = all.map { ($0.timeOfRecording ?? "", $0.id.description) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
        await source.close()
    }

    @Test("the data connection killed mid-drain: the source reconnects, re-takes the lock, and nothing is lost")
    func connectionKilledMidDrain() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        let values = (0..<400).map {
            "(\(database.admin.literal(outboxPayload(aggregate: "a\($0 % 7)", version: $0))))"
        }
        try database.execute("INSERT INTO outbox_messages (payload) VALUES " + values.joined(separator: ", "))
        let source = try database.source(.outbox)
        let received = Received()
        let engine = try RelayEngine(
            source: source,
            transports: [
                SynchronousDispatcher(
                    consumer: MessageConsumerClosure { message in
                        received.add(message)
                        try await Task.sleep(for: .milliseconds(1))
                    }
                )
            ],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 20)
        )
        let drain = Task { try await engine.drain() }
        try await eventually("60 rows arrived") { received.all.count >= 60 }
        let killed = try #require(await source.connectionID)
        try database.execute("KILL \(killed)")
        // While the drain goes on, a new session replaces the killed one.
        try await eventually("a new session replaced the killed one") {
            await source.connectionID.map { $0 != killed } == true
        }
        _ = try await drain.value
        #expect(Set(received.all) == Set(1...400), "every row delivered at least once")
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
    }

    @Test(
        "dispatcher rows are completed by their time range plus ids (mark and delete); ids not read here by id alone",
        arguments: [AfterDelivery.mark, .delete]
    )
    func dispatcherCompletesByTimeRange(afterDelivery: AfterDelivery) async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .mysql))
        let values = (0..<40).map { index in
            "('id-\(index)', \(database.admin.literal(outboxPayload(aggregate: "a", version: index + 1))),"
                + " '2024-03-14 05:04:\(10 + index % 20).\(100_000 + index)', 0)"
        }
        try database.execute(
            "INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched) VALUES "
                + values.joined(separator: ", ")
        )
        let source = try database.source(.dispatcher, afterDelivery: afterDelivery)
        try await source.open()
        let first = try await source.fetch(limit: 15, after: nil)
        try await source.complete(rows: first.map(\.id), deadLetters: [])
        let left =
            afterDelivery == .mark
            ? "SELECT count(*) FROM messages_outbox WHERE dispatched = 0"
            : "SELECT count(*) FROM messages_outbox"
        #expect(try database.scalar(left) == String(40 - first.count))
        // Another source never read these rows: it completes them by id alone.
        let other = try database.source(.dispatcher, afterDelivery: afterDelivery, lock: .init(mode: .none))
        try await other.open()
        let rest = try await fetchAll(source, limit: 100)
        try await other.complete(rows: rest.map(\.id), deadLetters: [])
        #expect(try database.scalar(left) == "0")
        await other.close()
        await source.close()
    }

    @Test("GET_LOCK: one active relay; a standby takes over when the holder's session ends")
    func standbyTakesOver() async throws {
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        let active = try database.source(.outbox)
        try await active.open()
        #expect(await active.isActiveRelay)
        let standby = try database.source(.outbox)
        let opened = Task { try await standby.open() }
        try await Task.sleep(for: .milliseconds(400))
        #expect(await !standby.isActiveRelay)
        let holder = try await standby.status().lockHolder
        #expect(holder?.contains("connection \(await active.connectionID ?? 0)") == true, "\(holder ?? "nil")")
        // Kill the holder's session from outside, as a crash or network loss would end it.
        try database.execute("KILL \(await active.connectionID ?? 0)")
        try await opened.value
        #expect(await standby.isActiveRelay)
        // A graceful close releases the lock before it disconnects: nobody holds it right after.
        await standby.close()
        let observer = try database.source(.outbox)
        #expect(try await observer.status().lockHolder == nil)
        await observer.close()
        await active.close()
    }
}
