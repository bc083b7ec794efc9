import OutboxRelay
import Testing

/// A Swift port of the demo EventSauce 0.8 upcaster the fixtures were decoded with
/// (`original/pgsql/decoded-split-upcaster.json`): every
/// `acme.shop.orders.order_lines_were_imported` becomes one `acme.shop.orders.order_line_added`
/// per line, with event id `<id>#<index>`, the header `x-split-from` naming the original type,
/// and the payload `{"line": <line>, "source": <source>}`. Other messages pass unchanged.
struct SplitUpcasterExpander: MessageExpander {
    static let importedType = "acme.shop.orders.order_lines_were_imported"
    static let addedType = "acme.shop.orders.order_line_added"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func expand(_ message: OutboxMessage) throws -> [OutboxMessage] {
        guard message.eventType == Self.importedType else { return [message] }
        guard let payload = try message.payload().objectValue else {
            throw Failure(description: "\(Self.importedType) payload is not an object")
        }
        guard case .array(let lines)? = payload["lines"] else {
            throw Failure(description: "\(Self.importedType) payload has no lines array")
        }
        return try lines.enumerated().map { index, line in
            var headers = message.headers
            headers[EventSauceHeader.eventType] = .string(Self.addedType)
            headers[EventSauceHeader.eventID] = .string("\(message.eventID)#\(index)")
            headers["x-split-from"] = .string(Self.importedType)
            let split: JSONValue = .object(["line": line, "source": payload["source"] ?? .null])
            return try OutboxMessage(rowID: message.rowID, headers: headers, payload: split)
        }
    }
}

@Suite("SplitUpcasterExpander")
struct SplitUpcasterExpanderTests {
    static let imported =
        #"{"headers":{"__event_type":"acme.shop.orders.order_lines_were_imported","#
        + #""__time_of_recording":"2024-03-14 05:04:51.020552+0000","#
        + #""__aggregate_root_id":"db0a84a0-95f6-4fb2-8c69-f70dd05d1775","__aggregate_root_version":3,"#
        + #""__event_id":"0c25b9eb-7463-4574-ba4a-b80712dd2120","x-note":"\ud83d\ude9a","#
        + #""__aggregate_root_id_type":"acme.shop.orders.order_id"},"payload":{"source":"edi","#
        + #""lines":[{"sku":"SKU-PLANT-9","name":"Monstera \ud83c\udf3f (large)","quantity":6},"#
        + #"{"sku":"SKU-TEA-88","name":"\u7dd1\u8336 green tea","quantity":12,"discount_rate":0.21,"#
        + #""attributes":[]}]}}"#

    @Test("one imported message becomes one message per line, with the fields the rule sets")
    func splitsLines() throws {
        let row = OutboxRow(id: .text("0c25b9eb-7463-4574-ba4a-b80712dd2120"), payload: Array(Self.imported.utf8))
        let message = try EnvelopeDecoder(table: "messages_outbox").decode(row)
        let expanded = try SplitUpcasterExpander().expand(message)
        #expect(expanded.count == 2)
        for (index, split) in expanded.enumerated() {
            #expect(split.rowID == row.id)
            #expect(split.eventType == "acme.shop.orders.order_line_added")
            #expect(split.eventID == "0c25b9eb-7463-4574-ba4a-b80712dd2120#\(index)")
            #expect(!split.eventIDIsDerived)
            #expect(split.aggregateRootID == "db0a84a0-95f6-4fb2-8c69-f70dd05d1775")
            #expect(split.aggregateRootIDType == "acme.shop.orders.order_id")
            #expect(split.aggregateRootVersion == 3)
            #expect(split.timeOfRecording == message.timeOfRecording)
            #expect(split.orderingKey == message.orderingKey, "split messages keep their aggregate's order")
            #expect(split.headers["x-split-from"] == .string("acme.shop.orders.order_lines_were_imported"))
            #expect(split.headers["x-note"] == .string("🚚"))
            #expect(split.headers.keys.last == "x-split-from")
            // The new envelope is what PHP's json_encode writes: pure ASCII, `\/` and `\uXXXX`.
            #expect(split.envelope.allSatisfy { $0 < 0x80 })
            let reparsed = try EnvelopeDecoder(table: "messages_outbox").decode(
                OutboxRow(id: row.id, payload: split.envelope)
            )
            #expect(reparsed.eventID == split.eventID)
            #expect(Array(reparsed.payloadBytes) == Array(split.payloadBytes))
        }
        #expect(
            String(decoding: expanded[0].payloadBytes, as: UTF8.self)
                == #"{"line":{"sku":"SKU-PLANT-9","name":"Monstera \ud83c\udf3f (large)","quantity":6},"source":"edi"}"#
        )
        #expect(
            try expanded[1].payload()
                == .object([
                    "line": .object([
                        "sku": .string("SKU-TEA-88"), "name": .string("緑茶 green tea"), "quantity": .number("12"),
                        "discount_rate": .number("0.21"), "attributes": .array([]),
                    ]),
                    "source": .string("edi"),
                ])
        )
    }

    @Test("other messages pass through untouched, bytes included")
    func passThrough() throws {
        let text =
            #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","__event_id":"e"},"payload":{"a":"\/"}}"#
        let message = try EnvelopeDecoder(table: "messages_outbox").decode(
            OutboxRow(id: .text("e"), payload: Array(text.utf8))
        )
        let expanded = try SplitUpcasterExpander().expand(message)
        #expect(expanded.count == 1)
        #expect(expanded.first?.envelope == Array(text.utf8))
        #expect(expanded.first?.eventID == "e")
    }

    @Test("an import with no lines becomes no message; a malformed one throws")
    func edgeCases() throws {
        let empty =
            #"{"headers":{"__event_type":"acme.shop.orders.order_lines_were_imported","__event_id":"e"},"#
            + #""payload":{"source":"edi","lines":[]}}"#
        let decoder = EnvelopeDecoder(table: "messages_outbox")
        #expect(
            try SplitUpcasterExpander().expand(decoder.decode(OutboxRow(id: .text("e"), payload: Array(empty.utf8))))
                .isEmpty
        )
        let malformed =
            #"{"headers":{"__event_type":"acme.shop.orders.order_lines_were_imported","__event_id":"e"},"payload":[]}"#
        let message = try decoder.decode(OutboxRow(id: .text("e"), payload: Array(malformed.utf8)))
        #expect(throws: SplitUpcasterExpander.Failure.self) { try SplitUpcasterExpander().expand(message) }
    }

    @Test("building a message without __event_id is refused with .missingHeader")
    func needsEventID() {
        do {
            _ = try OutboxMessage(rowID: .integer(1), headers: ["__event_type": .string("t")], payload: .array([]))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .missingHeader)
        }
    }

    @Test(
        "running it over every original/pgsql row reproduces decoded-split-upcaster.json (200 rows → 221 messages)",
        .enabled(if: EventSauceFixtures.isTestable, EventSauceFixtures.skipMessage)
    )
    func reproducesPHP() throws {
        try EventSauceFixtures.requirePresent()
        let rows = try EventSauceFixtures.rows("original", "pgsql")
        let expected = try EventSauceFixtures.decoded("original", "pgsql", file: "decoded-split-upcaster.json")
        #expect(rows.count == 200)
        #expect(expected.count == 200)
        let decoder = EnvelopeDecoder(table: OutboxFlavour.dispatcher.defaultTable)
        let expander = SplitUpcasterExpander()
        var total = 0
        var splitRows = 0
        for (fixture, entry) in zip(rows, expected) {
            #expect(entry["row_id"]?.stringValue == fixture.row.id.description)
            guard case .array(let phpMessages)? = entry["messages"] else {
                Issue.record("row \(fixture.row.id): no messages")
                continue
            }
            let original = try decoder.decode(fixture.row)
            let messages = try expander.expand(original)
            total += messages.count
            if original.eventType == SplitUpcasterExpander.importedType {
                splitRows += 1
            } else {
                #expect(messages.first?.envelope == fixture.row.payload)
            }
            guard messages.count == phpMessages.count else {
                Issue.record("row \(fixture.row.id): \(messages.count) messages, PHP saw \(phpMessages.count)")
                continue
            }
            for (message, phpValue) in zip(messages, phpMessages) {
                let php = try #require(phpValue.objectValue)
                #expect(message.eventType == php["event_type"]?.stringValue)
                #expect(message.eventID == php["event_id"]?.stringValue)
                #expect(message.aggregateRootID == php["aggregate_root_id"]?.stringValue)
                #expect(message.aggregateRootIDType == php["aggregate_root_id_type"]?.stringValue)
                #expect(message.aggregateRootType == php["aggregate_root_type"]?.stringValue)
                #expect(message.aggregateRootVersion == php["aggregate_root_version"]?.int64Value)
                #expect(message.timeOfRecordingText == php["time_of_recording"]?.stringValue)
                #expect(
                    JSONValue.object(message.headers).isSemanticallyEqual(to: php["headers"] ?? .null),
                    "row \(fixture.row.id) \(message.eventID): headers differ"
                )
                #expect(
                    try message.payload().isSemanticallyEqual(to: php["payload"] ?? .null),
                    "row \(fixture.row.id) \(message.eventID): payload differs"
                )
            }
        }
        #expect(total == 221)
        #expect(splitRows == 12)
    }
}
