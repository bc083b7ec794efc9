import Foundation
import MetricsTestKit
import OutboxHTTP
import OutboxRelay
import Testing

/// The webhook transport's swift-metrics against a real local server, recorded into
/// MetricsTestKit's `TestMetrics`.
@Suite(
    "WebhookMetrics against a real local server",
    .enabled(if: TestEnvironment.serverTestsEnabled, TestEnvironment.serverSkipMessage)
)
struct WebhookMetricsTests {
    typealias Name = WebhookMetrics.Name

    static func transport(
        _ name: String,
        _ url: String,
        metrics: TestMetrics,
        concurrency: Int = 4
    ) throws
        -> WebhookTransport
    {
        var configuration = WebhookTransport.Configuration(url: url)
        configuration.network.allowPrivateNetworks = true
        configuration.concurrency = concurrency
        configuration.timeouts.connect = .seconds(2)
        return try WebhookTransport(name: name, configuration: configuration, metrics: metrics)
    }

    @Test("410 Gone: endpoint_disabled goes from 0 to 1, the transport and the engine's health report it")
    func endpointDisabled() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let metrics = TestMetrics()
        let gone = try Self.transport("gone", server.url("/status/410"), metrics: metrics)
        let fine = try Self.transport("fine", server.url("/ok"), metrics: metrics)
        // The metrics exist from the start (the engine starts its transports again: no effect).
        try await gone.start()
        try await fine.start()
        let disabled = try metrics.expectGauge(Name.endpointDisabled, [("destination", "gone")])
        #expect(disabled.lastValue == 0)
        #expect(try metrics.expectGauge(Name.endpointDisabled, [("destination", "fine")]).lastValue == 0)
        #expect(gone.disabledReason == nil)

        let messages = try (1...4).map { try TestMessages.make(row: Int64($0), aggregate: "a\($0)", version: 1) }
        let source = InMemoryOutboxSource(messages: messages)
        let engine = try WebhookEngineTests.engine(
            source: source,
            transports: [gone, fine],
            retry: RetryPolicy(initialDelay: .milliseconds(10), maximumAttempts: 2)
        )
        #expect(engine.health.disabledTransports.isEmpty)
        _ = try await engine.drain()
        #expect(source.deadLetters.count == 4)
        #expect(disabled.lastValue == 1)
        #expect(try metrics.expectGauge(Name.endpointDisabled, [("destination", "fine")]).lastValue == 0)
        let reason = try #require(gone.disabledReason)
        #expect(reason.contains("410 Gone"))
        #expect(fine.disabledReason == nil)
        #expect(engine.health.disabledTransports == ["gone": reason])
    }

    @Test("connection reuse: one request at a time over keep-alive opens one connection and reuses it")
    func connectionReuse() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let metrics = TestMetrics()
        let transport = try Self.transport("hook", server.url("/ok"), metrics: metrics, concurrency: 1)
        let messages = try (1...12).map { try TestMessages.make(row: Int64($0), aggregate: "a", version: Int64($0)) }
        let first = await transport.deliver(Array(messages[..<6]))
        let second = await transport.deliver(Array(messages[6...]))
        await transport.shutdown()
        #expect((first + second).allSatisfy { $0.isDelivered })
        let opened = try metrics.expectCounter(Name.connectionsOpened, [("destination", "hook")]).totalValue
        let reused = try metrics.expectCounter(Name.connectionReuses, [("destination", "hook")]).totalValue
        #expect(opened >= 1)
        #expect(opened + reused == 12, "opened \(opened), reused \(reused)")
        #expect(reused >= 10, "the test server keeps connections alive (HTTP/1.1); reused only \(reused) of 12")
    }

    @Test("the README's Monitoring section and the dashboard name exactly the webhook metrics there are")
    func readmeNamesThem() throws {
        let readme = try String(contentsOfFile: TestEnvironment.repositoryRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "### Monitoring").map { readme[$0.lowerBound...] })
        let named = Set(
            section.matches(of: /outbox_relay_(webhook_[a-z0-9_]+|endpoint_disabled)/).map { String($0.output.0) }
        )
        let defined: Set = [Name.endpointDisabled, Name.connectionsOpened, Name.connectionReuses]
        #expect(named == defined)
        let dashboard = try String(
            contentsOfFile: TestEnvironment.repositoryRoot + "/Examples/Grafana/outbox-relay-dashboard.json",
            encoding: .utf8
        )
        let charted = Set(
            dashboard.matches(of: /outbox_relay_(webhook_[a-z0-9_]+|endpoint_disabled)/).map { String($0.output.0) }
        )
        #expect(charted == defined, "\(charted)")
    }

    @Test("a refused connection counts neither as opened nor as reused")
    func refusedConnection() async throws {
        // A port nothing listens on: bind one, close it, use it.
        let server = try await WebhookTestServer()
        let url = server.url("/ok")
        server.stop()
        let metrics = TestMetrics()
        let transport = try Self.transport("down", url, metrics: metrics)
        let results = await transport.deliver([try TestMessages.make(row: 1)])
        await transport.shutdown()
        #expect(!results[0].isDelivered)
        #expect(try metrics.expectCounter(Name.connectionsOpened, [("destination", "down")]).totalValue == 0)
        #expect(try metrics.expectCounter(Name.connectionReuses, [("destination", "down")]).totalValue == 0)
    }
}
