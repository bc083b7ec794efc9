import Logging
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import OutboxRelay

/// Unit tests of the engine with test doubles: an in-memory outbox and scripted transports.
@Suite("RelayEngine")
struct RelayEngineTests {
    static let fastRetry = RetryPolicy(
        initialDelay: .milliseconds(1),
        multiplier: 2,
        maximumDelay: .milliseconds(5),
        jitter: 0,
        maximumAttempts: 5
    )

    static func engine(
        _ source: InMemoryOutbox,
        _ transports: [any Transport],
        routes: [(String, [String])] = [("*", [])],
        unrouted: RoutingTable.UnroutedPolicy = .skip,
        batchSize: Int = 10,
        inFlight: Int = 4,
        rowsInFlight: Int = 10_000,
        retry: RetryPolicy = fastRetry,
        expander: (any MessageExpander)? = nil,
        clock: any Clock<Duration> = ContinuousClock()
    ) throws -> RelayEngine {
        let rules = try routes.map { pattern, destinations in
            RoutingTable.Rule(
                events: try EventTypePattern(pattern),
                to: destinations.isEmpty ? transports.map(\.name) : destinations
            )
        }
        return try RelayEngine(
            source: source,
            transports: transports,
            routing: try RoutingTable(rules: rules, unrouted: unrouted),
            expander: expander,
            configuration: .init(
                batchSize: batchSize,
                maximumBatchesInFlight: inFlight,
                maximumRowsInFlight: rowsInFlight,
                retry: retry,
                idlePollInterval: .milliseconds(1) ... .milliseconds(5),
                shutdownGracePeriod: .milliseconds(200)
            ),
            clock: clock,
            logger: Logger(label: "test")
        )
    }

    @Test func deliversEveryRowOnceAndMarksIt() async throws {
        let source = InMemoryOutbox(payloads: (1...95).map { outboxPayload(aggregate: "a\($0 % 7)", version: $0) })
        let transport = RecordingTransport(name: "sink")
        let summary = try await Self.engine(source, [transport]).drain()
        #expect(summary.rowsCompleted == 95)
        #expect(summary.deliveries == 95)
        #expect(await source.undeliveredCount == 0)
        #expect(transport.deliveredRowIDs.sorted() == (1...95).map { OutboxRowID.integer(Int64($0)) })
    }

    @Test func rowIsCompletedOnlyAfterEveryDestinationAcknowledged() async throws {
        let source = InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)])
        let healthy = RecordingTransport(name: "healthy")
        // Fails twice, then succeeds: the row must wait for it.
        let flaky = RecordingTransport(
            name: "flaky",
            script: { attempt, _ in attempt <= 2 ? .retryable("503") : .delivered }
        )
        let summary = try await Self.engine(source, [healthy, flaky]).drain()
        #expect(summary.rowsCompleted == 1)
        #expect(summary.deliveries == 2)
        #expect(summary.deadLetters == 0)
        #expect(flaky.calls == 3)
        #expect(healthy.calls == 1)
        let completions = await source.completions
        #expect(completions.count == 1)
        #expect(completions.first?.rows == [.integer(1)])
    }

    @Test func rowWaitsWhileOneDestinationIsBlocked() async throws {
        let source = InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)])
        let gate = Gate()
        let healthy = RecordingTransport(name: "healthy")
        let slow = RecordingTransport(name: "slow", script: { _, _ in .delivered }, before: { await gate.wait() })
        let engine = try Self.engine(source, [healthy, slow])
        let task = Task { try await engine.drain() }
        try await eventually { healthy.calls == 1 && slow.started == 1 }
        #expect(
            await source.completions.isEmpty,
            "the row must not be marked while a destination has not acknowledged it"
        )
        await gate.open()
        let summary = try await task.value
        #expect(summary.rowsCompleted == 1)
        #expect(await source.undeliveredCount == 0)
    }

    @Test func permanentFailureIsDeadLetteredWithItsDestinationAndTheRowCompleted() async throws {
        let source = InMemoryOutbox(payloads: [
            outboxPayload(aggregate: "a", version: 1), outboxPayload(aggregate: "b", version: 1),
        ])
        let healthy = RecordingTransport(name: "kafka")
        let rejecting = RecordingTransport(
            name: "webhook",
            script: { _, message in
                message.aggregateRootID == "a" ? .permanent("HTTP 400") : .delivered
            }
        )
        let summary = try await Self.engine(source, [healthy, rejecting]).drain()
        #expect(summary.rowsCompleted == 2)
        #expect(summary.deadLetters == 1)
        let letters = await source.deadLetters
        #expect(letters.count == 1)
        #expect(letters.first?.destination == "webhook")
        #expect(letters.first?.attempts == 1)
        #expect(letters.first?.lastError == "HTTP 400")
        #expect(letters.first?.rowID == .integer(1))
        #expect(letters.first?.payload == (await source.storedPayload(.integer(1))))
        #expect(healthy.deliveredRowIDs.count == 2)
    }

    @Test func exhaustedRetriesAreDeadLetteredAfterMaximumAttempts() async throws {
        let source = InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)])
        let down = RecordingTransport(name: "down", script: { _, _ in .retryable("connection refused") })
        let summary = try await Self.engine(source, [down], retry: Self.fastRetry).drain()
        #expect(down.calls == 5)
        #expect(summary.deadLetters == 1)
        let letter = try #require(await source.deadLetters.first)
        #expect(letter.attempts == 5)
        #expect(letter.lastError.contains("connection refused"))
        #expect(letter.firstFailedAt <= letter.lastFailedAt)
        #expect(await source.undeliveredCount == 0)
    }

    @Test func laterMessagesOfAFailedAggregateAreResentInOrder() async throws {
        // a1 fails once; a2 and a3 were "delivered" by the transport after it. They must be
        // sent again after a1, so the destination's last copy of each is in order.
        let source = InMemoryOutbox(payloads: [
            outboxPayload(aggregate: "a", version: 1), outboxPayload(aggregate: "b", version: 1),
            outboxPayload(aggregate: "a", version: 2), outboxPayload(aggregate: "a", version: 3),
        ])
        let transport = RecordingTransport(
            name: "sink",
            script: { attempt, message in
                message.aggregateRootID == "a" && message.aggregateRootVersion == 1 && attempt == 1
                    ? .retryable("timeout") : .delivered
            }
        )
        let summary = try await Self.engine(source, [transport]).drain()
        #expect(summary.deadLetters == 0)
        let versionsOfA = transport.deliveredMessages.filter { $0.aggregateRootID == "a" }.map {
            $0.aggregateRootVersion!
        }
        // First round: a2, a3 delivered out of order; second round: a1, a2, a3.
        #expect(versionsOfA == [2, 3, 1, 2, 3])
        let versionsOfB = transport.deliveredMessages.filter { $0.aggregateRootID == "b" }.map {
            $0.aggregateRootVersion!
        }
        #expect(versionsOfB == [1], "another aggregate is not resent")
    }

    @Test func undecodableRowsAreSetAsideAndTheRestDelivered() async throws {
        let good = outboxPayload(aggregate: "a", version: 1)
        let source = InMemoryOutbox(payloads: [
            good, [], Array(good.prefix(40)), Array(#"{"payload":{}}"#.utf8), outboxPayload(aggregate: "a", version: 2),
        ])
        let transport = RecordingTransport(name: "sink")
        let summary = try await Self.engine(source, [transport]).drain()
        #expect(summary.rowsCompleted == 5)
        #expect(summary.undecodableRows == 3)
        #expect(transport.deliveredRowIDs == [.integer(1), .integer(5)])
        let reasons = await source.deadLetters.sorted { $0.rowID < $1.rowID }.map(\.lastError)
        #expect(reasons.count == 3)
        #expect(reasons[0].contains("empty"))
        #expect(reasons[1].contains("truncated"))
        #expect(reasons[2].contains("headers"))
        #expect(await source.deadLetters.allSatisfy { $0.destination == nil })
        #expect(await source.deadLetters.first { $0.rowID == .integer(3) }?.payload == Array(good.prefix(40)))
    }

    @Test(arguments: [RoutingTable.UnroutedPolicy.skip, .deadLetter])
    func unroutedMessagesFollowThePolicy(policy: RoutingTable.UnroutedPolicy) async throws {
        let source = InMemoryOutbox(payloads: [
            outboxPayload(type: "acme.shop.orders.order_was_placed", aggregate: "a", version: 1),
            outboxPayload(type: "acme.shop.customers.customer_registered", aggregate: "c", version: 1),
        ])
        let transport = RecordingTransport(name: "orders")
        let summary = try await Self.engine(
            source,
            [transport],
            routes: [("acme.shop.orders.*", ["orders"])],
            unrouted: policy
        ).drain()
        #expect(summary.rowsCompleted == 2)
        #expect(transport.deliveredRowIDs == [.integer(1)])
        switch policy {
        case .skip:
            #expect(summary.skippedUnrouted == 1)
            #expect(await source.deadLetters.isEmpty)
        default:
            #expect(summary.deadLetters == 1)
            #expect(await source.deadLetters.first?.lastError.contains("no route") == true)
        }
    }

    @Test func rowsCommittedLateBehindTheCursorAreNotSkipped() async throws {
        let source = InMemoryOutbox(payloads: (1...30).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        let transport = RecordingTransport(
            name: "sink",
            script: { _, message in
                message.rowID == .integer(25) ? .retryable("slow") : .delivered
            }
        )
        // While row 25 is retried, a transaction that got id 3 commits late.
        await source.hide(.integer(3))
        let engine = try Self.engine(source, [transport], batchSize: 10)
        let task = Task { try await engine.drain() }
        try await eventually { transport.calls >= 3 }
        await source.reveal(.integer(3))
        _ = try await task.value
        #expect(await source.undeliveredCount == 0)
        #expect(transport.deliveredRowIDs.contains(.integer(3)))
    }

    @Test func inFlightRowsAreBoundedByBatchSizeTimesWindow() async throws {
        let source = InMemoryOutbox(payloads: (1...200).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        // The first delivery waits until the window is full: the engine must claim ahead.
        let gate = Gate()
        let transport = RecordingTransport(name: "sink", script: { _, _ in .delivered }, before: { await gate.wait() })
        let engine = try Self.engine(source, [transport], batchSize: 10, inFlight: 3)
        let task = Task { try await engine.drain() }
        try await eventually { await source.maximumOutstanding == 30 }
        await gate.open()
        _ = try await task.value
        #expect(await source.maximumOutstanding <= 30)
        #expect(await source.undeliveredCount == 0)
    }

    @Test func inFlightRowsAreBoundedWhateverTheBatchSize() async throws {
        let source = InMemoryOutbox(payloads: (1...200).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        let gate = Gate()
        let transport = RecordingTransport(name: "sink", script: { _, _ in .delivered }, before: { await gate.wait() })
        let engine = try Self.engine(source, [transport], batchSize: 10, inFlight: 4, rowsInFlight: 25)
        let task = Task { try await engine.drain() }
        try await eventually { await source.maximumOutstanding == 20 }
        await gate.open()
        _ = try await task.value
        #expect(await source.maximumOutstanding <= 20, "only two batches of 10 fit in 25 rows")
        #expect(await source.maximumOutstanding > 10, "a second batch is claimed while the first is in flight")
        #expect(await source.undeliveredCount == 0)
    }

    @Test func dispatcherFlavourOrdersAnAggregateByVersionWithinABatch() async throws {
        // Same time_of_recording: PHP's ORDER BY returns them in any order.
        let source = InMemoryOutbox(
            flavour: .dispatcher,
            payloads: [
                outboxPayload(aggregate: "a", version: 2), outboxPayload(aggregate: "b", version: 1),
                outboxPayload(aggregate: "a", version: 1),
            ]
        )
        let transport = RecordingTransport(name: "sink")
        _ = try await Self.engine(source, [transport]).drain()
        #expect(
            transport.deliveredMessages.map { "\($0.aggregateRootID!)\($0.aggregateRootVersion!)" } == [
                "a1", "b1", "a2",
            ]
        )
    }

    @Test func cancellationLeavesUnfinishedRowsUndelivered() async throws {
        let source = InMemoryOutbox(payloads: (1...5).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        let gate = Gate()
        let stuck = RecordingTransport(name: "stuck", script: { _, _ in .delivered }, before: { await gate.wait() })
        let engine = try Self.engine(source, [stuck])
        let task = Task { try await engine.run() }
        try await eventually { stuck.started >= 1 }
        task.cancel()
        await gate.open()
        try await task.value
        #expect(await source.undeliveredCount == 5, "nothing is marked that was not acknowledged")
    }

    @Test func gracefulShutdownLetsBatchesInFlightFinish() async throws {
        let source = InMemoryOutbox(payloads: (1...5).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        let gate = Gate()
        let slow = RecordingTransport(name: "slow", script: { _, _ in .delivered }, before: { await gate.wait() })
        let clock = TestClock()
        let engine = try Self.engine(source, [slow], clock: clock)
        try await testGracefulShutdown { trigger in
            let task = Task { try await engine.run() }
            try await eventually { slow.started == 1 }
            trigger.triggerGracefulShutdown()
            try await eventually { clock.sleepers == 2 }  // the poll timer and the grace period
            await gate.open()
            try await task.value
        }
        #expect(await source.undeliveredCount == 0, "the batch in flight was delivered and marked")
        #expect(await source.fetches == 1, "no rows are claimed after shutdown was requested")
    }

    @Test func whenTheGracePeriodEndsUnfinishedRowsStayUndelivered() async throws {
        let source = InMemoryOutbox(payloads: (1...5).map { outboxPayload(aggregate: "a\($0)", version: 1) })
        let gate = Gate()
        let stuck = RecordingTransport(name: "stuck", script: { _, _ in .delivered }, before: { await gate.wait() })
        let clock = TestClock()
        let engine = try Self.engine(source, [stuck], clock: clock)
        try await testGracefulShutdown { trigger in
            let task = Task { try await engine.drain() }
            try await eventually { stuck.started == 1 && clock.sleepers == 1 }  // delivering, poll timer set
            trigger.triggerGracefulShutdown()
            try await eventually { clock.sleepers == 2 }  // and the grace period
            clock.advance(by: .milliseconds(199))
            try await eventually { clock.sleepers == 1 }  // the poll timer fired; the grace period runs on
            clock.advance(by: .milliseconds(1))
            try await eventually { clock.sleepers == 0 }
            await gate.open()  // too late: the engine already gave the batch up
            let summary = try await task.value
            #expect(summary.rowsLeftInFlight == 5)
            #expect(summary.rowsCompleted == 0)
        }
        #expect(await source.undeliveredCount == 5, "nothing is marked that was not acknowledged in time")
    }

    @Test func anEngineRunsOnce() async throws {
        let source = InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)])
        let engine = try Self.engine(source, [RecordingTransport(name: "sink")])
        _ = try await engine.drain()
        let fetches = await source.fetches
        await #expect(throws: RelayEngine.Failure.self) { try await engine.drain() }
        await #expect(throws: RelayEngine.Failure.self) { try await engine.run() }
        #expect(await source.fetches == fetches, "the later calls did not read")
    }

    @Test func anExpanderTurnsOneRowIntoSeveralMessages() async throws {
        struct Splitter: MessageExpander {
            func expand(_ message: OutboxMessage) throws -> [OutboxMessage] {
                try (0..<3).map { index in
                    var headers = message.headers
                    headers["__event_id"] = .string("\(message.eventID)#\(index)")
                    return try OutboxMessage(
                        rowID: message.rowID,
                        headers: headers,
                        payload: .object(["part": .number(String(index))])
                    )
                }
            }
        }
        let source = InMemoryOutbox(payloads: [outboxPayload(aggregate: "a", version: 1)])
        let transport = RecordingTransport(name: "sink")
        let summary = try await Self.engine(source, [transport], expander: Splitter()).drain()
        #expect(summary.messages == 3)
        #expect(
            transport.deliveredMessages.map(\.eventID).map {
                $0.hasSuffix("#0") || $0.hasSuffix("#1") || $0.hasSuffix("#2")
            } == [true, true, true]
        )
        #expect(await source.undeliveredCount == 0)
    }
}

// MARK: - Test doubles

func outboxPayload(type: String = "acme.shop.orders.order_was_placed", aggregate: String, version: Int) -> [UInt8] {
    Array(
        #"""
        {"headers":{"__event_type":"\#(type)","__event_id":"\#(aggregate)-\#(version)",\#
        "__aggregate_root_id":"\#(aggregate)","__aggregate_root_version":\#(version),\#
        "__time_of_recording":"2024-03-14 05:04:50.163498+0000"},"payload":{"n":\#(version)}}
        """#
        .utf8
    )
}

/// An outbox table in memory, with the semantics of the SQL sources.
actor InMemoryOutbox: OutboxSource {
    nonisolated let flavour: OutboxFlavour
    nonisolated let table = "outbox_messages"
    private var rows: [OutboxRow]
    private var done: Set<OutboxRowID> = []
    private var hidden: Set<OutboxRowID> = []
    private var outstanding: Set<OutboxRowID> = []
    private(set) var maximumOutstanding = 0
    private(set) var fetches = 0
    private(set) var completions: [(rows: [OutboxRowID], deadLetters: [DeadLetter])] = []
    private(set) var deadLetters: [DeadLetter] = []

    init(flavour: OutboxFlavour = .outbox, payloads: [[UInt8]]) {
        self.flavour = flavour
        self.rows = payloads.enumerated().map { index, payload in
            OutboxRow(
                id: .integer(Int64(index + 1)),
                payload: payload,
                timeOfRecording: flavour == .dispatcher ? "2024-03-14 05:04:50.163498" : nil
            )
        }
    }

    func open() async throws {}
    func close() async {}

    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        fetches += 1
        let result = Array(
            rows.filter { row in
                !done.contains(row.id) && !hidden.contains(row.id) && (cursor.map { row.id > $0.id } ?? true)
            }.prefix(limit)
        )
        outstanding.formUnion(result.map(\.id))
        maximumOutstanding = max(maximumOutstanding, outstanding.count)
        return result
    }

    func complete(rows completed: [OutboxRowID], deadLetters letters: [DeadLetter]) async throws {
        completions.append((completed, letters))
        deadLetters += letters
        done.formUnion(completed)
        outstanding.subtract(completed)
    }

    var undeliveredCount: Int { rows.count - done.count }
    func storedPayload(_ id: OutboxRowID) -> [UInt8]? { rows.first { $0.id == id }?.payload }
    func hide(_ id: OutboxRowID) { hidden.insert(id) }
    func reveal(_ id: OutboxRowID) { hidden.remove(id) }
}

/// A transport whose result per message is scripted by (attempt of that message, message).
final class RecordingTransport: Transport, Sendable {
    let name: String
    private let script: @Sendable (Int, OutboxMessage) -> DeliveryResult
    private let before: @Sendable () async -> Void
    private let state = Mutex<(calls: Int, started: Int, attempts: [String: Int], delivered: [OutboxMessage])>(
        (0, 0, [:], [])
    )

    init(
        name: String,
        script: @escaping @Sendable (Int, OutboxMessage) -> DeliveryResult = { _, _ in .delivered },
        before: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.script = script
        self.before = before
    }

    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        state.withLock { $0.started += 1 }
        await before()
        return state.withLock { state in
            state.calls += 1
            return batch.map { message in
                let attempt = (state.attempts[message.eventID] ?? 0) + 1
                state.attempts[message.eventID] = attempt
                let result = script(attempt, message)
                if result.isDelivered { state.delivered.append(message) }
                return result
            }
        }
    }

    var calls: Int { state.withLock { $0.calls } }
    var started: Int { state.withLock { $0.started } }
    var deliveredMessages: [OutboxMessage] { state.withLock { $0.delivered } }
    var deliveredRowIDs: [OutboxRowID] { deliveredMessages.map(\.rowID) }
}

/// Blocks callers until opened.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}

/// Waits until `condition` holds, letting the engine's tasks run in between (no sleep: the
/// test clock, not real time, decides when timers fire). Records an issue if it never does.
func eventually(timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        await Task.yield()
        try Task.checkCancellation()
    }
}
