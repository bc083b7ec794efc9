import MetricsTestKit
import OutboxRelay
import SourceTestSupport
import Synchronization
import Testing

@testable import OutboxSQLite

/// Deliveries and dead letters of the parked-queue drain count in the same metrics as those of
/// claimed batches (`outbox_relay_messages_delivered_total`, `…_delivery_attempts_total`,
/// `…_dead_letters_total`), and in the engine's health snapshot.
@Suite("RelayMetrics of the parked-queue drain")
struct RelayMetricsParkedDrainTests {
    typealias Name = RelayMetrics.Name

    /// A destination answering each message with what `answer` says now.
    final class ScriptedDestination: Transport {
        let name: String
        let answer: Mutex<@Sendable (OutboxMessage) -> DeliveryResult>

        init(name: String, answer: @escaping @Sendable (OutboxMessage) -> DeliveryResult) {
            self.name = name
            self.answer = Mutex(answer)
        }

        func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
            let answer = self.answer.withLock { $0 }
            return batch.map(answer)
        }
    }

    @Test("messages delivered and dead-lettered from the parked queue are counted per destination")
    func parkedDrainIsCounted() async throws {
        let (database, source) = try await RelayEngineParkingTests.seeded(
            RelayEngineParkingTests.payloads(300, aggregates: 10)
        )
        let file = SwitchableDestination(name: "file", up: true)
        let webhook = ScriptedDestination(name: "webhook") { _ in .retryable("connection refused") }
        let metrics = TestMetrics()
        let engine = try RelayEngine(
            source: source,
            transports: [file, webhook],
            routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["file", "webhook"])]),
            configuration: .init(
                batchSize: 100,
                retry: RetryPolicy(
                    initialDelay: .milliseconds(10),
                    maximumDelay: .milliseconds(40),
                    jitter: 0,
                    maximumAttempts: nil,
                    parkAfter: .attempts(2)
                ),
                idlePollInterval: .milliseconds(5) ... .milliseconds(50),
                parking: .init(pollInterval: .milliseconds(20))
            ),
            metrics: metrics
        )
        let run = Task { try await engine.run() }
        defer { run.cancel() }
        try await eventually("every row is marked, the webhook's messages parked") {
            try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0
                && database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 300
        }
        func delivered(_ destination: String) throws -> Int64 {
            try metrics.expectCounter(Name.messagesDelivered, [("destination", destination)]).totalValue
        }
        func deadLetters(_ destination: String) throws -> Int64 {
            try metrics.expectCounter(
                Name.deadLetters,
                [("destination", destination), ("reason", "delivery_failed")]
            ).totalValue
        }
        #expect(try delivered("file") == 300)
        #expect(try delivered("webhook") == 0)

        // The webhook comes back, but refuses aggregate agg3 for good: 30 messages set aside
        // from the parked queue, 270 delivered from it.
        webhook.answer.withLock {
            $0 = { message in message.aggregateRootID == "agg3" ? .permanent("HTTP 422") : .delivered }
        }
        try await eventually("the parked queue is empty") {
            try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 0
        }
        try await eventually("the counters caught up") { (try? delivered("webhook")) == 270 }
        #expect(try delivered("webhook") == 270)
        #expect(try delivered("file") == 300)
        #expect(try deadLetters("webhook") == 30)
        #expect(try database.int("SELECT count(*) FROM outbox_relay_dead_letters") == 30)
        let attempts = try metrics.expectCounter(
            Name.deliveryAttempts,
            [("destination", "webhook"), ("outcome", "delivered")]
        )
        #expect(attempts.totalValue == 270)
        #expect(engine.health.deadLetters == 30)
        #expect(engine.health.rowsCompleted == 300)
        run.cancel()
        _ = await run.result
    }
}
