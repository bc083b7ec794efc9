import CoreMetrics
import Logging
import ServiceLifecycle
import Synchronization

/// Moves messages from an outbox source to transports, at least once, in order per aggregate.
///
/// The engine claims batches of rows (up to ``Configuration/maximumBatchesInFlight`` at a
/// time), decodes and expands them, routes each message, and hands every destination its
/// part of the batch. Destinations work independently and in claim order, each retrying its
/// failures with its ``RetryPolicy``. A batch's rows are marked (or deleted) — together with
/// any dead letters, in one source transaction — only once every destination finished it.
///
/// Run it as a ServiceLifecycle `Service` (graceful shutdown stops claiming, lets in-flight
/// batches finish within ``Configuration/shutdownGracePeriod`` and leaves the rest undelivered
/// for the next run), or call ``drain()`` to relay until nothing undelivered remains.
/// Cancelling the task stops at once, without the grace period: rows in flight stay
/// undelivered and are relayed again next time.
public final class RelayEngine: Service, Sendable {
    /// Tuning of the engine. Every default is chosen for a relay next to its database.
    public struct Configuration: Sendable {
        /// Rows claimed per batch (the SQL `LIMIT`). Default 500.
        public var batchSize: Int
        /// Batches claimed but not yet completed, at most. Default 8: deep enough that a
        /// transport's acknowledgement wait (a Kafka batch waits 4–7 ms for `acks=all` next to
        /// the database) overlaps the reading and marking of other batches.
        public var maximumBatchesInFlight: Int
        /// Rows claimed but not yet completed, at most: bounds memory whatever the batch size
        /// (about 7 KB per row of 1.5 KB payloads). A further batch is claimed only while
        /// `rows in flight + batchSize` stays within it; one batch is always allowed.
        /// Default 10,000.
        public var maximumRowsInFlight: Int
        /// Stored payload bytes of the rows claimed but not yet completed, at most: bounds memory
        /// whatever the payload sizes. A read stops at the row that reaches what is left of it
        /// (see ``OutboxSource/fetch(limit:maximumBytes:after:)``), and a further batch is claimed
        /// only while bytes in flight stay below it; so at most one row's payload (bounded by the
        /// source's maximum payload size) goes beyond it. Default 64 MiB.
        public var maximumBytesInFlight: Int
        /// Retry policy of every transport without an override. Default ``RetryPolicy/default``.
        public var retry: RetryPolicy
        /// Retry policies per transport name.
        public var retryOverrides: [String: RetryPolicy]
        /// Wait between polls when caught up: starts at the lower bound after rows were found
        /// and doubles while the table stays empty, up to the upper bound. Sources with
        /// notifications return early when rows arrive. Default 10 ms ... 1 s.
        public var idlePollInterval: ClosedRange<Duration>
        /// How long in-flight batches may take to finish after shutdown was requested.
        /// Default 10 s.
        public var shutdownGracePeriod: Duration
        /// Backoff for source errors (lost connection, lock timeouts). The engine retries
        /// forever in ``RelayEngine/run()``; ``RelayEngine/drain()`` gives up after
        /// `sourceRetry.maximumAttempts` consecutive failures. Default 100 ms ... 10 s, 20 attempts.
        public var sourceRetry: RetryPolicy
        /// How often the source's status query refreshes the `outbox_relay_backlog_rows` and
        /// `outbox_relay_oldest_undelivered_age_seconds` gauges (``RelayMetrics``). Default 15 s.
        public var statusInterval: Duration = .seconds(15)
        /// Limits and timing of the per-destination parked queues (sources that are a
        /// ``ParkedDeliveryStore``). Default ``Parking-swift.struct/init(maximumEntries:maximumBytes:pollInterval:)``.
        public var parking: Parking

        public init(
            batchSize: Int = 500,
            maximumBatchesInFlight: Int = 8,
            maximumRowsInFlight: Int = 10_000,
            maximumBytesInFlight: Int = 64 << 20,
            retry: RetryPolicy = .default,
            retryOverrides: [String: RetryPolicy] = [:],
            idlePollInterval: ClosedRange<Duration> = .milliseconds(10) ... .seconds(1),
            shutdownGracePeriod: Duration = .seconds(10),
            sourceRetry: RetryPolicy = RetryPolicy(
                initialDelay: .milliseconds(100),
                maximumDelay: .seconds(10),
                maximumAttempts: 20
            ),
            parking: Parking = Parking()
        ) {
            self.batchSize = batchSize
            self.maximumBatchesInFlight = maximumBatchesInFlight
            self.maximumRowsInFlight = maximumRowsInFlight
            self.maximumBytesInFlight = maximumBytesInFlight
            self.retry = retry
            self.retryOverrides = retryOverrides
            self.idlePollInterval = idlePollInterval
            self.shutdownGracePeriod = shutdownGracePeriod
            self.sourceRetry = sourceRetry
            self.parking = parking
        }
    }

    /// Why the engine stopped with an error.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    let source: any OutboxSource
    let transports: [String: any Transport]
    private let routing: RoutingTable
    private let expander: (any MessageExpander)?
    private let configuration: Configuration
    let logger: Logger
    let clock: any Clock<Duration>
    private let decoder: EnvelopeDecoder
    /// Event types already logged as unrouted (logged once each).
    private let unroutedSeen = Mutex<Set<String>>([])
    private let runState = Mutex(RunState.idle)
    let metrics: RelayMetrics
    let observed = Mutex(Observed())

    /// Creates an engine.
    ///
    /// `clock` times the idle polls, retry backoffs and the shutdown grace period (tests pass
    /// a clock they advance by hand). Sources with notifications wait for rows with their own
    /// timer. `metrics` records the ``RelayMetrics`` (default: the factory bootstrapped with
    /// `MetricsSystem`, which records nothing until one is).
    /// - Throws: ``RoutingError`` when a route names a transport not in `transports`.
    public init(
        source: any OutboxSource,
        transports: [any Transport],
        routing: RoutingTable,
        expander: (any MessageExpander)? = nil,
        configuration: Configuration = .init(),
        clock: any Clock<Duration> = ContinuousClock(),
        metrics: (any MetricsFactory)? = nil,
        logger: Logger = Logger(label: "outbox-relay")
    ) throws {
        var byName: [String: any Transport] = [:]
        for transport in transports { byName[transport.name] = transport }
        for destination in routing.destinations where byName[destination] == nil {
            throw RoutingError(
                code: .unknownTransport,
                detail: "a route sends to \"\(destination)\", but no transport has that name"
            )
        }
        precondition(configuration.batchSize > 0 && configuration.maximumBatchesInFlight > 0)
        self.source = source
        self.transports = byName
        self.routing = routing
        self.expander = expander
        self.configuration = configuration
        self.clock = clock
        self.decoder = EnvelopeDecoder(table: source.table)
        var logger = logger
        logger[metadataKey: "table"] = "\(source.table)"  // on every line the engine logs
        self.logger = logger
        self.metrics = RelayMetrics(
            table: source.table,
            destinations: byName.keys,
            afterDelivery: (source as? any AfterDeliveryReporting)?.afterDelivery ?? .mark,
            factory: metrics ?? MetricsSystem.factory
        )
    }

    /// Relays until graceful shutdown or task cancellation.
    /// - Throws: when the source cannot be opened or a transport cannot start, or when the
    ///   engine was already run (an engine relays once).
    public func run() async throws {
        let summary = try await relay(untilDrained: false)
        logger.info("relay stopped", metadata: summary.logMetadata)
    }

    /// Relays until no undelivered row remains (or shutdown), then returns what was done.
    /// - Throws: when the source cannot be opened, a transport cannot start, or the source
    ///   keeps failing, or when the engine was already run.
    public func drain() async throws -> RelaySummary {
        try await relay(untilDrained: true)
    }

    // MARK: - Pipeline

    /// What the executed actions report back to the ``RelayStateMachine``.
    private enum Event: Sendable {
        case fetched(Result<[OutboxRow], any Error>, after: OutboxCursor?)
        case planned(BatchPlan)
        case delivered(sequence: Int, destination: String, outcome: DestinationDelivery.Outcome)
        case completed(sequence: Int, error: (any Error)?)
        case parkedDrained(destination: String, outcome: ParkedDrainRound.Outcome)
        case parkedDrainDue(destination: String)
        case woke
        case shutdownRequested
        case gracePeriodExpired
    }

    /// Whether ``run()`` or ``drain()`` was called: an engine relays once.
    private enum RunState {
        case idle
        case running
        case finished
    }

    private func relay(untilDrained: Bool) async throws -> RelaySummary {
        try runState.withLock { state in
            guard case .idle = state else {
                throw Failure(description: "the engine was already run; create a new RelayEngine to relay again")
            }
            state = .running
        }
        defer { runState.withLock { $0 = .finished } }
        defer { observePhase(.stopped) }
        observePhase(.opening)
        if let reporting = source as? any RelayLockReporting {
            await reporting.reportLockState { [weak self] state in self?.observeLockState(state) }
        }
        try await source.open()
        observePhase(.startingTransports)
        var started: [any Transport] = []
        do {
            for transport in transports.values {
                try await transport.start()
                started.append(transport)
            }
        } catch {
            for transport in started { await transport.shutdown() }
            await source.close()
            throw error
        }
        observePhase(.relaying)
        let statusRefresh = Task { [interval = configuration.statusInterval] in await refreshStatus(every: interval) }
        defer { statusRefresh.cancel() }
        logger.info(
            "relaying",
            metadata: [
                "flavour": "\(source.flavour)", "destinations": .array(transports.keys.sorted().map { "\($0)" }),
            ]
        )

        let (events, eventSink) = AsyncStream<Event>.makeStream()
        let result: Result<RelaySummary, any Error>
        do {
            let summary = try await withGracefulShutdownHandler {
                try await withTaskCancellationHandler {
                    try await self.pipeline(untilDrained: untilDrained, events: events, eventSink: eventSink)
                } onCancel: {
                    eventSink.yield(.shutdownRequested)
                }
            } onGracefulShutdown: {
                eventSink.yield(.shutdownRequested)
            }
            result = .success(summary)
        } catch {
            result = .failure(error)
        }
        for transport in transports.values { await transport.shutdown() }
        await source.close()
        return try result.get()
    }

    /// Feeds events to the state machine and executes the actions it returns. Reads, plans,
    /// deliveries, completions and timers run as child tasks and report back as events, so
    /// the coordinator never waits on the source: while one batch is being marked the next
    /// one is already being read.
    private func pipeline(
        untilDrained: Bool,
        events: AsyncStream<Event>,
        eventSink: AsyncStream<Event>.Continuation
    ) async throws -> RelaySummary {
        // Which ordering keys have parked messages: their later messages are parked behind them.
        let parked = try await (source as? any ParkedDeliveryStore)?.parkedBacklog() ?? []
        return try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            var machine = RelayStateMachine(
                configuration: .init(
                    configuration,
                    untilDrained: untilDrained,
                    parks: source is any ParkedDeliveryStore
                ),
                logger: logger,
                parked: parked
            )
            var iterator = events.makeAsyncIterator()
            var actions = machine.start()
            var parkedLevels: [String: ParkedQueueLevel]? = nil
            while true {
                for action in actions {
                    if case .stop(let result) = action { return try result.get() }
                    execute(action, in: &group, eventSink: eventSink)
                }
                observeParkedQueues(of: machine, recorded: &parkedLevels)
                // Task cancellation ends the event stream at once: what is still in flight
                // stays undelivered and is relayed again next time.
                guard let event = await iterator.next() else { return machine.eventsEnded() }
                observeProgress()
                switch event {
                case .fetched(let result, let from): actions = machine.fetched(result, after: from)
                case .planned(let plan): actions = machine.planned(plan)
                case .delivered(let sequence, let destination, let outcome):
                    actions = machine.delivered(sequence: sequence, destination: destination, outcome: outcome)
                case .completed(let sequence, let error): actions = machine.completed(sequence: sequence, error: error)
                case .parkedDrained(let destination, let outcome):
                    actions = machine.parkedDrained(destination: destination, outcome: outcome)
                case .parkedDrainDue(let destination): actions = machine.parkedDrainDue(destination: destination)
                case .woke: actions = machine.woke()
                case .shutdownRequested: actions = machine.shutdownRequested()
                case .gracePeriodExpired: actions = machine.gracePeriodExpired()
                }
            }
        }
    }

    /// Runs one action as a child task that reports its result as an event.
    private func execute(
        _ action: RelayStateMachine.Action,
        in group: inout ThrowingTaskGroup<Void, any Error>,
        eventSink: AsyncStream<Event>.Continuation
    ) {
        let source = self.source
        let clock = self.clock
        switch action {
        case .fetch(let cursor, let delay, let maximumBytes):
            let limit = configuration.batchSize
            group.addTask {
                if let delay { try? await clock.sleep(for: delay) }
                do {
                    let rows = try await source.fetch(limit: limit, maximumBytes: maximumBytes, after: cursor)
                    self.observeSourceSuccess()
                    eventSink.yield(.fetched(.success(rows), after: cursor))
                } catch {
                    self.observeSourceFailure(error)
                    eventSink.yield(.fetched(.failure(error), after: cursor))
                }
            }
        case .plan(let sequence, let rows):
            observeClaim(sequence: sequence, rows: rows.count)
            group.addTask {
                let plan = BatchPlan(
                    sequence: sequence,
                    rows: rows,
                    flavour: source.flavour,
                    decoder: self.decoder,
                    expander: self.expander,
                    routing: self.routing,
                    onUnrouted: { eventType in
                        if self.unroutedSeen.withLock({ $0.insert(eventType).inserted }) {
                            self.logger.notice(
                                "no route matches the event type; skipping such messages (unrouted: skip)",
                                metadata: ["event_type": "\(eventType)"]
                            )
                        }
                    }
                )
                eventSink.yield(.planned(plan))
            }
        case .deliver(let sequence, let destination, let messages, let storedPayloads, let parkAtFirstFailure):
            var deliveryLogger = logger
            deliveryLogger[metadataKey: "batch"] = "\(sequence)"
            let delivery = DestinationDelivery(
                transport: metered(transports[destination]!, sequence: sequence),
                policy: configuration.retryOverrides[destination] ?? configuration.retry,
                storedPayloads: storedPayloads,
                clock: clock,
                logger: deliveryLogger,
                parks: source is any ParkedDeliveryStore,
                parkAtFirstFailure: parkAtFirstFailure
            )
            group.addTask {
                let outcome = await delivery.run(messages)
                if case .completed(let delivered, _, _) = outcome { self.metrics.delivered(delivered, to: destination) }
                eventSink.yield(.delivered(sequence: sequence, destination: destination, outcome: outcome))
            }
        case .complete(let sequence, let rows, let deadLetters, let parked, let delay):
            group.addTask {
                if let delay { try? await clock.sleep(for: delay) }
                do {
                    if !parked.isEmpty, let store = source as? any ParkedDeliveryStore {
                        try await store.complete(rows: rows, deadLetters: deadLetters, parked: parked)
                    } else {
                        try await source.complete(rows: rows, deadLetters: deadLetters)
                    }
                    self.observeCompletion(sequence: sequence, rows: rows.count, deadLetters: deadLetters)
                    eventSink.yield(.completed(sequence: sequence, error: nil))
                } catch {
                    self.observeSourceFailure(error)
                    eventSink.yield(.completed(sequence: sequence, error: error))
                }
            }
        case .drainParked(let destination, let headsOnly):
            guard let store = source as? any ParkedDeliveryStore else { break }
            let round = ParkedDrainRound(
                store: store,
                // Attempts and latency counted like the window's (latency from the time of recording).
                transport: metrics.metered(transports[destination]!, claimedAt: .now()),
                policy: configuration.retryOverrides[destination] ?? configuration.retry,
                decoder: decoder,
                limit: configuration.batchSize,
                headsOnly: headsOnly,
                logger: logger
            )
            group.addTask {
                let outcome = await round.run()
                self.observeParkedDrain(destination: destination, outcome: outcome)
                eventSink.yield(.parkedDrained(destination: destination, outcome: outcome))
            }
        case .scheduleParkedDrain(let destination, let delay):
            group.addTask {
                try? await clock.sleep(for: delay)
                eventSink.yield(.parkedDrainDue(destination: destination))
            }
        case .sleep(let interval, let untilRowsArrive):
            group.addTask {
                if untilRowsArrive {
                    await source.waitForRows(timeout: interval)
                } else {
                    try? await clock.sleep(for: interval)
                }
                eventSink.yield(.woke)
            }
        case .startGracePeriod(let grace):
            group.addTask {
                try? await clock.sleep(for: grace)
                eventSink.yield(.gracePeriodExpired)
            }
        case .stop:
            break  // handled by the caller
        }
    }
}
