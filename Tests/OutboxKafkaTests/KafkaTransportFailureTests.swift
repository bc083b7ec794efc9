import CRdKafka
import OutboxRelay
import Testing

@testable import OutboxKafka

/// Failures against librdkafka's mock cluster: brokers down, oversized messages, fatal errors.
@Suite("Kafka transport: failures", .serialized)
struct KafkaTransportFailureTests {
    /// Delivers like the engine's `DestinationDelivery`: batch after batch, each retried until
    /// all of it is delivered; a retry resends, per ordering key, everything from the key's
    /// first undelivered message on. Returns what was delivered and the failures seen.
    static func drain(
        _ transport: KafkaTransport,
        _ messages: [OutboxMessage],
        batchSize: Int,
        maximumRounds: Int = 60,
        between: @Sendable () async -> Void = {}
    ) async -> (delivered: Set<Int>, failures: [String], rounds: Int) {
        var delivered = Set<Int>()
        var failures: [String] = []
        var rounds = 0
        for start in stride(from: 0, to: messages.count, by: batchSize) {
            var pending = Array(start..<min(start + batchSize, messages.count))
            var round = 0
            while !pending.isEmpty && round < maximumRounds {
                round += 1
                rounds += 1
                let results = await transport.deliver(pending.map { messages[$0] })
                var heldBack = HeldBackOrderingKeys()
                var next: [Int] = []
                for (index, result) in zip(pending, results) {
                    if heldBack.holdsBack(messages[index]) {
                        next.append(index)
                    } else if result.isDelivered {
                        delivered.insert(index)
                    } else {
                        failures.append(result.failureReason ?? "")
                        heldBack.holdBack(after: messages[index])
                        next.append(index)
                    }
                }
                pending = next
                await between()
                if !pending.isEmpty { try? await Task.sleep(for: .milliseconds(200)) }
            }
        }
        return (delivered, failures, rounds)
    }

    @Test("a broker taken down and brought back mid-drain: nothing lost, order per key kept")
    func brokerDownMidDrain() async throws {
        let cluster = try MockKafkaCluster(brokers: 3)
        let topic = KafkaTestSupport.topicName("down")
        try cluster.createTopic(topic, partitions: 6, replicationFactor: 3)
        // Broker 1 leads partitions 0–2, broker 2 leads 3–5.
        for partition in Int32(0)..<6 {
            cluster.setPartitionLeader(topic, partition: partition, broker: partition < 3 ? 1 : 2)
        }
        let messages = try KafkaTestSupport.messages(count: 600, aggregates: 24)
        var configuration = KafkaTransport.Configuration(bootstrapServers: [cluster.bootstrapServers], topic: topic)
        configuration.timeouts.delivery = .milliseconds(1500)
        configuration.properties = ["retry.backoff.ms": "50", "reconnect.backoff.max.ms": "200"]
        let transport = try KafkaTransport(name: "kafka", configuration: configuration)
        try await transport.start()

        // Broker 1 goes down after the first batch and comes back ~3 s later, mid-drain.
        let brokerState = BrokerSwitch(cluster: cluster)
        let outcome = await Self.drain(transport, messages, batchSize: 100) {
            await brokerState.advance()
        }
        await brokerState.ensureUp()
        await transport.shutdown()

        #expect(
            outcome.delivered.count == messages.count,
            "undelivered after \(outcome.rounds) rounds: \(outcome.failures.suffix(3))"
        )
        #expect(!outcome.failures.isEmpty, "the broker outage should have made some deliveries fail (timeouts)")
        #expect(outcome.failures.allSatisfy { !$0.isEmpty })

        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: messages.count, settle: .seconds(1))
        let consumedIDs = Set(records.compactMap { $0.header("event_id") })
        #expect(
            consumedIDs.isSuperset(of: messages.map(\.eventID)),
            "lost \(Set(messages.map(\.eventID)).subtracting(consumedIDs).count) messages"
        )
        // Order per key: keeping each message's last copy (at-least-once may repeat earlier
        // copies), versions are strictly increasing within the key's partition.
        for (key, keyRecords) in Dictionary(grouping: records, by: { $0.keyText ?? "" }) {
            #expect(Set(keyRecords.map(\.partition)).count == 1)
            let ordered = keyRecords.sorted { $0.offset < $1.offset }
            var lastOffset: [String: Int64] = [:]
            for record in ordered { lastOffset[record.header("event_id") ?? ""] = record.offset }
            let versions = ordered.filter { lastOffset[$0.header("event_id") ?? ""] == $0.offset }
                .compactMap { Int($0.header("aggregate_root_version") ?? "") }
            #expect(versions == Array(1...versions.count), "key \(key): \(versions)")
        }
    }

    @Test("a broker's MSG_SIZE_TOO_LARGE is permanent; the producer goes on afterwards")
    func brokerRejectsTooLarge() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("large")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic)
        )
        try await transport.start()
        // Warm up so the next Produce request carries only the message under test.
        #expect(
            await transport.deliver([try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1)]).allSatisfy {
                $0.isDelivered
            }
        )

        cluster.failNextProduceRequests(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        let results = await transport.deliver([try KafkaTestSupport.message(row: 2, aggregate: 2, version: 1)])
        guard case .permanent(let reason) = try #require(results.first) else {
            Issue.record("expected .permanent, got \(results)")
            return
        }
        #expect(reason.contains("MSG_SIZE_TOO_LARGE"))

        let after = await transport.deliver(
            try (3...5).map { try KafkaTestSupport.message(row: Int64($0), aggregate: 3, version: $0 - 2) }
        )
        #expect(after.allSatisfy { $0.isDelivered }, "\(after)")
        await transport.shutdown()
    }

    @Test("a message over message.max.bytes fails permanently at once; later ones of its key are not sent")
    func localTooLarge() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("local")
        try cluster.createTopic(topic, partitions: 3)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(
                bootstrapServers: [cluster.bootstrapServers],
                topic: topic,
                properties: ["message.max.bytes": "2000"]
            )
        )
        try await transport.start()
        let batch = [
            try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1, size: 5000),
            try KafkaTestSupport.message(row: 2, aggregate: 1, version: 2),
            try KafkaTestSupport.message(row: 3, aggregate: 2, version: 1),
        ]
        let results = await transport.deliver(batch)
        await transport.shutdown()
        guard case .permanent(let reason) = results[0] else {
            Issue.record("expected .permanent, got \(results[0])")
            return
        }
        #expect(reason.contains("MSG_SIZE_TOO_LARGE"))
        guard case .retryable(let laterReason, _) = results[1] else {
            Issue.record("expected .retryable for the later message of the same key, got \(results[1])")
            return
        }
        #expect(laterReason.contains("ordering key"))
        #expect(results[2].isDelivered)
    }

    @Test("a full local queue is back-pressure, not a failure")
    func queueFullIsBackPressure() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("queue")
        try cluster.createTopic(topic, partitions: 3)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(
                bootstrapServers: [cluster.bootstrapServers],
                topic: topic,
                properties: ["queue.buffering.max.messages": "10"]
            )
        )
        try await transport.start()
        let messages = try KafkaTestSupport.messages(count: 300, aggregates: 7)
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results.allSatisfy { $0.isDelivered }, "\(results.compactMap(\.failureReason).prefix(3))")
        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: messages.count)
        #expect(records.count == messages.count)
    }

    @Test("an unknown topic (auto-create off) fails permanently")
    func unknownTopicIsPermanent() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("unknown")
        cluster.setTopicError(topic, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(
                bootstrapServers: [cluster.bootstrapServers],
                topic: topic,
                properties: ["topic.metadata.propagation.max.ms": "200"]
            )
        )
        try await transport.start()
        let results = await transport.deliver([try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1)])
        await transport.shutdown()
        guard case .permanent(let reason) = results[0] else {
            Issue.record("expected .permanent, got \(results[0])")
            return
        }
        #expect(reason.contains("UNKNOWN_TOPIC") || reason.contains("UNKNOWN_PARTITION"), "\(reason)")
    }

    @Test("a topic template that renders an invalid name fails that message permanently")
    func invalidRenderedTopic() async throws {
        let cluster = try MockKafkaCluster()
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: "{header.x-missing}")
        )
        try await transport.start()
        let results = await transport.deliver([try KafkaTestSupport.message(row: 1, aggregate: 1, version: 1)])
        await transport.shutdown()
        guard case .permanent(let reason) = results[0] else {
            Issue.record("expected .permanent, got \(results[0])")
            return
        }
        #expect(reason.contains("not a valid Kafka topic name"))
    }

    @Test(
        "a fatal idempotent-producer error recreates the producer; failures on the way are retryable, delivery goes on"
    )
    func fatalErrorRecreatesProducer() async throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("fatal")
        try cluster.createTopic(topic, partitions: 3)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic)
        )
        try await transport.start()
        #expect(
            await transport.deliver(try KafkaTestSupport.messages(count: 10, aggregates: 3)).allSatisfy {
                $0.isDelivered
            }
        )
        #expect(try await transport.producerGeneration() == 1)
        try await transport.injectFatalErrorForTesting(reason: "test: injected fatal error")
        let messages = try KafkaTestSupport.messages(count: 10, aggregates: 3, firstRow: 100)
        let outcome = await Self.drain(transport, messages, batchSize: 10, maximumRounds: 10)
        #expect(try await transport.producerGeneration() == 2, "the producer should have been recreated once")
        await transport.shutdown()
        #expect(outcome.delivered.count == messages.count, "\(outcome.failures)")
        #expect(outcome.failures.allSatisfy { $0.contains("fatal") }, "\(outcome.failures)")
    }
}

/// Takes broker 1 down after the first batch and brings it back 3 s later.
actor BrokerSwitch {
    private let cluster: MockKafkaCluster
    private var downSince: ContinuousClock.Instant?
    private var isBackUp = false

    init(cluster: MockKafkaCluster) {
        self.cluster = cluster
    }

    func advance() {
        if downSince == nil {
            cluster.setBrokerDown(1)
            downSince = .now
        } else if !isBackUp, let downSince, ContinuousClock.now - downSince >= .seconds(3) {
            cluster.setBrokerUp(1)
            isBackUp = true
        }
    }

    func ensureUp() {
        if !isBackUp { cluster.setBrokerUp(1) }
        isBackUp = true
    }
}
