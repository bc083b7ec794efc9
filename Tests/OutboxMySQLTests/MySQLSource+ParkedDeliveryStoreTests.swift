import Foundation
import OutboxRelay
import SourceTestSupport
import Testing

@testable import OutboxMySQL

@Suite(
    "MySQLSource parked deliveries",
    .serialized,
    .enabled(if: MySQLTestDatabase.isTestable, MySQLTestDatabase.skipMessage)
)
struct MySQLSourceParkedDeliveryStoreTests {
    static func entry(_ key: String, _ eventID: String, row: Int64, due: Timestamp) -> ParkedDelivery {
        ParkedDelivery(
            destination: "webhook",
            rowID: .integer(row),
            eventID: eventID,
            eventType: "acme.x",
            orderingKey: key,
            payload: Array(#"{"headers":{},"payload":{"\#(eventID)":1}}"#.utf8) + [0x00, 0xFF, 0x27, 0x5C],
            attempts: 1,
            lastError: #"connection "refused" \ {x} 'quoted'"#,
            firstFailedAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456),
            nextAttemptAt: due
        )
    }

    static func insertRows(_ database: TestDatabase, count: Int, aggregates: Int) throws {
        var start = 0
        while start < count {
            let end = min(start + 1000, count)
            let values = (start..<end).map { index in
                "(\(database.admin.literal(outboxPayload(aggregate: "agg-\(index % aggregates)", version: index + 1))))"
            }
            try database.execute("INSERT INTO outbox_messages (payload) VALUES " + values.joined(separator: ", "))
            start = end
        }
    }

    @Test("the table is created on open; parked entries are written with the rows, read by due key, settled atomically")
    func roundTrip() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try Self.insertRows(database, count: 4, aggregates: 4)
        let source = try database.source(.outbox)
        try await source.open()
        let ids = try await source.fetch(limit: 10, after: nil).map(\.id)
        // Second-precision "now" plus microseconds: the datetime(6) columns keep them.
        let now = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch)
        let later = now.adding(.seconds(60))
        let parked = [
            Self.entry("/a", "a-1", row: 1, due: now), Self.entry("/b", "b-1", row: 2, due: later),
            Self.entry("/a", "a-2", row: 3, due: later),
            // Differs from "/a" only in case: a queue of its own (the table's collation would merge them).
            Self.entry("/A", "A-1", row: 4, due: later),
        ]
        try await source.complete(rows: ids, deadLetters: [], parked: parked)
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        let backlog = try await source.parkedBacklog().sorted { $0.orderingKey < $1.orderingKey }
        #expect(backlog.map { "\($0.orderingKey) \($0.entries)" } == ["/A 1", "/a 2", "/b 1"])
        #expect(backlog[1].bytes == parked[0].payload.count + parked[2].payload.count)

        let due = try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 10, headsOnly: false)
        #expect(due.map(\.eventID) == ["a-1", "a-2"], "the due key's whole backlog, not /A's")
        let heads = try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: true)
        #expect(heads.map(\.eventID) == ["a-1", "b-1", "A-1"], "only each due key's oldest entry")
        #expect(
            try await source.dueParkedDeliveries(destination: "WEBHOOK", now: later, limit: 10, headsOnly: false)
                .isEmpty,
            "destinations compare byte for byte"
        )
        #expect(due[0].payload == parked[0].payload, "bytes untouched, including non-UTF-8 ones")
        #expect(due[0].firstFailedAt == parked[0].firstFailedAt)
        #expect(due[0].nextAttemptAt == now)
        #expect(due[0].rowID == .integer(1))
        #expect(due[0].lastError == parked[0].lastError, "quotes and backslashes survive")

        let letter = due[1].deadLetter(reason: "gave up", attempts: 4, at: now)
        try await source.settleParkedDeliveries(
            ParkedSettlement(delivered: [due[0].id!], deadLettered: [(due[1].id!, letter)])
        )
        let retry = try #require(
            try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: false).first
        )
        #expect(retry.eventID == "b-1")
        try await source.settleParkedDeliveries(
            ParkedSettlement(retries: [
                .init(
                    id: retry.id!,
                    attempts: 2,
                    lastError: #"HTTP 503 "busy" \ {later}"#,
                    nextAttemptAt: later.adding(.seconds(5))
                )
            ])
        )
        #expect(
            try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: false)
                .map(\.eventID) == ["A-1"]
        )
        let again = try await source.dueParkedDeliveries(
            destination: "webhook",
            now: later.adding(.seconds(5)),
            limit: 10,
            headsOnly: false
        )
        #expect(
            again.map { "\($0.attempts) \($0.lastError)" } == [
                "2 HTTP 503 \"busy\" \\ {later}", "1 \(parked[3].lastError)",
            ]
        )
        let letters = try await source.deadLetters(matching: DeadLetterFilter(), includingPayloads: true)
        #expect(letters.map(\.deadLetter.payload) == [parked[2].payload])
        #expect(letters.map(\.deadLetter.destination) == ["webhook"])
        await source.close()
    }

    @Test("status and dlq list --parked: per-destination summary, listing by id with filters, one entry with payload")
    func operatorQueries() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try Self.insertRows(database, count: 3, aggregates: 3)
        #expect(try await database.source(.outbox).parkedSummary().isEmpty, "no parked table yet: nothing parked")
        let relay = try database.source(.outbox)
        try await relay.open()
        let ids = try await relay.fetch(limit: 10, after: nil).map(\.id)
        let now = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
        var parked = [
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(30))),
            Self.entry("/b", "b-1", row: 2, due: now.adding(.seconds(10))),
            Self.entry("/a", "a-2", row: 3, due: now),
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(5))),
            // Differs from "webhook" only in case: a destination of its own.
            Self.entry("/a", "a-1", row: 1, due: now),
        ]
        parked[1].firstFailedAt = Timestamp(microsecondsSinceEpoch: 1_600_000_000_000_001)
        parked[1].eventType = "acme.other"
        parked[3].destination = "kafka"
        parked[4].destination = "WEBHOOK"
        try await relay.complete(rows: ids, deadLetters: [], parked: parked)
        await relay.close()

        // A fresh source, never opened (as `outbox-relay status` uses it).
        let source = try database.source(.outbox)
        let summary = try await source.parkedSummary()
        #expect(summary.map(\.destination) == ["WEBHOOK", "kafka", "webhook"], "byte order, byte for byte")
        #expect(summary.map(\.entries) == [1, 1, 3])
        #expect(summary[2].bytes == parked[0].payload.count + parked[1].payload.count + parked[2].payload.count)
        #expect(summary[2].oldestFirstFailedAt == parked[1].firstFailedAt)
        #expect(summary[2].nextAttemptAt == now)
        #expect(summary[1].nextAttemptAt == now.adding(.seconds(5)))

        let webhook = try await source.parkedDeliveries(
            matching: ParkedDeliveryFilter(destination: "webhook"),
            includingPayloads: false
        )
        #expect(webhook.map(\.eventID) == ["a-1", "b-1", "a-2"], "by id: outbox order")
        #expect(webhook.allSatisfy { $0.payload.isEmpty && $0.destination == "webhook" })
        #expect(webhook[0].orderingKey == "/a" && webhook[0].rowID == .integer(1) && webhook[0].attempts == 1)
        #expect(webhook[0].lastError == parked[0].lastError)
        #expect(webhook[0].nextAttemptAt == parked[0].nextAttemptAt)
        let limited = try await source.parkedDeliveries(
            matching: ParkedDeliveryFilter(limit: 2),
            includingPayloads: false
        )
        #expect(limited.map(\.eventID) == ["a-1", "b-1"])
        let other = try await source.parkedDeliveries(
            matching: ParkedDeliveryFilter(eventType: try EventTypePattern("acme.o*"), limit: 1),
            includingPayloads: false
        )
        #expect(other.map(\.eventID) == ["b-1"])

        let one = try #require(try await source.parkedDelivery(id: webhook[1].id!))
        #expect(one.payload == parked[1].payload, "bytes untouched, including non-UTF-8 ones")
        #expect(one.firstFailedAt == parked[1].firstFailedAt)
        #expect(try await source.parkedDelivery(id: webhook.map { $0.id! }.max()! + 100) == nil)
    }

    @Test("a failed completion writes neither the parked entries nor the marks")
    func parkedEntriesShareTheTransaction() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try Self.insertRows(database, count: 2, aggregates: 1)
        let source = try database.source(.outbox)
        try await source.open()
        let ids = try await source.fetch(limit: 10, after: nil).map(\.id)
        // Marking fails after the parked entry was inserted: a trigger refuses the UPDATE.
        try database.execute(
            "CREATE TRIGGER refuse_marks BEFORE UPDATE ON outbox_messages FOR EACH ROW "
                + "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'marking refused'"
        )
        let parked = [Self.entry("/a", "a-1", row: 1, due: .now())]
        await #expect(throws: MySQLError.self) {
            try await source.complete(rows: ids, deadLetters: [], parked: parked)
        }
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "2")
        #expect(try database.scalar("SELECT count(*) FROM \(ParkedDelivery.defaultTable)") == "0", "rolled back")
        try database.execute("DROP TRIGGER refuse_marks")
        try await source.complete(rows: ids, deadLetters: [], parked: parked)
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        #expect(try database.scalar("SELECT count(*) FROM \(ParkedDelivery.defaultTable)") == "1")
        await source.close()
    }

    @Test("a dead destination does not stall a healthy one; once up it gets every parked message in aggregate order")
    func deadDestinationDoesNotStallTheOthers() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try Self.insertRows(database, count: 3_000, aggregates: 30)
        let count = { (sql: String) in Int(try database.scalar(sql) ?? "") ?? -1 }
        try await ParkingScenario.deadDestinationDoesNotStallTheOthers(
            source: try database.source(.outbox),
            rows: 3_000,
            undeliveredRows: { try count("SELECT count(*) FROM outbox_messages WHERE consumed = 0") },
            parkedEntries: { try count("SELECT count(*) FROM \(ParkedDelivery.defaultTable)") },
            deadLetters: { try count("SELECT count(*) FROM \(DeadLetter.defaultTable)") }
        )
    }
}
