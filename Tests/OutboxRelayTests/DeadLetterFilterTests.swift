import OutboxRelay
import Testing

/// What each `DeadLetterFilter` criterion selects, and the reason derived from the columns.
@Suite struct DeadLetterFilterTests {
    static func entry(
        eventType: String?,
        destination: String?,
        lastFailedAt: Int64 = 1_000
    ) -> DeadLetterEntry {
        DeadLetterEntry(
            id: 1,
            sourceTable: "outbox_messages",
            deadLetter: DeadLetter(
                rowID: .integer(7),
                payload: [],
                eventType: eventType,
                destination: destination,
                attempts: 0,
                lastError: "x",
                firstFailedAt: Timestamp(microsecondsSinceEpoch: lastFailedAt),
                lastFailedAt: Timestamp(microsecondsSinceEpoch: lastFailedAt)
            )
        )
    }

    static let undecodable = entry(eventType: nil, destination: nil)
    static let unrouted = entry(eventType: "acme.billing.x", destination: nil)
    static let failed = entry(eventType: "acme.shop.placed", destination: "hook", lastFailedAt: 2_000)

    @Test func reasonComesFromTheColumns() {
        #expect(Self.undecodable.reason == .undecodable)
        #expect(Self.unrouted.reason == .unrouted)
        #expect(Self.failed.reason == .failed)
    }

    @Test func eachCriterionSelects() throws {
        let all = [Self.undecodable, Self.unrouted, Self.failed]
        func selected(_ filter: DeadLetterFilter) -> [DeadLetterReason] { all.filter(filter.matches).map(\.reason) }
        #expect(selected(DeadLetterFilter()) == [.undecodable, .unrouted, .failed])
        #expect(selected(DeadLetterFilter(destination: "hook")) == [.failed])
        #expect(selected(DeadLetterFilter(destination: "other")) == [])
        #expect(selected(DeadLetterFilter(eventType: try EventTypePattern("acme.*"))) == [.unrouted, .failed])
        #expect(selected(DeadLetterFilter(eventType: try EventTypePattern("*"))) == [.unrouted, .failed])
        #expect(selected(DeadLetterFilter(reason: .unrouted)) == [.unrouted])
        #expect(selected(DeadLetterFilter(since: Timestamp(microsecondsSinceEpoch: 2_000))) == [.failed])
        #expect(
            selected(DeadLetterFilter(until: Timestamp(microsecondsSinceEpoch: 2_000))) == [.undecodable, .unrouted]
        )
    }
}
