import OutboxRelay
import Testing

@testable import OutboxKafka

/// Topic and key templates, and how messages become records (no broker needed).
@Suite("Kafka transport: templates and records")
struct KafkaMessageTemplateTests {
    static func message(
        headers extra: JSONObject = [:],
        eventType: String = "acme.shop.orders.order_was_placed"
    ) throws -> OutboxMessage {
        var members: [(key: String, value: JSONValue)] = [
            (EventSauceHeader.eventType, .string(eventType)),
            (EventSauceHeader.eventID, .string("e-1")),
            (EventSauceHeader.aggregateRootID, .string("order-1")),
            (EventSauceHeader.aggregateRootType, .string("acme.shop.orders.order")),
            (EventSauceHeader.aggregateRootVersion, .number("3")),
        ]
        members.append(contentsOf: extra.members)
        return try OutboxMessage(
            rowID: .integer(1),
            headers: JSONObject(members),
            payload: .object(["a": .number("1")])
        )
    }

    @Test("placeholders render; substituted characters Kafka rejects become _")
    func renderTopic() throws {
        let template = try KafkaMessageTemplate("events.{aggregate_root_type}.{header.x-tenant}", purpose: .topic)
        let message = try Self.message(headers: ["x-tenant": .string("Beta Tenant/ü")])
        #expect(template.render(message) == "events.acme.shop.orders.order.Beta_Tenant__")
        #expect(
            try KafkaMessageTemplate("{event_type}", purpose: .topic).render(message)
                == "acme.shop.orders.order_was_placed"
        )
        #expect(
            try KafkaMessageTemplate("{header.x-count}", purpose: .topic).render(
                try Self.message(headers: ["x-count": .number("42")])
            ) == "42"
        )
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
        for (text, purpose) in [
            ("orders.{nope}", KafkaMessageTemplate.Purpose.topic), ("orders {event_type}", .topic),
            ("{event_type", .key), ("{aggregate_root_id}", .topic),
        ] {
            let error = #expect(throws: KafkaTransportError.self) { try KafkaMessageTemplate(text, purpose: purpose) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.setting == (purpose == .topic ? "topic" : "key"))
        }
    }

    @Test("keys render as is; an empty key is a null key")
    func keys() throws {
        let configuration = KafkaTransport.Configuration(
            bootstrapServers: ["x:1"],
            topic: "t",
            key: "{header.x-tenant}"
        )
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
        #expect(
            !automatic.headers[try #require(automatic.records[0]).headers].contains {
                String(decoding: automatic.bytes[$0.name], as: UTF8.self) == "x-actor"
            }
        )
        configuration.valueFormat = .payload
        let payload = try KafkaRecordEncoder(configuration: configuration).encode([withActor])
        #expect(
            payload.headers[try #require(payload.records[0]).headers].contains {
                String(decoding: payload.bytes[$0.name], as: UTF8.self) == "x-actor"
            }
        )
        configuration.valueFormat = .envelope
        configuration.headers.custom = true
        let encoder = try KafkaRecordEncoder(configuration: configuration)
        let batch = encoder.encode([withActor])
        let record = try #require(batch.records[0])
        let headers = batch.headers[record.headers].map {
            (
                String(decoding: batch.bytes[$0.name], as: UTF8.self),
                String(decoding: batch.bytes[$0.value], as: UTF8.self)
            )
        }
        #expect(
            headers.map(\.0) == [
                "event_id", "event_type", "aggregate_root_id", "aggregate_root_type", "aggregate_root_version",
                "x-actor", "x-source",
            ]
        )
        #expect(headers.first { $0.0 == "x-actor" }?.1 == #"{"id":7}"#)
        #expect(headers.first { $0.0 == "aggregate_root_version" }?.1 == "3")
        #expect(batch.headers[record.headers].allSatisfy { batch.bytes[$0.name.upperBound] == 0 })

        configuration.headers = .init(standard: false, custom: false)
        let bare = try KafkaRecordEncoder(configuration: configuration).encode([try Self.message()])
        #expect(try #require(bare.records[0]).headers.isEmpty)
    }
}
