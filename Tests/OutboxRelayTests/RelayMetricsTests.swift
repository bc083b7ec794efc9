import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import OutboxRelay

/// The engine's swift-metrics, recorded into MetricsTestKit's `TestMetrics` (passed to the
/// engine, so no global bootstrap and the suites can run in parallel).
@Suite("RelayMetrics")
struct RelayMetricsTests {
    typealias Name = RelayMetrics.Name

    static func engine(
        _ source: any OutboxSource,
        _ transports: [any Transport],
        metrics: TestMetrics,
        unrouted: RoutingTable.UnroutedPolicy = .skip,
        routes: [(String, [String])]? = nil,
        statusInterval: Duration = .seconds(15)
    ) throws -> RelayEngine {
        var configuration = RelayEngine.Configuration(
            batchSize: 10,
            maximumBatchesInFlight: 4,
            retry: RelayEngineTests.fastRetry,
            idlePollInterval: .milliseconds(1) ... .milliseconds(5),
            shutdownGracePeriod: .milliseconds(200),
            sourceRetry: RetryPolicy(initialDelay: .milliseconds(1), maximumDelay: .milliseconds(5), maximumAttempts: 5)
        )
        configuration.statusInterval = statusInterval
        let rules = try (routes ?? [("*", transports.map(\.name))]).map { pattern, destinations in
            RoutingTable.Rule(events: try EventTypePattern(pattern), to: destinations)
        }
        return try RelayEngine(
            source: source,
            transports: transports,
            routing: try RoutingTable(rules: rules, unrouted: unrouted),
            configuration: configuration,
            metrics: metrics,
            logger: Logger(label: "test")
        )
    }

    @Test func countersMatchWhatTheDrainDeliveredAndDeadLettered() async throws {
        var payloads = (1...20).map { outboxPayload(aggregate: "a\($0 % 5)", version: $0) }
        payloads.insert(Array("{".utf8), at: 3)
        payloads.insert(Array("".utf8), at: 11)
        let source = InMemoryOutbox(payloads: payloads)
        let kafka = RecordingTransport(name: "kafka")
        // Rejects a1-1 for good; b-side: a2-2 fails twice before it goes through.
        let webhook = RecordingTransport(
            name: "webhook",
            script: { attempt, message in
                if message.eventID == "a1-1" { return .permanent("HTTP 400") }
                if message.eventID == "a2-2", attempt <= 2 { return .retryable("HTTP 503") }
                return .delivered
            }
        )
        let metrics = TestMetrics()
        let summary = try await Self.engine(source, [kafka, webhook], metrics: metrics).drain()
        #expect(summary.rowsCompleted == 22)

        #expect(try metrics.expectCounter(Name.rowsRead, [("table", "outbox_messages")]).totalValue == 22)
        #expect(
            try metrics.expectCounter(Name.rowsCompleted, [("table", "outbox_messages"), ("action", "mark")])
                .totalValue == 22
        )
        #expect(try metrics.expectCounter(Name.messagesDelivered, [("destination", "kafka")]).totalValue == 20)
        #expect(try metrics.expectCounter(Name.messagesDelivered, [("destination", "webhook")]).totalValue == 19)
        func attempts(_ destination: String, _ outcome: String) throws -> Int64 {
            try metrics.expectCounter(Name.deliveryAttempts, [("destination", destination), ("outcome", outcome)])
                .totalValue
        }
        #expect(try attempts("kafka", "delivered") == 20)
        #expect(try attempts("kafka", "retryable") == 0)
        #expect(try attempts("webhook", "permanent") == 1)
        #expect(try attempts("webhook", "retryable") == 2)
        #expect(try attempts("webhook", "delivered") >= 19)
        func deadLetters(_ destination: String, _ reason: String) throws -> Int64 {
            try metrics.expectCounter(Name.deadLetters, [("destination", destination), ("reason", reason)])
                .totalValue
        }
        #expect(try deadLetters("", "undecodable") == 2)
        #expect(try deadLetters("", "unrouted") == 0)
        #expect(try deadLetters("webhook", "delivery_failed") == 1)
        #expect(try deadLetters("kafka", "delivery_failed") == 0)
        #expect(await source.deadLetters.count == 3)

        let latency = try metrics.expectTimer(Name.deliveryLatency, [("destination", "kafka")])
        #expect(latency.values.count == 20)
        // Recorded in 2024: the latency is measured from the time of recording.
        #expect(latency.values.allSatisfy { $0 > 86_400 * 1_000_000_000 })

        let table = [("table", "outbox_messages")]
        let rowsInFlight = try metrics.expectGauge(Name.rowsInFlight, table)
        #expect(rowsInFlight.values.contains { $0 > 0 })
        #expect(rowsInFlight.lastValue == 0)
        #expect(try metrics.expectGauge(Name.batchesInFlight, table).lastValue == 0)
        let active = try metrics.expectGauge(Name.active, table)
        #expect(active.values.contains(1))
        #expect(active.lastValue == 0)
        #expect(try metrics.expectCounter(Name.sourceErrors, table).totalValue == 0)
    }

    @Test func unroutedDeadLettersHaveAnEmptyDestination() async throws {
        let source = InMemoryOutbox(payloads: [
            outboxPayload(type: "orders.placed", aggregate: "a", version: 1),
            outboxPayload(type: "users.registered", aggregate: "b", version: 1),
        ])
        let metrics = TestMetrics()
        let engine = try Self.engine(
            source,
            [RecordingTransport(name: "sink")],
            metrics: metrics,
            unrouted: .deadLetter,
            routes: [("orders.*", ["sink"])]
        )
        _ = try await engine.drain()
        #expect(
            try metrics.expectCounter(Name.deadLetters, [("destination", ""), ("reason", "unrouted")]).totalValue == 1
        )
        #expect(try metrics.expectCounter(Name.messagesDelivered, [("destination", "sink")]).totalValue == 1)
    }

    @Test func latencyOfMessagesWithoutTimeOfRecordingIsMeasuredFromTheClaim() async throws {
        let payload = Array(
            #"{"headers":{"__event_type":"t","__event_id":"e-1","__aggregate_root_id":"a"},"payload":{}}"#.utf8
        )
        let source = InMemoryOutbox(payloads: [payload])
        let metrics = TestMetrics()
        let slow = RecordingTransport(name: "sink", before: { try? await Task.sleep(for: .milliseconds(50)) })
        _ = try await Self.engine(source, [slow], metrics: metrics).drain()
        let latency = try metrics.expectTimer(Name.deliveryLatency, [("destination", "sink")])
        #expect(latency.values.count == 1)
        let seconds = Double(latency.values.first ?? 0) / 1e9
        #expect(seconds >= 0.05 && seconds < 10, "from the claim, not from 1970: \(seconds) s")
    }

    @Test func sourceErrorsAreCountedAndShowInTheHealthSnapshot() async throws {
        let source = FailingReads(InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)]), failures: 3)
        let metrics = TestMetrics()
        let engine = try Self.engine(source, [RecordingTransport(name: "sink")], metrics: metrics)
        #expect(engine.health.phase == .idle)
        let summary = try await engine.drain()
        #expect(summary.rowsCompleted == 1)
        #expect(try metrics.expectCounter(Name.sourceErrors, [("table", "outbox_messages")]).totalValue == 3)
        let health = engine.health
        #expect(health.phase == .stopped)
        #expect(health.consecutiveSourceFailures == 0, "a read succeeded after the failures")
        #expect(health.rowsInFlight == 0)
    }

    @Test func healthShowsRowsInFlightWhileADestinationIsBlocked() async throws {
        let source = StatusReportingOutbox(
            InMemoryOutbox(payloads: (1...25).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        )
        let gate = Gate()
        let metrics = TestMetrics()
        let blocked = RecordingTransport(name: "sink", before: { await gate.wait() })
        let engine = try Self.engine(source, [blocked], metrics: metrics, statusInterval: .milliseconds(10))
        let task = Task { try await engine.run() }
        let table = [("table", "outbox_messages")]
        try await eventually {
            let health = engine.health
            return health.phase == .relaying && health.rowsInFlight == 25 && health.batchesInFlight == 3
        }
        #expect(try metrics.expectGauge(Name.rowsInFlight, table).lastValue == 25)
        #expect(try metrics.expectGauge(Name.batchesInFlight, table).lastValue == 3)
        #expect(try metrics.expectGauge(Name.active, table).lastValue == 1)
        try await eventually { (try? metrics.expectGauge(Name.backlogRows, table).lastValue) == 25 }
        #expect(try metrics.expectGauge(Name.oldestUndeliveredAge, table).lastValue == 90)

        await gate.open()
        try await eventually { (try? metrics.expectGauge(Name.backlogRows, table).lastValue) == 0 }
        #expect(try metrics.expectGauge(Name.oldestUndeliveredAge, table).lastValue == 0)
        task.cancel()
        _ = try? await task.value
        #expect(engine.health.phase == .stopped)
        #expect(try metrics.expectGauge(Name.active, table).lastValue == 0)
    }
}

/// A source whose first `failures` reads fail.
final class FailingReads: OutboxSource {
    struct ReadFailed: Error {}
    let base: InMemoryOutbox
    private let remaining: Mutex<Int>
    var flavour: OutboxFlavour { base.flavour }
    var table: String { base.table }

    init(_ base: InMemoryOutbox, failures: Int) {
        self.base = base
        self.remaining = Mutex(failures)
    }

    func open() async throws {}
    func close() async {}
    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        let fail = remaining.withLock { remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }
        if fail { throw ReadFailed() }
        return try await base.fetch(limit: limit, after: cursor)
    }
    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        try await base.complete(rows: rows, deadLetters: deadLetters)
    }
}

/// An in-memory source with a status query: its backlog, and an oldest age of 90 s.
final class StatusReportingOutbox: OutboxSource, OutboxStatusReporting {
    let base: InMemoryOutbox
    var flavour: OutboxFlavour { base.flavour }
    var table: String { base.table }

    init(_ base: InMemoryOutbox) { self.base = base }

    func open() async throws {}
    func close() async {}
    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        try await base.fetch(limit: limit, after: cursor)
    }
    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        try await base.complete(rows: rows, deadLetters: deadLetters)
    }
    func status() async throws -> OutboxStatus {
        let backlog = await base.undeliveredCount
        return OutboxStatus(
            backlog: backlog,
            oldestUndeliveredAge: backlog > 0 ? .seconds(90) : nil,
            deadLetters: 0,
            lockHolder: nil
        )
    }
}
