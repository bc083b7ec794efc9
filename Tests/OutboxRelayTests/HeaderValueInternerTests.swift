import Testing

@testable import OutboxRelay

@Suite("HeaderValueInterner")
struct HeaderValueInternerTests {
    @Test(
        """
        equal bytes give equal strings; different lengths and contents stay apart; \
        past capacity values are still right
        """
    )
    func strings() {
        let interner = HeaderValueInterner()
        func string(_ text: String) -> String {
            Array(text.utf8).withUnsafeBytes { interner.string($0) }
        }
        #expect(string("acme.orders.order_was_placed") == "acme.orders.order_was_placed")
        #expect(string("acme.orders.order_was_placed") == "acme.orders.order_was_placed")
        #expect(string("acme.orders.order_was_placed!") == "acme.orders.order_was_placed!")
        #expect(string("acme.orders.order_was_placeX") == "acme.orders.order_was_placeX")
        #expect(string("") == "")
        for index in 0..<(HeaderValueInterner.capacity + 10) {
            #expect(string("type.\(index)") == "type.\(index)")
        }
        #expect(string("type.\(HeaderValueInterner.capacity + 5)") == "type.\(HeaderValueInterner.capacity + 5)")
    }

    @Test("a batch decoded through one interner reads the same fields as rows decoded alone, escaped values included")
    func decodingThroughAnInterner() throws {
        let decoder = EnvelopeDecoder(table: "outbox_messages")
        let interner = HeaderValueInterner()
        let types = [
            "acme.shop.orders.order_was_placed", #"acme\/shop.orders.order_was_shipped"#,
            "acme.shop.orders.order_was_placed", #"caf\u00e9.opened"#,
        ]
        for (index, type) in types.enumerated() {
            let text =
                #"{"headers":{"__event_type":"\#(type)","__event_id":"e\#(index)","__aggregate_root_id":"r","#
                + #""__aggregate_root_type":"acme.order","__aggregate_root_id_type":"acme.order_id","#
                + #""__aggregate_root_version":\#(index + 1),"#
                + #""__time_of_recording":"2024-03-14 05:04:50.163498+00:00","#
                + #""__time_of_recording_format":"Y-m-d H:i:s.uP"},"payload":{}}"#
            let row = OutboxRow(id: .integer(Int64(index + 1)), payload: Array(text.utf8))
            let alone = try decoder.decode(row)
            let shared = try decoder.decode(row, interner: interner)
            #expect(shared.eventType == alone.eventType)
            #expect(shared.aggregateRootType == "acme.order")
            #expect(shared.aggregateRootIDType == "acme.order_id")
            #expect(shared.timeOfRecording == alone.timeOfRecording)
            #expect(shared.timeOfRecording != nil)
        }
        #expect(
            try decoder.decode(
                OutboxRow(
                    id: .integer(2),
                    payload: Array(
                        (#"{"headers":{"__event_type":"acme\/shop.orders.order_was_shipped","#
                            + #""__event_id":"x"},"payload":{}}"#)
                            .utf8
                    )
                ),
                interner: interner
            ).eventType == "acme/shop.orders.order_was_shipped"
        )
    }
}
