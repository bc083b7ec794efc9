import MetricsTestKit
import OutboxRelay
import SourceTestSupport
import Testing

@testable import OutboxSQLite

/// The parked-queue gauges (`outbox_relay_parked_messages`, `outbox_relay_parked_bytes`,
/// `outbox_relay_parking_at_cap`) of a real engine on SQLite, into MetricsTestKit's `TestMetrics`.
@Suite("RelayMetrics of parking on SQLite")
struct RelayMetricsParkingTests {
    typealias Name = RelayMetrics.Name

    @Test("the gauges follow the parked queue: up to the cap and at it while a destination is down, 0 once drained")
    func gaugesFollowTheParkedQueueAndTheCap() async throws {
        let (database, source) = try await RelayEngineParkingTests.seeded(
            RelayEngineParkingTests.payloads(1_000, aggregates: 1_000)
        )
        let file = SwitchableDestination(name: "file", up: true)
        let webhook = SwitchableDestination(name: "webhook")
        let metrics = TestMetrics()
        let engine = try RelayEngineParkingTests.engine(
            source: source,
            transports: [file, webhook],
            maximumParked: 200,
            metrics: metrics
        )
        let run = Task { try await engine.run() }
        defer { run.cancel() }
        func gauge(_ name: String, _ destination: String) throws -> Double? {
            try metrics.expectGauge(name, [("destination", destination)]).lastValue
        }
        // At the cap no more rows are claimed: once the batches in flight are written, the
        // gauges show what the parked table holds.
        try await eventually("the webhook's queue is at its cap with every parked message written") {
            let parked = try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries")
            return try gauge(Name.parkingAtCap, "webhook") == 1
                && gauge(Name.parkedMessages, "webhook") == Double(parked)
        }
        let parked = try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries")
        let bytes = try database.int("SELECT sum(length(CAST(payload AS BLOB))) FROM outbox_relay_parked_deliveries")
        #expect(parked >= 200)
        #expect(try gauge(Name.parkedBytes, "webhook") == Double(bytes))
        #expect(try gauge(Name.parkedMessages, "file") == 0)
        #expect(try gauge(Name.parkingAtCap, "file") == 0)
        // A library user sees the same levels in the engine's snapshot.
        let level = engine.health.parkedQueues["webhook"]
        #expect(level == ParkedQueueLevel(entries: Int(parked), bytes: Int(bytes), isAtCap: true))
        #expect((engine.health.parkedQueues["file"]?.entries ?? 0) == 0)

        webhook.setUp(true)
        try await eventually("everything arrived") { webhook.received.count >= 1_000 }
        try await eventually("the gauges are back to 0") {
            try gauge(Name.parkedMessages, "webhook") == 0 && gauge(Name.parkingAtCap, "webhook") == 0
        }
        #expect(try gauge(Name.parkedBytes, "webhook") == 0)
        #expect((engine.health.parkedQueues["webhook"] ?? ParkedQueueLevel()) == ParkedQueueLevel())
        run.cancel()
        _ = await run.result
    }
}
