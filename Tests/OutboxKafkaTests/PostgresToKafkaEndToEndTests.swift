import CRdKafka
import Foundation
import Logging
import OutboxKafka
import OutboxRelay
import Testing

@testable import OutboxPostgres

/// PostgreSQL outbox (real PHP rows) → RelayEngine → KafkaTransport → mock cluster → consumer.
@Suite("Kafka transport: PostgreSQL outbox to Kafka, end to end", .serialized)
struct PostgresToKafkaEndToEndTests {
    /// A schema of its own with PHP's `outbox_messages` table, filled with the fixture rows.
    final class OutboxSchemaFixture: @unchecked Sendable {
        let url: String
        let schema: String
        let connection: PostgresConnection

        init(rows: [OutboxRow]) throws {
            url = try KafkaTestSupport.requirePostgresURL()
            schema = "k_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            connection = try PostgresConnection.connect(
                PostgresConnectionString(url),
                applicationName: "outbox-relay kafka tests"
            )
            _ = try connection.execute("CREATE SCHEMA \"\(schema)\"")
            let table = try SQLIdentifier("\(schema).outbox_messages")
            _ = try connection.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres, table: table))
            for row in rows {
                _ = try connection.execute(
                    "INSERT INTO \"\(schema)\".outbox_messages (consumed, payload) VALUES (false, $1)",
                    [String(decoding: row.payload, as: UTF8.self)]
                )
            }
        }

        deinit {
            _ = try? connection.execute("DROP SCHEMA \"\(schema)\" CASCADE")
        }

        func source() throws -> PostgresSource {
            let configuration = try PostgresSource.Configuration(
                connection: PostgresConnectionString(url),
                flavour: .outbox,
                table: "\(schema).outbox_messages"
            )
            return try PostgresSource(configuration: configuration)
        }

        func count(_ sql: String) throws -> Int {
            Int(try connection.execute(sql).string(0, 0) ?? "") ?? -1
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "kafka-e2e")
        logger.logLevel = .error
        return logger
    }()

    @Test(
        "every fixture row reaches Kafka with its stored bytes, rows are marked",
        .enabled(if: KafkaTestSupport.postgresTestable, KafkaTestSupport.postgresSkipMessage),
        .enabled(if: KafkaTestSupport.fixturesTestable, KafkaTestSupport.fixturesSkipMessage)
    )
    func outboxToKafka() async throws {
        let rows = try KafkaTestSupport.fixtureRows()
        let database = try OutboxSchemaFixture(rows: rows)
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("e2e")
        try cluster.createTopic(topic, partitions: 6)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic),
            logger: Self.logger
        )
        let engine = try RelayEngine(
            source: try database.source(),
            transports: [transport],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["kafka"])]),
            logger: Self.logger
        )
        let summary = try await engine.drain()
        #expect(summary.rowsCompleted == rows.count)
        #expect(summary.deadLetters == 0)
        #expect(
            try database.count("SELECT count(*) FROM \"\(database.schema)\".outbox_messages WHERE NOT consumed") == 0
        )

        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: rows.count)
        let decoder = EnvelopeDecoder(table: "\(database.schema).outbox_messages")
        let expected = rows.compactMap { try? decoder.decode($0) }
        #expect(expected.count == rows.count)
        let valuesByID = Dictionary(
            records.map { ($0.header("event_id") ?? "", $0.value) },
            uniquingKeysWith: { first, _ in first }
        )
        for message in expected {
            #expect(valuesByID[message.eventID] == message.envelope, "event \(message.eventID) of row \(message.rowID)")
        }
        // PostgreSQL's json column keeps the text PHP wrote: the bytes on Kafka are the fixture's.
        #expect(Set(records.map(\.value)) == Set(rows.map(\.payload)))
    }

    @Test(
        "a broker's MSG_SIZE_TOO_LARGE ends in the dead-letter table; the rest is delivered",
        .enabled(if: KafkaTestSupport.postgresTestable, KafkaTestSupport.postgresSkipMessage),
        .enabled(if: KafkaTestSupport.fixturesTestable, KafkaTestSupport.fixturesSkipMessage)
    )
    func tooLargeIsDeadLettered() async throws {
        let rows = try KafkaTestSupport.fixtureRows(limit: 40)
        let database = try OutboxSchemaFixture(rows: rows)
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.topicName("dead")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let transport = try KafkaTransport(
            name: "kafka",
            configuration: .init(bootstrapServers: [cluster.bootstrapServers], topic: topic),
            logger: Self.logger
        )
        try await transport.start()
        cluster.failNextProduceRequests(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        let engine = try RelayEngine(
            source: try database.source(),
            transports: [transport],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["kafka"])]),
            configuration: .init(retry: RetryPolicy(initialDelay: .milliseconds(10), maximumAttempts: 5)),
            logger: Self.logger
        )
        let summary = try await engine.drain()
        #expect(summary.rowsCompleted == rows.count)
        #expect(summary.deadLetters >= 1)
        let deadLetterTable = "\"\(database.schema)\".outbox_relay_dead_letters"
        let deadLetters = try database.count(
            "SELECT count(*) FROM \(deadLetterTable) WHERE destination = 'kafka' "
                + "AND last_error LIKE '%MSG_SIZE_TOO_LARGE%' AND attempts = 1"
        )
        #expect(deadLetters == summary.deadLetters)
        #expect(
            try database.count("SELECT count(*) FROM \"\(database.schema)\".outbox_messages WHERE NOT consumed") == 0
        )

        let consumer = TestKafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        defer { consumer.close() }
        let records = try await consumer.consume(topics: [topic], atLeast: rows.count - summary.deadLetters)
        let consumed = Set(records.compactMap { $0.header("event_id") })
        let deadIDs = Set(
            try (0..<summary.deadLetters).compactMap { offset in
                try database.connection.execute(
                    "SELECT event_id FROM \(deadLetterTable) ORDER BY event_id OFFSET \(offset) LIMIT 1"
                ).string(0, 0)
            }
        )
        let decoder = EnvelopeDecoder(table: "\(database.schema).outbox_messages")
        let all = Set(rows.compactMap { try? decoder.decode($0).eventID })
        // Nothing lost: every event is on Kafka or in the dead-letter table.
        #expect(consumed.union(deadIDs) == all)
        #expect(consumed.isDisjoint(with: deadIDs))
    }
}
