import Foundation
import OutboxRelay
import Testing

@testable import OutboxSQLite

@Suite("SQLiteSource parked deliveries")
struct SQLiteSourceParkedDeliveryStoreTests {
    static func entry(
        _ key: String,
        _ eventID: String,
        row: Int64,
        due: Timestamp,
        destination: String = "webhook"
    )
        -> ParkedDelivery
    {
        ParkedDelivery(
            destination: destination,
            rowID: .integer(row),
            eventID: eventID,
            eventType: "acme.x",
            orderingKey: key,
            payload: Array(#"{"headers":{},"payload":{"\#(eventID)":1}}"#.utf8) + [0xFF],  // not UTF-8: stored as is
            attempts: 1,
            lastError: "connection refused",
            firstFailedAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000),
            nextAttemptAt: due
        )
    }

    @Test("parked entries are written with the rows' completion, read by due key in order, and settled atomically")
    func roundTrip() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let ids = try await source.insert(payloads: [Array("{}".utf8), Array("{}".utf8), Array("{}".utf8)])
        try await source.open()
        let now = Timestamp.now()
        let later = now.adding(.seconds(60))
        let parked = [
            Self.entry("/a", "a-1", row: 1, due: now), Self.entry("/b", "b-1", row: 2, due: later),
            Self.entry("/a", "a-2", row: 3, due: later), Self.entry("/b", "b-2", row: 3, due: now),
            Self.entry("/a", "a-1", row: 1, due: now, destination: "kafka"),
        ]
        try await source.complete(rows: ids, deadLetters: [], parked: parked)
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0)

        let backlog = try await source.parkedBacklog().sorted {
            ($0.destination, $0.orderingKey) < ($1.destination, $1.orderingKey)
        }
        #expect(
            backlog.map { "\($0.destination) \($0.orderingKey) \($0.entries)" } == [
                "kafka /a 1", "webhook /a 2", "webhook /b 2",
            ]
        )
        #expect(backlog[1].bytes == parked[0].payload.count + parked[2].payload.count)

        // /a's oldest entry is due: both its entries come, in order; /b's oldest is not due.
        let due = try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 10, headsOnly: false)
        #expect(due.map(\.eventID) == ["a-1", "a-2"])
        let heads = try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: true)
        #expect(heads.map(\.eventID) == ["a-1", "b-1"], "only each due key's oldest entry")
        #expect(due[0].payload == parked[0].payload, "bytes untouched")
        #expect(due[0].rowID == .integer(1))
        #expect(due[0].firstFailedAt == parked[0].firstFailedAt)
        #expect(
            try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 1, headsOnly: false).map(
                \.eventID
            ) == ["a-1"]
        )

        let letter = due[1].deadLetter(reason: "gave up", attempts: 5, at: now)
        try await source.settleParkedDeliveries(
            ParkedSettlement(
                delivered: [due[0].id!],
                retries: [],
                deadLettered: [(due[1].id!, letter)]
            )
        )
        #expect(
            try await source.dueParkedDeliveries(destination: "webhook", now: now, limit: 10, headsOnly: false).isEmpty
        )
        let bDue = try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: false)
        #expect(bDue.map(\.eventID) == ["b-1", "b-2"])
        try await source.settleParkedDeliveries(
            ParkedSettlement(retries: [
                .init(id: bDue[0].id!, attempts: 2, lastError: "HTTP 503", nextAttemptAt: later.adding(.seconds(1)))
            ])
        )
        #expect(
            try await source.dueParkedDeliveries(destination: "webhook", now: later, limit: 10, headsOnly: false)
                .isEmpty
        )
        let retried = try await source.dueParkedDeliveries(
            destination: "webhook",
            now: later.adding(.seconds(1)),
            limit: 10,
            headsOnly: false
        )
        #expect(retried.first.map { ($0.attempts, $0.lastError) } ?? (0, "") == (2, "HTTP 503"))

        let letters = try await source.deadLetters(matching: DeadLetterFilter(), includingPayloads: true)
        #expect(letters.map(\.deadLetter) == [letter])
        #expect(try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 3)
    }

    @Test("status and dlq list --parked: per-destination summary, listing by id with filters, one entry with payload")
    func operatorQueries() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        try database.execute("DROP TABLE outbox_relay_parked_deliveries")
        #expect(try await source.parkedSummary().isEmpty, "no parked table: nothing parked")
        let ids = try await source.insert(payloads: [Array("{}".utf8), Array("{}".utf8), Array("{}".utf8)])
        try await source.open()
        let now = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)
        var parked = [
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(30))),
            Self.entry("/b", "b-1", row: 2, due: now.adding(.seconds(10))),
            Self.entry("/a", "a-2", row: 3, due: now),
            Self.entry("/a", "a-1", row: 1, due: now.adding(.seconds(5)), destination: "kafka"),
        ]
        parked[1].firstFailedAt = Timestamp(microsecondsSinceEpoch: 1_600_000_000_000_001)
        parked[1].eventType = "acme.other"
        try await source.complete(rows: ids, deadLetters: [], parked: parked)

        // A second source, never opened (as `outbox-relay status` uses it), while the first is open.
        let reader = try database.source()
        let summary = try await reader.parkedSummary()
        #expect(summary.map(\.destination) == ["kafka", "webhook"])
        #expect(summary.map(\.entries) == [1, 3])
        #expect(summary[1].bytes == parked[0].payload.count + parked[1].payload.count + parked[2].payload.count)
        #expect(summary[1].oldestFirstFailedAt == parked[1].firstFailedAt)
        #expect(summary[1].nextAttemptAt == now)
        #expect(summary[0].nextAttemptAt == now.adding(.seconds(5)))

        let webhook = try await reader.parkedDeliveries(
            matching: ParkedDeliveryFilter(destination: "webhook"),
            includingPayloads: false
        )
        #expect(webhook.map(\.eventID) == ["a-1", "b-1", "a-2"], "by id: outbox order")
        #expect(webhook.allSatisfy { $0.payload.isEmpty })
        #expect(webhook[0].orderingKey == "/a" && webhook[0].rowID == .integer(1) && webhook[0].attempts == 1)
        #expect(webhook[0].nextAttemptAt == parked[0].nextAttemptAt)
        let limited = try await reader.parkedDeliveries(
            matching: ParkedDeliveryFilter(limit: 2),
            includingPayloads: false
        )
        #expect(limited.map(\.eventID) == ["a-1", "b-1"])
        let other = try await reader.parkedDeliveries(
            matching: ParkedDeliveryFilter(eventType: try EventTypePattern("acme.o*"), limit: 1),
            includingPayloads: false
        )
        #expect(other.map(\.eventID) == ["b-1"])

        let one = try #require(try await reader.parkedDelivery(id: webhook[1].id!))
        #expect(one.payload == parked[1].payload, "bytes untouched (not UTF-8)")
        #expect(one.firstFailedAt == parked[1].firstFailedAt)
        #expect(try await reader.parkedDelivery(id: webhook.map { $0.id! }.max()! + 100) == nil)
        await source.close()
    }
}
