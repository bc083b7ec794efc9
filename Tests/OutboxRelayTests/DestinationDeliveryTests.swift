import Logging
import Synchronization
import Testing

@testable import OutboxRelay

/// Parking inside a destination's window delivery: the in-window budget, and the messages
/// parked behind a parked one.
@Suite("DestinationDelivery")
struct DestinationDeliveryTests {
    /// Fails every message of the aggregates in `failing` (retryable), delivers the rest.
    final class FailingAggregates: Transport {
        let name = "webhook"
        let failing: Set<String>
        let calls = Mutex(0)

        init(failing: Set<String>) { self.failing = failing }

        func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
            calls.withLock { $0 += 1 }
            return batch.map {
                failing.contains($0.aggregateRootID ?? "") ? .retryable("503", retryAfter: .seconds(7)) : .delivered
            }
        }
    }

    static func messages(_ aggregates: [String]) throws -> [OutboxMessage] {
        let decoder = EnvelopeDecoder(table: "outbox_messages")
        return try aggregates.enumerated().map { index, aggregate in
            try decoder.decode(
                OutboxRow(
                    id: .integer(Int64(index + 1)),
                    payload: outboxPayload(aggregate: aggregate, version: index + 1)
                )
            )
        }
    }

    static func delivery(
        _ transport: FailingAggregates,
        parkAfter: ParkAfter,
        parks: Bool = true
    ) -> DestinationDelivery {
        DestinationDelivery(
            transport: transport,
            policy: RetryPolicy(initialDelay: .zero, jitter: 0, maximumAttempts: 5, parkAfter: parkAfter),
            storedPayloads: [:],
            clock: ContinuousClock(),
            logger: Logger(label: "test"),
            parks: parks
        )
    }

    @Test func aMessageIsParkedOnceItsBudgetIsSpentAndItsAggregatesLaterMessagesBehindIt() async throws {
        let transport = FailingAggregates(failing: ["a"])
        let messages = try Self.messages(["b", "a", "b", "a", "c"])
        let before = Timestamp.now()
        let outcome = await Self.delivery(transport, parkAfter: .attempts(2)).run(messages)
        guard case .completed(let delivered, let deadLetters, let parked) = outcome else {
            Issue.record("expected a completed delivery, got \(outcome)")
            return
        }
        #expect(delivered == 3)
        #expect(deadLetters.isEmpty)
        #expect(parked.map(\.eventID) == ["a-2", "a-4"])
        #expect(parked.map(\.attempts) == [2, 0], "the one behind was never attempted on its own")
        #expect(parked.allSatisfy { $0.destination == "webhook" && $0.orderingKey == "/a" })
        #expect(parked[0].payload == messages[1].envelope)
        #expect(parked[0].lastError == "503")
        #expect(parked[0].nextAttemptAt >= before.adding(.seconds(7)), "Retry-After is honoured")
        #expect(transport.calls.withLock { $0 } == 2)
    }

    @Test func withoutParkingTheMessageIsRetriedUntilItIsDeadLettered() async throws {
        let transport = FailingAggregates(failing: ["a"])
        let outcome = await Self.delivery(transport, parkAfter: .attempts(1), parks: false)
            .run(try Self.messages(["a", "b"]))
        guard case .completed(let delivered, let deadLetters, let parked) = outcome else {
            Issue.record("expected a completed delivery, got \(outcome)")
            return
        }
        #expect(parked.isEmpty)
        #expect(deadLetters.map(\.attempts) == [5])
        #expect(delivered == 1)
    }

    @Test func parkAfterNeverKeepsRetryingInTheWindow() async throws {
        let transport = FailingAggregates(failing: ["a"])
        let outcome = await Self.delivery(transport, parkAfter: .never).run(try Self.messages(["a"]))
        guard case .completed(_, let deadLetters, let parked) = outcome else {
            Issue.record("expected a completed delivery, got \(outcome)")
            return
        }
        #expect(parked.isEmpty)
        #expect(deadLetters.count == 1)
        #expect(transport.calls.withLock { $0 } == 5)
    }

    @Test func aDestinationThatIsDownParksAtTheFirstFailure() async throws {
        let transport = FailingAggregates(failing: ["a"])
        var delivery = Self.delivery(transport, parkAfter: .attempts(4))
        delivery.parkAtFirstFailure = true
        guard case .completed(_, _, let parked) = await delivery.run(try Self.messages(["a"])) else {
            Issue.record("expected a completed delivery")
            return
        }
        #expect(parked.map(\.attempts) == [1])
        #expect(transport.calls.withLock { $0 } == 1)
    }

    @Test func aDurationBudgetParksOnceTheMessageHasFailedThatLong() async throws {
        let transport = FailingAggregates(failing: ["a"])
        let outcome = await Self.delivery(transport, parkAfter: .duration(.zero)).run(try Self.messages(["a"]))
        guard case .completed(_, _, let parked) = outcome else {
            Issue.record("expected a completed delivery, got \(outcome)")
            return
        }
        #expect(parked.map(\.attempts) == [1])
    }
}
