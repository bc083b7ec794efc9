import OutboxRelay
import Testing
@testable import OutboxKafka

/// Topic and key templates, and how messages become records (no broker needed).
@Suite("Kafka transport: templates and records")
struct KafkaMessageTemplateTests {
    static func message(headers extra: JSONObject = [:], eventType: String = "acme.shop.orders.order_was_placed") throws -> OutboxMessage {
        var members: [(key: String, value: JSONValue)] = [
            (EventSauceHeader.eventType, .string(eventType)),
            (EventSauceHeader.eventID, .string("e-1")),
            (EventSauceHeader.aggregateRootID, .string("order-1")),
            (EventSauceHeader.aggregateRootType, .string("acme.shop.orders.order")),
            (EventSauceHeader.aggregateRootVersion, .number("3")),
        ]
        members.append(contentsOf: extra.members)
        return try OutboxMessage(rowID: .integer(1), headers: JSONObject(members), payload: .object(["a": .number("1")]))
    }

    @Test("placeholders render; substituted characters Kafka rejects become _")
    func renderTopic() throws {
        let template = try KafkaMessageTemplate("events.{aggregate_root_type}.{header.x-tenant}", purpose: .topic)
        let message = try Self.message(headers: ["x-tenant": .string("Beta Tenant/ü")])
        #expect(template.render(message) == "events.acme.shop.orders.order.Beta_Tenant__")
        #expect(try KafkaMessageTemplate("{event_type}", purpose: .topic).render(message) == "acme.shop.orders.order_was_placed")
        #expect(try KafkaMessageTemplate("{header.x-count}", purpose: .topic).render(try Self.message(headers: ["x-count": .number("42")])) == "42")
    }

    @Test("topics are cut to 249 characters")
    func longTopic() throws {
        let template = try KafkaMessageTemplate("t.{event_type}", purpose: .topic)
        let rendered = template.render(try Self.message(eventType: String(repeating: "a", count: 400)))
        #expect(rendered.count == 249)
        #expect(KafkaMessageTemplate.isValidTopic(rendered))
    }

    @Test("invalid templates are rejected with the setting named")
    func invalidTemplates() throws {
        for (text, purpose) in [("orders.{nope}", KafkaMessageTemplate.Purpose.topic), ("orders {event_type}", .topic), ("{event_type", .key), ("{aggregate_root_id}", .topic)] {
            let error = #expect(throws: KafkaTransportError.self) { try KafkaMessageTemplate(text, purpose: purpose) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.setting == (purpose == .topic ? "topic" : "key"))
        }
    }

    @Test("keys render as is; an empty key is a null key")
    func keys() throws {
        let configuration = KafkaTransport.Configuration(bootstrapServers: ["x:1"], topic: "t", key: "{header.x-tenant}")
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        let batch = encoder.encode([try Self.message(headers: ["x-tenant": .string("a b/ü")]), try Self.message()])
        let first = try #require(batch.records[0])
        #expect(Array(batch.bytes[try #require(first.key)]) == Array("a b/ü".utf8))
        #expect(try #require(batch.records[1]).key == nil)
    }

    @Test("standard, custom and fixed headers; no EventSauce __ headers")
    func headers() throws {
        var configuration = KafkaTransport.Configuration(bootstrapServers: ["x:1"], topic: "t")
        configuration.headers.fixed = ["x-source": "relay"]
        let withActor = try Self.message(headers: ["x-actor": .object(["id": .number("7")])])
        // Automatic: an envelope value carries the custom headers already; a payload value does not.
        #expect(configuration.headers.custom == nil)
        let automatic = try KafkaRecordEncoder(configuration: configuration).encode([withActor])
        #expect(!automatic.headers[try #require(automatic.records[0]).headers].contains { String(decoding: automatic.bytes[$0.name], as: UTF8.self) == "x-actor" })
        configuration.valueFormat = .payload
        let payload = try KafkaRecordEncoder(configuration: configuration).encode([withActor])
        #expect(payload.headers[try #require(payload.records[0]).headers].contains { String(decoding: payload.bytes[$0.name], as: UTF8.self) == "x-actor" })
        configuration.valueFormat = .envelope
        configuration.headers.custom = true
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        let batch = encoder.encode([withActor])
        let record = try #require(batch.records[0])
        let headers = batch.headers[record.headers].map {
            (String(decoding: batch.bytes[$0.name], as: UTF8.self), String(decoding: batch.bytes[$0.value], as: UTF8.self))
        }
        #expect(headers.map(\.0) == ["event_id", "event_type", "aggregate_root_id", "aggregate_root_type", "aggregate_root_version", "x-actor", "x-source"])
        #expect(headers.first { $0.0 == "x-actor" }?.1 == #"{"id":7}"#)
        #expect(headers.first { $0.0 == "aggregate_root_version" }?.1 == "3")
        #expect(batch.headers[record.headers].allSatisfy { batch.bytes[$0.name.upperBound] == 0 })

        configuration.headers = .init(standard: false, custom: false)
        let bare = try KafkaRecordEncoder(configuration: configuration).encode([try Self.message()])
        #expect(try #require(bare.records[0]).headers.isEmpty)
    }
}

@Suite("Kafka transport: custom headers from the stored bytes")
struct KafkaCustomHeaderScanTests {
    static func headers(_ batch: KafkaRecordBatch, _ record: Int) throws -> [(String, String)] {
        let record = try #require(batch.records[record])
        return batch.headers[record.headers].map {
            (String(decoding: batch.bytes[$0.name], as: UTF8.self), String(decoding: batch.bytes[$0.value], as: UTF8.self))
        }
    }

    @Test("a decoded message's custom headers, scanned from its envelope, equal those read from OutboxMessage.headers")
    func scanMatchesParsedHeaders() throws {
        let stored = #"{"headers": {"__event_type":"acme.order_placed", "x-plain" : "abc-123", "__event_id":"e-1","#
            + #""x-escaped":"a\/b \"q\" \u00fc\n","x-utf8":"Grüße","x-number":-1.50e3,"x-true":true,"x-false":false,"x-null":null,"#
            + #""x-object":{"b":[1,{"c":"\/"}],"a":"ü"},"x-array":[],"x-empty":"","\u005f_hidden":"no","_single":"yes","x\u0000nul":"no","#
            + #""x-key-\u00e9":"k","x-plain":"again","__aggregate_root_id":"o-1"},"payload":{"a":1}}"#
        let message = try EnvelopeDecoder(table: "outbox").decode(OutboxRow(id: .integer(1), payload: Array(stored.utf8)))
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
        #expect(expected.map(\.0) == ["x-plain", "x-escaped", "x-utf8", "x-number", "x-true", "x-false", "x-null", "x-object", "x-array", "x-empty", "_single", "x-key-é", "x-plain"])
        #expect(expected.first { $0.0 == "x-escaped" }?.1 == "a/b \"q\" ü\n")
        #expect(expected.first { $0.0 == "x-number" }?.1 == "-1.50e3")
        #expect(expected.first { $0.0 == "x-null" }?.1 == "")
    }
}

extension KafkaCustomHeaderScanTests {
    @Test("special bytes at every position of 8-byte words: escapes, UTF-8, quotes, backslashes", arguments: [#"\""#, #"\\"#, "ü", #"\u0001"#, #"\/"#, "🌿", "~"])
    func specialBytePositions(_ special: String) throws {
        var configuration = KafkaTransport.Configuration(bootstrapServers: ["x:1"], topic: "t")
        configuration.headers.standard = false
        configuration.headers.custom = true
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        for length in 0..<20 {
            for position in 0...length {
                let text = String(repeating: "a", count: position) + special + String(repeating: "b", count: length - position)
                let stored = #"{"headers":{"__event_type":"t\#(text)","__event_id":"e","x-\#(text)":"\#(text)","x-n":"\#(text)"},"payload":{}}"#
                let message = try EnvelopeDecoder(table: "outbox").decode(OutboxRow(id: .integer(1), payload: Array(stored.utf8)))
                var parsed = message
                parsed.headers = message.headers
                var direct = KafkaRecordBatch()
                #expect(direct.appendCustomHeaders(scanning: message.envelope, try #require(message.headersRange)), "\(stored)")
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
    @Test("RFC 3339 and decimal headers match Timestamp.rfc3339 and String(_:)", arguments: [
        Int64(0), 1_710_392_690_163_498, -1, -86_400_000_001, 253_402_300_799_999_999, 253_402_300_800_000_000, .max,
        951_782_400_000_000, -62_135_596_800_000_000, -62_198_755_200_000_000,
    ])
    func rfc3339(_ micros: Int64) {
        var batch = KafkaRecordBatch()
        let time = Timestamp(microsecondsSinceEpoch: micros)
        batch.appendHeader("t", rfc3339: time)
        batch.appendHeader("n", decimal: micros)
        #expect(String(decoding: batch.bytes[batch.headers[0].value], as: UTF8.self) == time.rfc3339)
        #expect(String(decoding: batch.bytes[batch.headers[1].value], as: UTF8.self) == String(micros))
    }
}
