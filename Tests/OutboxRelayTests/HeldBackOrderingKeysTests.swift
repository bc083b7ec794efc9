import Synchronization
import Testing

@testable import OutboxRelay

@Suite("HeldBackOrderingKeys")
struct HeldBackOrderingKeysTests {
    static func message(_ aggregate: String, _ version: Int) throws -> OutboxMessage {
        try EnvelopeDecoder(table: "outbox_messages").decode(
            OutboxRow(id: .integer(Int64(version)), payload: outboxPayload(aggregate: aggregate, version: version)),
            interner: HeaderValueInterner()
        )
    }

    @Test func aFailureHoldsBackOnlyItsOwnKey() throws {
        var heldBack = HeldBackOrderingKeys()
        #expect(heldBack.isEmpty)
        #expect(!heldBack.holdsBack(try Self.message("a", 2)))
        heldBack.holdBack(after: try Self.message("a", 1))
        #expect(heldBack.holdsBack(try Self.message("a", 2)))
        #expect(!heldBack.holdsBack(try Self.message("b", 1)))
    }

    @Test func theSynchronousDispatcherHandsNoLaterMessageOfAFailedAggregateOn() async throws {
        final class FailingFirstOfA: MessageConsumer {
            let seen = Mutex<[String]>([])
            struct Refused: Error {}
            func handle(_ message: OutboxMessage) async throws {
                seen.withLock { $0.append(message.eventID) }
                if message.eventID == "a-1" { throw Refused() }
            }
        }
        let consumer = FailingFirstOfA()
        let dispatcher = SynchronousDispatcher(consumer: consumer)
        let batch = [try Self.message("a", 1), try Self.message("b", 1), try Self.message("a", 2)]
        let results = await dispatcher.deliver(batch)
        #expect(results.map(\.isDelivered) == [false, true, false])
        #expect(consumer.seen.withLock { $0 } == ["a-1", "b-1"], "a-2 waits for a-1")
    }
}
