import InMemoryLogging
import Logging
import OutboxKafka
import OutboxRelay
import Testing

/// W3C trace context from EventSauce headers, through the Kafka transport into librdkafka's
/// mock cluster and consumed back, in every value format.
@Suite("Kafka transport: trace context", .serialized)
struct KafkaTransportTraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    static let state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"

    /// A message decoded from stored bytes, as the engine hands it over.
    static func message(row: Int64, traceHeaders: String) throws -> OutboxMessage {
        let text =
            #"{"headers":{"__event_type":"acme.shop.order_placed","__event_id":"event-\#(row)","#
            + #""__aggregate_root_id":"order-\#(row)","__aggregate_root_version":1,"x-request-id":"req-\#(row)","#
            + traceHeaders + #""__time_of_recording":"2024-03-14 05:04:50.163498+0000"},"payload":{"n":\#(row)}}"#
        return try EnvelopeDecoder(table: "outbox_messages").decode(
            OutboxRow(id: .integer(row), payload: Array(text.utf8))
        )
    }

    @Test(
        "valid traceparent and tracestate arrive as record headers; invalid ones are dropped and logged",
        arguments: KafkaTransport.Configuration.ValueFormat.allCases
    )
    func traceContextArrives(_ format: KafkaTransport.Configuration.ValueFormat) async throws {
        let messages = [
            try Self.message(row: 1, traceHeaders: #""traceparent":"\#(Self.parent)","tracestate":"\#(Self.state)","#),
            try Self.message(row: 2, traceHeaders: #""__traceparent":"\#(Self.parent)","#),
            try Self.message(row: 3, traceHeaders: #""traceparent":"00-BAD","tracestate":"\#(Self.state)","#),
            try Self.message(row: 4, traceHeaders: #""traceparent":"\#(Self.parent)","tracestate":"Not Valid","#),
            try Self.message(row: 5, traceHeaders: ""),
        ]
        let cluster = try MockKafkaCluster(brokers: 1)
        let topic = KafkaTestSupport.topicName("trace")
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: [cluster.bootstrapServers],
            topic: topic,
            valueFormat: format
        )
        configuration.timeouts.connect = .seconds(5)
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .debug
        let transport = try KafkaTransport(name: "orders", configuration: configuration, logger: logger)
        try await transport.start()
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results.allSatisfy { $0.isDelivered }, "\(results.compactMap(\.failureReason))")

        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: messages.count)
        let byKey = Dictionary(uniqueKeysWithValues: records.map { ($0.keyText ?? "", $0) })
        let isCloudEvents = format == .cloudEvents

        func expectTrace(
            _ key: String,
            parent: String?,
            state: String?,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let record = try #require(byKey[key], sourceLocation: sourceLocation)
            #expect(record.header("traceparent") == parent, sourceLocation: sourceLocation)
            #expect(record.header("tracestate") == state, sourceLocation: sourceLocation)
            #expect(record.header("ce_traceparent") == (isCloudEvents ? parent : nil), sourceLocation: sourceLocation)
            #expect(record.header("ce_tracestate") == (isCloudEvents ? state : nil), sourceLocation: sourceLocation)
            // Never twice (custom-header forwarding leaves the trace headers to the validator).
            #expect(record.headers.filter { $0.name == "traceparent" }.count <= 1, sourceLocation: sourceLocation)
            #expect(record.headers.filter { $0.name == "tracestate" }.count <= 1, sourceLocation: sourceLocation)
        }
        try expectTrace("order-1", parent: Self.parent, state: Self.state)
        try expectTrace("order-2", parent: Self.parent, state: nil)
        try expectTrace("order-3", parent: nil, state: nil)
        try expectTrace("order-4", parent: Self.parent, state: nil)
        try expectTrace("order-5", parent: nil, state: nil)
        // Custom headers still go out where the format forwards them.
        #expect(byKey["order-1"]?.header("x-request-id") == (format == .envelope ? nil : "req-1"))

        let dropped = logs.entries.filter { $0.message.description == "trace context header dropped" }
        #expect(dropped.count == 2)
        #expect(dropped.allSatisfy { $0.level == .debug && $0.metadata["destination"] == "orders" })
        #expect(dropped.map { $0.metadata["event_id"] } == ["event-3", "event-4"])
        #expect(dropped.map { $0.metadata["header"] } == ["traceparent", "tracestate"])
        #expect(dropped.map { $0.metadata["row_id"] } == ["3", "4"])
    }
}
