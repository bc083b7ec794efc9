import OutboxRelay
import Testing

@Suite("OutboxFlavour")
struct OutboxFlavourTests {
    @Test("flavours name PHP's default tables")
    func flavours() {
        #expect(OutboxFlavour.outbox.defaultTable == "outbox_messages")
        #expect(OutboxFlavour.dispatcher.defaultTable == "messages_outbox")
        #expect(OutboxFlavour(rawValue: "dispatcher") == .dispatcher)
        #expect(AfterDelivery(rawValue: "delete") == .delete)
        #expect(DeadLetter.defaultTable == "outbox_relay_dead_letters")
    }
}
