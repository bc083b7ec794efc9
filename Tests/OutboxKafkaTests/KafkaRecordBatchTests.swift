import OutboxRelay
import Testing

@testable import OutboxKafka

/// How messages become records: custom headers read from the stored bytes, header values
/// written in place (no broker needed).
@Suite("Kafka transport: custom headers from the stored bytes")
struct KafkaCustomHeaderScanTests {
    static func headers(_ batch: KafkaRecordBatch, _ record: Int) throws -> [(String, String)] {
        let record = try #require(batch.records[record])
        return batch.headers[record.headers].map {
            (
                String(decoding: batch.bytes[$0.name], as: UTF8.self),
                String(decoding: batch.bytes[$0.value], as: UTF8.self)
            )
        }
    }

    @Test("a decoded message's custom headers, scanned from its envelope, equal those read from OutboxMessage.headers")
    func scanMatchesParsedHeaders() throws {
        let stored =
            #"{"headers": {"__event_type":"acme.order_placed", "x-plain" : "abc-123", "__event_id":"e-1","#
            + #""x-escaped":"a\/b \"q\" \u00fc\n","x-utf8":"Grüße","x-number":-1.50e3,"x-true":true,"#
            + #""x-false":false,"x-null":null,"#
            + #""x-object":{"b":[1,{"c":"\/"}],"a":"ü"},"x-array":[],"x-empty":"","\u005f_hidden":"no","#
            + #""_single":"yes","x\u0000nul":"no","#
            + #""x-key-\u00e9":"k","x-plain":"again","__aggregate_root_id":"o-1"},"payload":{"a":1}}"#
        let message = try EnvelopeDecoder(table: "outbox").decode(
            OutboxRow(id: .integer(1), payload: Array(stored.utf8))
        )
        #expect(message.headersRange != nil)
        var configuration = KafkaTransport.Configuration(bootstrapServers: ["x:1"], topic: "t")
        configuration.headers.standard = false
        configuration.headers.custom = true
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        var direct = KafkaRecordBatch()
        #expect(direct.appendCustomHeaders(scanning: message.envelope, try #require(message.headersRange)))
        let scanned = try Self.headers(encoder.encode([message]), 0)
        // The same message with its headers parsed and set again: read from OutboxMessage.headers.
        var parsed = message
        parsed.headers = message.headers
        #expect(parsed.headersRange == nil)
        let expected = try Self.headers(encoder.encode([parsed]), 0)
        #expect(scanned.map(\.0) == expected.map(\.0))
        #expect(scanned.map(\.1) == expected.map(\.1))
        #expect(
            expected.map(\.0) == [
                "x-plain", "x-escaped", "x-utf8", "x-number", "x-true", "x-false", "x-null", "x-object", "x-array",
                "x-empty", "_single", "x-key-é", "x-plain",
            ]
        )
        #expect(expected.first { $0.0 == "x-escaped" }?.1 == "a/b \"q\" ü\n")
        #expect(expected.first { $0.0 == "x-number" }?.1 == "-1.50e3")
        #expect(expected.first { $0.0 == "x-null" }?.1 == "")
    }
}

extension KafkaCustomHeaderScanTests {
    @Test(
        "special bytes at every position of 8-byte words: escapes, UTF-8, quotes, backslashes",
        arguments: [#"\""#, #"\\"#, "ü", #"\u0001"#, #"\/"#, "🌿", "~"]
    )
    func specialBytePositions(_ special: String) throws {
        var configuration = KafkaTransport.Configuration(bootstrapServers: ["x:1"], topic: "t")
        configuration.headers.standard = false
        configuration.headers.custom = true
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        for length in 0..<20 {
            for position in 0...length {
                let text =
                    String(repeating: "a", count: position) + special + String(repeating: "b", count: length - position)
                let stored =
                    #"{"headers":{"__event_type":"t\#(text)","__event_id":"e","x-\#(text)":"\#(text)","#
                    + #""x-n":"\#(text)"},"payload":{}}"#
                let message = try EnvelopeDecoder(table: "outbox").decode(
                    OutboxRow(id: .integer(1), payload: Array(stored.utf8))
                )
                var parsed = message
                parsed.headers = message.headers
                var direct = KafkaRecordBatch()
                #expect(
                    direct.appendCustomHeaders(scanning: message.envelope, try #require(message.headersRange)),
                    "\(stored)"
                )
                let scanned = try Self.headers(encoder.encode([message]), 0)
                let expected = try Self.headers(encoder.encode([parsed]), 0)
                #expect(scanned.map(\.0) == expected.map(\.0), "\(stored)")
                #expect(scanned.map(\.1) == expected.map(\.1), "\(stored)")
                #expect(expected.count == 2)
            }
        }
    }
}

@Suite("Kafka transport: header encoding")
struct KafkaHeaderEncodingTests {
    @Test(
        "RFC 3339 and decimal headers match Timestamp.rfc3339 and String(_:)",
        arguments: [
            Int64(0), 1_710_392_690_163_498, -1, -86_400_000_001, 253_402_300_799_999_999, 253_402_300_800_000_000,
            .max,
            951_782_400_000_000, -62_135_596_800_000_000, -62_198_755_200_000_000,
        ]
    )
    func rfc3339(_ micros: Int64) {
        var batch = KafkaRecordBatch()
        let time = Timestamp(microsecondsSinceEpoch: micros)
        batch.appendHeader("t", rfc3339: time)
        batch.appendHeader("n", decimal: micros)
        #expect(String(decoding: batch.bytes[batch.headers[0].value], as: UTF8.self) == time.rfc3339)
        #expect(String(decoding: batch.bytes[batch.headers[1].value], as: UTF8.self) == String(micros))
    }
}
