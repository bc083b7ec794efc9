import CRdKafka
import OutboxRelay
import Testing

@testable import OutboxKafka

/// start(), shutdown() and checkTopics() against librdkafka's mock cluster.
@Suite("Kafka transport: lifecycle", .serialized)
struct KafkaTransportLifecycleTests {
    @Test("start() fails with a clear error when no broker answers")
    func startFailsWhenUnreachable() async throws {
        var configuration = KafkaTransport.Configuration(bootstrapServers: ["127.0.0.1:1"], topic: "t")
        configuration.timeouts.connect = .seconds(1)
        let transport = try KafkaTransport(name: "kafka", configuration: configuration)
        let error = await #expect(throws: KafkaTransportError.self) { try await transport.start() }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("127.0.0.1:1") == true)
        await transport.shutdown()
    }

    @Test("an invalid librdkafka property is named, its value is not shown")
    func invalidPropertyIsRedacted() async throws {
        let configuration = KafkaTransport.Configuration(
            bootstrapServers: ["127.0.0.1:1"],
            topic: "t",
            properties: ["acks": "hunter2-secret"]
        )
        let error = #expect(throws: KafkaTransportError.self) { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.setting == "properties.acks")
        #expect(error?.message.contains("hunter2-secret") == false)
        let unknown = #expect(throws: KafkaTransportError.self) {
            try KafkaTransport.Configuration(
                bootstrapServers: ["127.0.0.1:1"],
                topic: "t",
                properties: ["no.such.property": "x"]
            ).validate()
        }
        #expect(unknown?.setting == "properties.no.such.property")
        let transport = try KafkaTransport(name: "kafka", configuration: configuration)
        await #expect(throws: KafkaTransportError.self) { try await transport.start() }
    }

    @Test("start() succeeds against the mock cluster; deliver before start() is retryable")
    func startConnects() async throws {
        let cluster = try MockKafkaCluster()
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: "t")
        )
        let early = await transport.deliver([try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1)])
        guard case .retryable = early[0] else {
            Issue.record("expected .retryable before start(), got \(early)")
            return
        }
        try await transport.start()
        try await transport.start()
        await transport.shutdown()
        let late = await transport.deliver([try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1)])
        #expect(!late[0].isDelivered)
    }

    @Test("shutdown() waits for the messages in flight: nothing handed over is dropped")
    func shutdownFlushes() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("flush")
        try cluster.createTopic(topic, partitions: 3)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic)
        )
        try await transport.start()
        // Slow brokers: every response takes 400 ms, so the batch is still in flight when
        // shutdown() is called.
        for broker in Int32(1)...3 { cluster.setBrokerRoundTripTime(broker, milliseconds: 400) }
        let messages = try KafkaTestSupport.messages(count: 200, aggregates: 10)
        let delivery = Task { await transport.deliver(messages) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        await transport.shutdown()
        let waited = ContinuousClock.now - started
        let results = await delivery.value
        #expect(results.allSatisfy { $0.isDelivered }, "\(results.compactMap(\.failureReason).prefix(3))")
        #expect(waited >= .milliseconds(150), "shutdown returned after \(waited) without waiting for the acks")
        for broker in Int32(1)...3 { cluster.setBrokerRoundTripTime(broker, milliseconds: 0) }
        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: messages.count)
        #expect(Set(records.compactMap { $0.header("event_id") }) == Set(messages.map(\.eventID)))
    }

    @Test("checkTopics() tells existing topics from missing and forbidden ones")
    func checkTopics() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("check")
        try cluster.createTopic(topic, partitions: 6)
        // The mock creates any topic a client asks about; make it answer like a cluster
        // without the topic and without auto-creation, and like one denying access.
        let missing = KafkaTestSupport.topicName("absent")
        cluster.setTopicError(missing, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        let forbidden = KafkaTestSupport.topicName("forbidden")
        cluster.setTopicError(forbidden, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic)
        )
        #expect(transport.fixedTopic == topic)
        let checks = try await transport.checkTopics([topic, missing, "bad topic!", forbidden])
        #expect(checks.count == 4)
        #expect(checks[0].status == .exists(partitions: 6))
        #expect(checks[0].isUsable)
        switch checks[1].status {
        case .missing, .missingButAutoCreated: break
        default: Issue.record("expected the topic to be reported missing, got \(checks[1].status)")
        }
        #expect(!checks[2].isUsable)
        guard case .failed(let reason) = checks[3].status else {
            Issue.record("expected .failed for a forbidden topic, got \(checks[3].status)")
            return
        }
        #expect(reason.contains("TOPIC_AUTHORIZATION_FAILED"))

        var unreachable = transport.configuration
        unreachable.bootstrapServers = ["127.0.0.1:1"]
        unreachable.timeouts.connect = .seconds(1)
        await #expect(throws: KafkaTransportError.self) {
            try await KafkaTransport(name: "kafka", configuration: unreachable).checkTopics([topic])
        }
    }

    @Test("templated topics keep at most maximumTopicHandles handles open, and released topics are produced to again")
    func topicHandlesAreBounded() async throws {
        let cluster = try MockKafkaCluster()
        let prefix = KafkaTestSupport.topicName("handles")
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: [cluster.bootstrapServers],
            topic: prefix + ".{event_type}"
        )
        configuration.maximumTopicHandles = 8
        let transport = try KafkaTransport(name: "kafka", configuration: configuration)
        try await transport.start()
        var row: Int64 = 1
        // Five batches of ten messages, each to its own topic: 50 topics, then the first 10 again.
        for batchNumber in 0..<6 {
            let first = batchNumber == 5 ? 0 : batchNumber * 10
            let messages = try (first..<first + 10).map { topicNumber in
                defer { row += 1 }
                return try KafkaTestSupport.message(
                    row: row,
                    aggregate: topicNumber,
                    version: 1,
                    eventType: "t\(topicNumber)"
                )
            }
            let results = await transport.deliver(messages)
            let delivered = results.filter(\.isDelivered).count
            #expect(delivered == 10, "batch \(batchNumber): \(delivered) of 10 delivered")
            let open = try await transport.openTopicHandleCount()
            // The bound, or one batch's topics when a batch has more.
            #expect(open <= 10, "batch \(batchNumber): \(open) topic handles open")
            #expect(open >= 1)
        }
        await transport.shutdown()
    }
}
