import OutboxKafka
import OutboxRelay
import Testing

/// Real PHP rows through the Kafka transport into librdkafka's mock cluster, consumed back.
@Suite("Kafka transport: records as consumed", .serialized)
struct KafkaTransportFormatTests {
    @Test(
        "topic, key, headers and value per value format",
        .enabled(if: KafkaTestSupport.fixturesTestable, KafkaTestSupport.fixturesSkipMessage),
        arguments: KafkaTransport.Configuration.ValueFormat.allCases
    )
    func valueFormat(_ format: KafkaTransport.Configuration.ValueFormat) async throws {
        let messages = try KafkaTestSupport.fixtureMessages(limit: 60)
        try #require(messages.count >= 50)
        let cluster = try MockKafkaCluster()
        let prefix = KafkaTestSupport.topicName("fmt")
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: [cluster.bootstrapServers],
            topic: prefix + ".{aggregate_root_type}",
            valueFormat: format,
            headers: .init(fixed: ["x-relay": "outbox-relay"]),
            cloudEvents: .init(source: "/shop/outbox")
        )
        configuration.timeouts.connect = .seconds(5)
        let transport = try KafkaTransport(name: "kafka", configuration: configuration)
        try await transport.start()
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results.count == messages.count)
        #expect(results.allSatisfy { $0.isDelivered }, "\(results.compactMap(\.failureReason).prefix(3))")

        let topics = Set(messages.map { prefix + "." + ($0.aggregateRootType ?? "") })
        #expect(topics.count >= 2)
        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: topics.sorted(), atLeast: messages.count)
        #expect(records.count == messages.count)

        let byEventID = Dictionary(grouping: records) { $0.header(format == .cloudEvents ? "ce_id" : "event_id") ?? "" }
        for message in messages {
            let record = try #require(byEventID[message.eventID]?.first, "event \(message.eventID) not consumed")
            #expect(byEventID[message.eventID]?.count == 1)
            #expect(record.topic == prefix + "." + message.aggregateRootType!)
            #expect(record.keyText == message.aggregateRootID)
            switch format {
            case .envelope:
                #expect(record.value == message.envelope)
            case .payload, .cloudEvents:
                #expect(record.value == Array(message.payloadBytes))
            }
            #expect(record.header("event_type") == message.eventType)
            #expect(record.header("aggregate_root_id") == message.aggregateRootID)
            #expect(record.header("aggregate_root_type") == message.aggregateRootType)
            #expect(record.header("aggregate_root_version") == message.aggregateRootVersion.map(String.init))
            #expect(record.header("time_of_recording") == message.timeOfRecording?.rfc3339)
            #expect(record.header("x-relay") == "outbox-relay")
            if let requestID = message.headers["x-request-id"]?.stringValue {
                // Custom headers go out where the value does not carry them (automatic default).
                #expect(record.header("x-request-id") == (format == .envelope ? nil : requestID))
            }
            #expect(!record.headers.contains { $0.name.hasPrefix("__") })
            if format == .cloudEvents {
                #expect(record.header("ce_specversion") == "1.0")
                #expect(record.header("ce_id") == message.eventID)
                #expect(record.header("ce_type") == message.eventType)
                #expect(record.header("ce_source") == "/shop/outbox")
                #expect(record.header("ce_time") == message.timeOfRecording?.rfc3339)
                #expect(record.header("ce_subject") == message.aggregateRootID)
                #expect(record.header("content-type") == "application/json")
            } else {
                #expect(record.header("ce_id") == nil)
            }
        }

        // One aggregate, one partition, versions in order.
        for (_, aggregateRecords) in Dictionary(grouping: records, by: { $0.keyText ?? "" }) {
            #expect(Set(aggregateRecords.map(\.partition)).count == 1)
            let versions = aggregateRecords.sorted { $0.offset < $1.offset }.compactMap {
                Int($0.header("aggregate_root_version") ?? "")
            }
            #expect(versions == versions.sorted())
        }
    }

    @Test("the key template and Java-compatible partitioning put equal keys in equal partitions")
    func keyTemplate() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("keys")
        try cluster.createTopic(topic, partitions: 6)
        let messages = try KafkaTestSupport.messages(count: 40, aggregates: 8)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(
                bootstrapServers: [cluster.bootstrapServers],
                topic: topic,
                key: "{aggregate_root_type}:{aggregate_root_id}",
                partitioner: .murmur2Random
            )
        )
        try await transport.start()
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results.allSatisfy { $0.isDelivered })
        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: messages.count)
        #expect(records.count == messages.count)
        #expect(
            records.allSatisfy { $0.keyText == "acme.shop.orders.order:" + ($0.header("aggregate_root_id") ?? "?") }
        )
        let partitionsPerKey = Dictionary(grouping: records, by: { $0.keyText ?? "" }).mapValues {
            Set($0.map(\.partition)).count
        }
        #expect(partitionsPerKey.values.allSatisfy { $0 == 1 })
        #expect(Set(records.map(\.partition)).count > 1, "8 keys should not all hash to one of 6 partitions")
    }
}
