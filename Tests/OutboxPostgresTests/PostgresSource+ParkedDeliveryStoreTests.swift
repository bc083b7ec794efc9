import Foundation
import OutboxRelay
import SourceTestSupport
import Testing

@testable import OutboxPostgres

@Suite(
    "PostgresSource parked deliveries",
    .enabled(if: PostgresTestDatabase.isTestable, PostgresTestDatabase.skipMessage)
)
struct PostgresSourceParkedDeliveryStoreTests {
    static func entry(_ key: String, _ eventID: String, row: Int64, due: Timestamp) -> ParkedDelivery {
        ParkedDelivery(
            destination: "webhook",
            rowID: .integer(row),
            eventID: eventID,
            eventType: "acme.x",
            orderingKey: key,
            payload: Array(#"{"headers":{},"payload":{"\#(eventID)":1}}"#.utf8) + [0x00, 0xFF],
            attempts: 1,
            lastError: #"connection "refused" \ {x}"#,
            firstFailedAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456),
            nextAttemptAt: due
        )
    }

    @Test("the table is created on open; parked entries are written with the rows, read by due key, settled atomically")
    func roundTrip() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3)
        let source = try schema.source(.outbox)
        try await source.open()
        let ids = try await source.fetch(limit: 10, after: nil).map(\.id)
        let now = Timestamp.now()
        let later = now.adding(.seconds(60))
        let parked = [
            Self.entry("/a", "a-1", row: 1, due: now), Self.entry("/b", "b-1", row: 2, due: later),
            Self.entry("/a", "a-2", row: 3, due: later),
        ]
        try await source.complete(rows: ids, deadLetters: [], parked: parked)
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE NOT consumed") == "0")
        let backlog = try await source.parkedBacklog().sorted { $0.orderingKey < $1.orderingKey }
        #expect(backlog.map { "\($0.orderingKey) \($0.entries)" } == ["/a 2", "/b 1"])
        #expect(backlog[0].bytes == parked[0].payload.count + parked[2].payload.count)

        let due = try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 10, headsOnly: false)
        #expect(due.map(\.eventID) == ["a-1", "a-2"])
        let heads = try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: true)
        #expect(heads.map(\.eventID) == ["a-1", "b-1"], "only each due key's oldest entry")
        #expect(due[0].payload == parked[0].payload, "bytes untouched")
        #expect(due[0].firstFailedAt == parked[0].firstFailedAt)
        #expect(due[0].rowID == .integer(1))
        #expect(due[0].lastError == parked[0].lastError, "quotes and backslashes survive the array literal")

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
                .isEmpty
        )
        let again = try await source.dueParkedDeliveries(
            destination: "webhook",
            now: later.adding(.seconds(5)),
            limit: 10,
            headsOnly: false
        )
        #expect(again.map { "\($0.attempts) \($0.lastError)" } == [#"2 HTTP 503 "busy" \ {later}"#])
        let letters = try await source.deadLetters(matching: DeadLetterFilter(), includingPayloads: true)
        #expect(letters.map(\.deadLetter.payload) == [parked[2].payload])
        #expect(letters.map(\.deadLetter.destination) == ["webhook"])
        await source.close()
    }

    @Test("an entry whose payload is its row's is copied by the server from the row, byte for byte, in list order")
    func rowPayloadsAreCopiedByTheServer() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3)
        let source = try schema.source(.outbox)
        try await source.open()
        let rows = try await source.fetch(limit: 10, after: nil)
        let now = Timestamp.now()
        var parked = rows.map { row in
            var entry = Self.entry("/a", "e-\(row.id)", row: Int64(row.id.description)!, due: now)
            entry.payload = []  // not sent: the server copies the row's payload
            entry.payloadIsRowPayload = true
            return entry
        }
        parked.insert(Self.entry("/a", "expanded", row: Int64(rows[1].id.description)!, due: now), at: 1)
        try await source.complete(rows: rows.map(\.id), deadLetters: [], parked: parked)
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE NOT consumed") == "0")
        let stored = try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 10, headsOnly: false)
        #expect(stored.map(\.eventID) == parked.map(\.eventID), "ids follow the list")
        #expect(stored[0].payload == rows[0].payload)
        #expect(stored[1].payload == Self.entry("/a", "expanded", row: 0, due: now).payload, "sent bytes are kept")
        #expect(stored[2].payload == rows[1].payload)
        #expect(stored[3].payload == rows[2].payload)
        #expect(!stored[0].payload.isEmpty)
        await source.close()
    }

    @Test("status and dlq list --parked: per-destination summary, listing by id with filters, one entry with payload")
    func operatorQueries() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3)
        #expect(try await schema.source(.outbox).parkedSummary().isEmpty, "no parked table yet: nothing parked")
        let relay = try schema.source(.outbox)
        try await relay.open()
        let ids = try await relay.fetch(limit: 10, after: nil).map(\.id)
        let now = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
        var parked = [
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(30))),
            Self.entry("/b", "b-1", row: 2, due: now.adding(.seconds(10))),
            Self.entry("/a", "a-2", row: 3, due: now),
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(5))),
        ]
        parked[1].firstFailedAt = Timestamp(microsecondsSinceEpoch: 1_600_000_000_000_001)
        parked[1].eventType = "acme.other"
        parked[3].destination = "kafka"
        try await relay.complete(rows: ids, deadLetters: [], parked: parked)
        await relay.close()

        // A fresh source, never opened (as `outbox-relay status` uses it).
        let source = try schema.source(.outbox)
        let summary = try await source.parkedSummary()
        #expect(summary.map(\.destination) == ["kafka", "webhook"])
        #expect(summary.map(\.entries) == [1, 3])
        #expect(summary[1].bytes == parked[0].payload.count + parked[1].payload.count + parked[2].payload.count)
        #expect(summary[1].oldestFirstFailedAt == parked[1].firstFailedAt)
        #expect(summary[1].nextAttemptAt == now)
        #expect(summary[0].nextAttemptAt == now.adding(.seconds(5)))

        let webhook = try await source.parkedDeliveries(
            matching: ParkedDeliveryFilter(destination: "webhook"),
            includingPayloads: false
        )
        #expect(webhook.map(\.eventID) == ["a-1", "b-1", "a-2"], "by id: outbox order")
        #expect(webhook.allSatisfy { $0.payload.isEmpty })
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
        #expect(one.payload == parked[1].payload, "bytes untouched")
        #expect(one.firstFailedAt == parked[1].firstFailedAt)
        #expect(try await source.parkedDelivery(id: webhook.map { $0.id! }.max()! + 100) == nil)
    }

    @Test("a dead destination does not stall a healthy one; once up it gets every parked message in aggregate order")
    func deadDestinationDoesNotStallTheOthers() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3_000, aggregates: 30)
        let count = { (sql: String) in Int(try schema.scalar(sql) ?? "") ?? -1 }
        try await ParkingScenario.deadDestinationDoesNotStallTheOthers(
            source: try schema.source(.outbox),
            rows: 3_000,
            undeliveredRows: { try count("SELECT count(*) FROM outbox_messages WHERE NOT consumed") },
            parkedEntries: { try count("SELECT count(*) FROM \(schema.qualified(ParkedDelivery.defaultTable))") },
            deadLetters: { try count("SELECT count(*) FROM \(schema.qualified(DeadLetter.defaultTable))") }
        )
    }
}
