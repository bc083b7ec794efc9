import Foundation
import Logging
import OutboxHTTP
import OutboxRelay
import Testing

@testable import OutboxPostgres

/// End to end: rows real PHP wrote, in a real PostgreSQL outbox table, relayed by the real
/// engine to real local webhook servers; rows marked and dead letters stored in PostgreSQL.
@Suite(
    "PostgreSQL outbox → webhook",
    .enabled(if: TestEnvironment.postgresTestsEnabled, TestEnvironment.postgresSkipMessage)
)
struct PostgresToWebhookTests {
    @Test("fixture rows reach the webhook signed, after retries; a 410 route is dead-lettered; every row is marked")
    func postgresOutboxToWebhook() async throws {
        let url = try #require(
            TestEnvironment.postgresURL,
            "CI=true but OUTBOX_TEST_POSTGRES_URL is not set: run the tests through .ci/with-postgres.sh"
        )
        try #require(
            TestEnvironment.fixturesPresent,
            "CI=true but the EventSauce fixtures are missing at \(TestEnvironment.fixtures)"
        )
        let schema = "t_http_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let admin = try PostgresConnection.connect(
            PostgresConnectionString(url),
            applicationName: "outbox-relay http tests"
        )
        try admin.execute("CREATE SCHEMA \"\(schema)\"")
        defer { _ = try? admin.execute("DROP SCHEMA \"\(schema)\" CASCADE") }
        let table = try SQLIdentifier("\(schema).outbox_messages")
        try admin.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres, table: table))
        let rows = try TestMessages.fixtureRows()
        for row in rows {
            guard case .integer(let id) = row.id else { continue }
            try admin.execute(
                "INSERT INTO \(table.quoted(for: .postgres)) (id, consumed, payload) VALUES ($1, false, $2)",
                [String(id), String(decoding: row.payload, as: UTF8.self)]
            )
        }

        let secret = WebhookTransportTests.secret
        let server = try await WebhookTestServer(secrets: [secret])
        defer { server.stop() }
        func transport(_ name: String, _ path: String) throws -> WebhookTransport {
            var configuration = WebhookTransport.Configuration(url: server.url(path))
            configuration.network.allowPrivateNetworks = true
            configuration.signing.secrets = [secret]
            return try WebhookTransport(name: name, configuration: configuration)
        }
        // Every message fails once with 503 at "all" before it is accepted.
        let all = try transport("all", "/flaky/1")
        let gone = try transport("gone", "/status/410")
        let routing = try RoutingTable(rules: [
            .init(events: try EventTypePattern("*"), to: ["all"]),
            .init(events: try EventTypePattern("acme.shop.customers.*"), to: ["gone"]),
        ])
        let source = try PostgresSource(
            configuration: PostgresSource.Configuration(
                connection: PostgresConnectionString(url),
                flavour: .outbox,
                table: "\(schema).outbox_messages"
            )
        )
        var logger = Logger(label: "postgres-webhook-test")
        logger.logLevel = .error
        let engine = try RelayEngine(
            source: source,
            transports: [all, gone],
            routing: routing,
            configuration: .init(
                batchSize: 50,
                retry: RetryPolicy(initialDelay: .milliseconds(5), maximumDelay: .milliseconds(50), maximumAttempts: 6)
            ),
            logger: logger
        )
        let summary = try await engine.drain()

        let decoder = EnvelopeDecoder(table: "\(schema).outbox_messages")
        let messages = try rows.map { try decoder.decode($0) }
        let customerEvents = messages.filter { $0.eventType.hasPrefix("acme.shop.customers.") }
        #expect(!customerEvents.isEmpty)
        #expect(summary.rowsCompleted == rows.count)
        #expect(summary.deliveries == messages.count)

        let unconsumed = try admin.execute("SELECT count(*) FROM \(table.quoted(for: .postgres)) WHERE NOT consumed")
            .string(0, 0)
        #expect(unconsumed == "0")
        let letters = try admin.execute(
            "SELECT count(*), count(DISTINCT event_id), min(destination), max(destination) "
                + "FROM \"\(schema)\".outbox_relay_dead_letters"
        )
        #expect(letters.string(0, 0) == String(customerEvents.count))
        #expect(letters.string(0, 1) == String(customerEvents.count))
        #expect(letters.string(0, 2) == "gone" && letters.string(0, 3) == "gone")

        let accepted = server.requests().filter { $0.path == "/flaky/1" && $0.status == 200 }
        #expect(accepted.count == messages.count)
        #expect(Set(accepted.map(\.webhookID)) == Set(messages.map(\.eventID)))
        #expect(accepted.allSatisfy { $0.signatureValid == true })
        let stored = Dictionary(
            uniqueKeysWithValues: messages.map { ($0.eventID, String(decoding: $0.envelope, as: UTF8.self)) }
        )
        #expect(
            accepted.allSatisfy { stored[$0.webhookID] == $0.body },
            "bodies are the payload column as PHP wrote it"
        )
        // Per aggregate, accepted versions arrive in order.
        let byID = Dictionary(uniqueKeysWithValues: messages.map { ($0.eventID, $0) })
        var last: [String: Int64] = [:]
        for request in accepted {
            guard let message = byID[request.webhookID], let version = message.aggregateRootVersion else { continue }
            #expect(version > last[message.orderingKey, default: 0])
            last[message.orderingKey] = version
        }
    }
}
