import Foundation
import Logging
import OutboxHTTP
import OutboxRelay
import Testing

/// The transport driven by the real ``RelayEngine`` (retries, dead letters, fan-out) against
/// real local servers.
@Suite(
    "WebhookTransport through the RelayEngine",
    .enabled(if: TestEnvironment.serverTestsEnabled, TestEnvironment.serverSkipMessage)
)
struct WebhookEngineTests {
    static func engine(
        source: InMemoryOutboxSource,
        transports: [WebhookTransport],
        retry: RetryPolicy,
        overrides: [String: RetryPolicy] = [:]
    ) throws -> RelayEngine {
        let routing = try RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: transports.map(\.name))])
        var logger = Logger(label: "webhook-engine-test")
        logger.logLevel = .error
        return try RelayEngine(
            source: source,
            transports: transports,
            routing: routing,
            configuration: .init(
                batchSize: 50,
                retry: retry,
                retryOverrides: overrides,
                idlePollInterval: .milliseconds(5) ... .milliseconds(20)
            ),
            logger: logger
        )
    }

    static func transport(_ name: String, _ url: String, secrets: [String] = []) throws -> WebhookTransport {
        var configuration = WebhookTransport.Configuration(url: url)
        configuration.network.allowPrivateNetworks = true
        configuration.signing.secrets = secrets
        configuration.timeouts.connect = .seconds(2)
        return try WebhookTransport(name: name, configuration: configuration)
    }

    @Test("503 twice, then 200: delivered once, after three attempts, row marked, no dead letter")
    func retriedUntilDelivered() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let message = try TestMessages.make(row: 1)
        let source = InMemoryOutboxSource(messages: [message])
        let engine = try Self.engine(
            source: source,
            transports: [try Self.transport("hook", server.url("/flaky/2"))],
            retry: RetryPolicy(initialDelay: .milliseconds(20), maximumAttempts: 5)
        )
        let summary = try await engine.drain()
        #expect(summary.deliveries == 1)
        #expect(summary.deadLetters == 0)
        #expect(source.consumedCount == 1)
        #expect(source.deadLetters.isEmpty)
        let requests = server.requests()
        #expect(requests.map(\.status) == [503, 503, 200])
        #expect(Set(requests.map(\.webhookID)) == [message.eventID])
    }

    @Test("Retry-After is honoured: the next attempt waits at least that long")
    func retryAfterHonoured() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let source = InMemoryOutboxSource(messages: [try TestMessages.make(row: 1)])
        let engine = try Self.engine(
            source: source,
            transports: [try Self.transport("hook", server.url("/retry-after/2"))],
            retry: RetryPolicy(initialDelay: .milliseconds(10), jitter: 0, maximumAttempts: 5)
        )
        let summary = try await engine.drain()
        #expect(summary.deliveries == 1)
        let requests = server.requests()
        try #require(requests.count == 2)
        #expect(requests.map(\.status) == [503, 200])
        let gap = requests[1].receivedAt - requests[0].receivedAt
        #expect(gap >= 1.9, "second attempt came \(gap) s after the first; Retry-After asked for 2 s")
    }

    @Test("410 Gone: the endpoint is disabled and its messages are dead-lettered, rows still complete")
    func goneDeadLetters() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let messages = try (1...5).map {
            try TestMessages.make(row: Int64($0), aggregate: "agg-\($0 % 2)", version: Int64($0))
        }
        let source = InMemoryOutboxSource(messages: messages)
        let engine = try Self.engine(
            source: source,
            transports: [try Self.transport("gone", server.url("/status/410"))],
            retry: RetryPolicy(initialDelay: .milliseconds(10), maximumAttempts: 3)
        )
        _ = try await engine.drain()
        #expect(source.consumedCount == 5)
        #expect(source.deadLetters.count == 5)
        #expect(source.deadLetters.allSatisfy { $0.destination == "gone" && $0.lastError.contains("410") })
        // Disabled after the first 410: the later messages were never sent.
        #expect(server.requests().count <= 2)
    }

    @Test(
        "two endpoints, one down: the healthy one receives every fixture message in aggregate order",
        .enabled(if: TestEnvironment.fixtureTestsEnabled, TestEnvironment.fixtureSkipMessage)
    )
    func oneEndpointDown() async throws {
        try #require(
            TestEnvironment.fixturesPresent,
            "CI=true but the EventSauce fixtures are missing at \(TestEnvironment.fixtures)"
        )
        let server = try await WebhookTestServer(secrets: [WebhookTransportTests.secret])
        defer { server.stop() }
        let rows = try TestMessages.fixtureRows()
        let decoder = EnvelopeDecoder(table: "outbox_messages")
        let messages = try rows.map { try decoder.decode($0) }
        let source = InMemoryOutboxSource(rows: rows)
        let up = try Self.transport("up", server.url("/ok"), secrets: [WebhookTransportTests.secret])
        let down = try Self.transport("down", "http://127.0.0.1:\(try FreePort.reserve())/hook")
        let engine = try Self.engine(
            source: source,
            transports: [up, down],
            retry: RetryPolicy(initialDelay: .milliseconds(10), maximumAttempts: 3),
            overrides: [
                "down": RetryPolicy(
                    initialDelay: .milliseconds(10),
                    maximumDelay: .milliseconds(50),
                    maximumAttempts: 3
                )
            ]
        )
        let clock = ContinuousClock()
        let start = clock.now
        let summary = try await engine.drain()
        let elapsed = clock.now - start

        #expect(source.consumedCount == rows.count)
        #expect(summary.deliveries == messages.count)
        #expect(source.deadLetters.count == messages.count)
        #expect(source.deadLetters.allSatisfy { $0.destination == "down" })
        #expect(elapsed < .seconds(30))

        let requests = server.requests().filter { $0.status == 200 }
        #expect(Set(requests.map(\.webhookID)) == Set(messages.map(\.eventID)))
        #expect(requests.count == messages.count)
        #expect(requests.allSatisfy { $0.signatureValid == true })
        // Bodies are the stored payload column, byte for byte.
        let stored = Dictionary(
            uniqueKeysWithValues: messages.map { ($0.eventID, String(decoding: $0.envelope, as: UTF8.self)) }
        )
        #expect(requests.allSatisfy { stored[$0.webhookID] == $0.body })
        // Per aggregate, versions arrive in increasing order.
        let byID = Dictionary(uniqueKeysWithValues: messages.map { ($0.eventID, $0) })
        var lastVersion: [String: Int64] = [:]
        for request in requests {
            guard let message = byID[request.webhookID], let version = message.aggregateRootVersion else { continue }
            let key = message.orderingKey
            #expect(
                version > lastVersion[key, default: 0],
                "aggregate \(key) version \(version) arrived after \(lastVersion[key, default: 0])"
            )
            lastVersion[key] = version
        }
    }
}
