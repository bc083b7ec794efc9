import OutboxRelay
import Testing

@Suite("OutboxMessage")
struct OutboxMessageTests {
    static func message(aggregateRootID: String?, idType: String? = nil, rootType: String? = nil) -> OutboxMessage {
        OutboxMessage(
            rowID: .integer(1),
            eventID: "e-1",
            eventType: "t",
            aggregateRootID: aggregateRootID,
            aggregateRootIDType: idType,
            aggregateRootType: rootType,
            aggregateRootVersion: 1,
            headers: [:],
            envelope: Array(#"{"headers":{},"payload":[1]}"#.utf8),
            payloadRange: 24..<27
        )
    }

    @Test("orderingKey: aggregate root type, else id type, qualifies the id; no aggregate falls back to the event id")
    func orderingKey() {
        #expect(
            Self.message(aggregateRootID: "a", idType: "acme.order_id", rootType: "acme.order").orderingKey
                == "acme.order/a"
        )
        #expect(Self.message(aggregateRootID: "a", idType: "acme.order_id").orderingKey == "acme.order_id/a")
        #expect(Self.message(aggregateRootID: "a").orderingKey == "/a")
        #expect(Self.message(aggregateRootID: nil, idType: "acme.order_id").orderingKey == "event:e-1")
        // Same id, different aggregate types: different keys.
        #expect(
            Self.message(aggregateRootID: "1", rootType: "x").orderingKey
                != Self.message(aggregateRootID: "1", rootType: "y").orderingKey
        )
    }

    @Test("payloadBytes is the envelope slice at payloadRange")
    func payloadBytes() throws {
        let message = Self.message(aggregateRootID: nil)
        #expect(Array(message.payloadBytes) == Array("[1]".utf8))
        #expect(try message.payload() == .array([.number("1")]))
    }

    @Test("init(rowID:headers:payload:) writes a PHP-style envelope and reads the typed fields from the headers")
    func buildFromHeaders() throws {
        let headers: JSONObject = [
            "__event_type": .string("acme.shop.orders.order_line_added"), "__event_id": .string("id#0"),
            "__aggregate_root_id": .string("o/1"), "__aggregate_root_version": .number("4"),
            "__time_of_recording": .string("2024-03-14 05:04:50.163498+0000"),
        ]
        let message = try OutboxMessage(
            rowID: .integer(3),
            headers: headers,
            payload: .object(["name": .string("Café/🌿")])
        )
        #expect(
            String(decoding: message.envelope, as: UTF8.self)
                == #"{"headers":{"__event_type":"acme.shop.orders.order_line_added","__event_id":"id#0","#
                + #""__aggregate_root_id":"o\/1","__aggregate_root_version":4,"#
                + #""__time_of_recording":"2024-03-14 05:04:50.163498+0000"},"#
                + #""payload":{"name":"Caf\u00e9\/\ud83c\udf3f"}}"#
        )
        #expect(String(decoding: message.payloadBytes, as: UTF8.self) == #"{"name":"Caf\u00e9\/\ud83c\udf3f"}"#)
        #expect(message.eventID == "id#0")
        #expect(message.aggregateRootID == "o/1")
        #expect(message.aggregateRootVersion == 4)
        #expect(message.timeOfRecording == Timestamp(microsecondsSinceEpoch: 1_710_392_690_163_498))
        #expect(message.rowID == .integer(3))
    }

    @Test("headersRange: the stored headers of a decoded message, until headers or envelope are replaced")
    func headersRange() throws {
        let text = #"{"headers":{"__event_type":"t","__event_id":"e","x-a":"1"},"payload":{}}"#
        let decoded = try EnvelopeDecoder(table: "outbox").decode(OutboxRow(id: .integer(1), payload: Array(text.utf8)))
        let range = try #require(decoded.headersRange)
        #expect(
            String(decoding: decoded.envelope[range], as: UTF8.self)
                == #"{"__event_type":"t","__event_id":"e","x-a":"1"}"#
        )
        #expect(decoded.headers["x-a"] == .string("1"))
        #expect(decoded.headersRange == range)

        var replaced = decoded
        replaced.headers["x-a"] = .string("2")
        #expect(replaced.headersRange == nil)
        #expect(decoded.headersRange == range)
        var rewritten = decoded
        rewritten.envelope = Array(#"{"headers":{},"payload":{}}"#.utf8)
        #expect(rewritten.headersRange == nil)
        #expect(rewritten.headers["x-a"] == .string("1"))
        var renumbered = decoded
        renumbered.rowID = .integer(2)
        #expect(renumbered.headersRange == range)
        #expect(Self.message(aggregateRootID: nil).headersRange == nil)
    }

    @Test("init(rowID:headers:payload:) refuses headers the decoder would refuse")
    func buildRefusals() {
        func code(_ headers: JSONObject) -> EnvelopeDecodingError.Code? {
            do {
                _ = try OutboxMessage(rowID: .integer(1), headers: headers, payload: .null)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(["__event_id": .string("e")]) == .missingHeader)
        #expect(code(["__event_type": .string("t")]) == .missingHeader)
        #expect(code(["__event_type": .number("1"), "__event_id": .string("e")]) == .invalidHeader)
        #expect(
            code(["__event_type": .string("t"), "__event_id": .string("e"), "__aggregate_root_version": .string("v")])
                == .invalidHeader
        )
    }
}
