import CoreMetrics
import Foundation
import OutboxRelay
import SourceTestSupport
import Testing

@testable import OutboxSQLite

@Suite("RelayEngine parking on SQLite")
struct RelayEngineParkingTests {
    /// `count` rows over `aggregates` aggregates, interleaved; each aggregate's versions ascend.
    static func payloads(_ count: Int, aggregates: Int, firstVersion: Int = 1) -> [[UInt8]] {
        (0..<count).map { index in
            let aggregate = "agg\(index % aggregates)"
            let version = firstVersion + index / aggregates
            return Array(
                #"""
                {"headers":{"__event_type":"acme.order_placed","__event_id":"\#(aggregate)-\#(version)",\#
                "__aggregate_root_id":"\#(aggregate)","__aggregate_root_version":\#(version)},\#
                "payload":{"v":\#(version)}}
                """#.utf8
            )
        }
    }

    static func engine(
        source: SQLiteSource,
        transports: [any Transport],
        maximumParked: Int = 100_000,
        metrics: (any MetricsFactory)? = nil
    ) throws
        -> RelayEngine
    {
        try RelayEngine(
            source: source,
            transports: transports,
            routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: transports.map(\.name))]),
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
                parking: .init(maximumEntries: maximumParked, pollInterval: .milliseconds(20))
            ),
            metrics: metrics
        )
    }

    static func seeded(_ payloads: [[UInt8]]) async throws -> (TemporaryDatabase, SQLiteSource) {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        try await source.insert(payloads: payloads)
        return (database, source)
    }

    @Test("a dead destination does not stall the others; once up it receives every parked message in order")
    func deadDestinationDoesNotStallTheOthers() async throws {
        let (database, source) = try await Self.seeded(Self.payloads(2_000, aggregates: 50))
        try await ParkingScenario.deadDestinationDoesNotStallTheOthers(
            source: source,
            rows: 2_000,
            undeliveredRows: { Int(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0")) },
            parkedEntries: { Int(try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries")) },
            deadLetters: { Int(try database.int("SELECT count(*) FROM outbox_relay_dead_letters")) }
        )
    }

    @Test("a partially failing destination keeps receiving the other aggregates; the failing one keeps its order")
    func partiallyFailingDestination() async throws {
        let (database, source) = try await Self.seeded(Self.payloads(1_000, aggregates: 10))
        let webhook = SwitchableDestination(name: "webhook", up: true, refusing: ["agg3"])
        let engine = try Self.engine(source: source, transports: [webhook])
        let run = Task { try await engine.run() }
        defer { run.cancel() }

        try await eventually("every other aggregate arrived and every row is marked") {
            try webhook.received.count >= 900
                && database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0
        }
        #expect(!webhook.received.contains { $0.aggregateRootID == "agg3" })
        #expect(try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 100)
        let parkedKeys = try database.texts("SELECT DISTINCT ordering_key FROM outbox_relay_parked_deliveries")
        #expect(parkedKeys == ["/agg3"])

        webhook.setUp(true)
        try await eventually("agg3 arrived") { webhook.received.count >= 1_000 }
        expectInOrderOnce(webhook.received, count: 1_000)
        run.cancel()
        _ = await run.result
    }

    @Test("parked messages survive a stop; the next run parks new messages of their aggregates behind them")
    func parkedMessagesSurviveARestart() async throws {
        let (database, source) = try await Self.seeded(Self.payloads(300, aggregates: 3))
        let first = SwitchableDestination(name: "webhook")
        let engine = try Self.engine(source: source, transports: [first])
        let run = Task { try await engine.run() }
        try await eventually("every row is parked and marked") {
            try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 300
                && database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0
        }
        run.cancel()
        _ = await run.result

        // Later versions of the same aggregates arrive while no relay runs.
        let restarted = try database.source()
        try await restarted.insert(payloads: Self.payloads(30, aggregates: 3, firstVersion: 101))
        let second = SwitchableDestination(name: "webhook", up: true)
        let summary = try await Self.engine(source: restarted, transports: [second]).drain()
        expectInOrderOnce(second.received, count: 330)
        #expect(summary.parkedDelivered == 330, "the new messages were parked behind the old ones")
        #expect(try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") == 0)
    }

    @Test("at the parked cap the relay stops claiming rows instead of dropping anything")
    func parkedCapStopsClaiming() async throws {
        let (database, source) = try await Self.seeded(Self.payloads(1_000, aggregates: 1_000))
        let webhook = SwitchableDestination(name: "webhook")
        let engine = try Self.engine(source: source, transports: [webhook], maximumParked: 200)
        let run = Task { try await engine.run() }
        defer { run.cancel() }
        try await eventually("the cap is reached") {
            try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries") >= 200
        }
        try await Task.sleep(for: .milliseconds(300))
        let parked = try database.int("SELECT count(*) FROM outbox_relay_parked_deliveries")
        #expect(parked < 200 + 100 * 8, "at most the window beyond the cap")
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 1_000 - parked)
        webhook.setUp(true)
        try await eventually("everything arrived") { webhook.received.count >= 1_000 }
        expectInOrderOnce(webhook.received, count: 1_000)
        run.cancel()
        _ = await run.result
    }
}
