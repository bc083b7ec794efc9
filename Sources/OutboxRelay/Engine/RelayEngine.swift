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

        public init(
            batchSize: Int = 500,
            maximumBatchesInFlight: Int = 8,
            maximumRowsInFlight: Int = 10_000,
            retry: RetryPolicy = .default,
            retryOverrides: [String: RetryPolicy] = [:],
            idlePollInterval: ClosedRange<Duration> = .milliseconds(10) ... .seconds(1),
            shutdownGracePeriod: Duration = .seconds(10),
            sourceRetry: RetryPolicy = RetryPolicy(
                initialDelay: .milliseconds(100),
                maximumDelay: .seconds(10),
                maximumAttempts: 20
            )
        ) {
            self.batchSize = batchSize
            self.maximumBatchesInFlight = maximumBatchesInFlight
            self.maximumRowsInFlight = maximumRowsInFlight
            self.retry = retry
            self.retryOverrides = retryOverrides
            self.idlePollInterval = idlePollInterval
            self.shutdownGracePeriod = shutdownGracePeriod
            self.sourceRetry = sourceRetry
        }
    }

    /// Why the engine stopped with an error.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private let source: any OutboxSource
    private let transports: [String: any Transport]
    private let routing: RoutingTable
    private let expander: (any MessageExpander)?
    private let configuration: Configuration
    private let logger: Logger
    /// Event types already logged as unrouted (logged once each).
    private let unroutedSeen = Mutex<Set<String>>([])

    /// Creates an engine.
    /// - Throws: ``RoutingError`` when a route names a transport not in `transports`.
    public init(
        source: any OutboxSource,
        transports: [any Transport],
        routing: RoutingTable,
        expander: (any MessageExpander)? = nil,
        configuration: Configuration = .init(),
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
        self.logger = logger
    }

    /// Relays until graceful shutdown or task cancellation.
    /// - Throws: when the source cannot be opened or a transport cannot start.
    public func run() async throws {
        let summary = try await relay(untilDrained: false)
        logger.info("relay stopped: \(summary)")
    }

    /// Relays until no undelivered row remains (or shutdown), then returns what was done.
    /// - Throws: when the source cannot be opened, a transport cannot start, or the source
    ///   keeps failing.
    public func drain() async throws -> RelaySummary {
        try await relay(untilDrained: true)
    }

    // MARK: - Pipeline

    /// What the coordinator reacts to. Reads, plans, deliveries and completions run as child
    /// tasks and report back here, so the coordinator never waits on the source: while one
    /// batch is being marked the next one is already being read.
    private enum Event: Sendable {
        case fetched(Result<[OutboxRow], any Error>, after: OutboxCursor?)
        case planned(BatchPlan)
        case finished(sequence: Int, destination: String, outcome: DestinationDelivery.Outcome)
        case completed(sequence: Int, error: (any Error)?)
        case wake
        case shutdown
        case graceExpired
    }

    private struct Job: Sendable {
        let sequence: Int
        let messages: [OutboxMessage]
        let storedPayloads: [OutboxRowID: [UInt8]]
    }

    /// A claimed batch: planned (decoded, routed) off the coordinator, delivered, then completed.
    private struct InFlightBatch {
        let rowIDs: [OutboxRowID]
        var plan: BatchPlan?
        var waitingFor: Set<String> = []
        var deadLetters: [DeadLetter] = []
        var deliveries = 0
        var abandoned = false
        /// Whether a completion (mark or delete) is running for it.
        var completing = false
        var completionAttempts = 0
    }

    private func relay(untilDrained: Bool) async throws -> RelaySummary {
        try await source.open()
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
        logger.info(
            "relaying \(source.flavour) table \(source.table) to \(transports.keys.sorted().joined(separator: ", "))"
        )

        let (events, eventSink) = AsyncStream<Event>.makeStream()
        let result: Result<RelaySummary, any Error>
        do {
            let summary = try await withGracefulShutdownHandler {
                try await withTaskCancellationHandler {
                    try await self.pipeline(untilDrained: untilDrained, events: events, eventSink: eventSink)
                } onCancel: {
                    eventSink.yield(.shutdown)
                }
            } onGracefulShutdown: {
                eventSink.yield(.shutdown)
            }
            result = .success(summary)
        } catch {
            result = .failure(error)
        }
        for transport in transports.values { await transport.shutdown() }
        await source.close()
        return try result.get()
    }

    private func pipeline(
        untilDrained: Bool,
        events: AsyncStream<Event>,
        eventSink: AsyncStream<Event>.Continuation
    ) async throws -> RelaySummary {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // One lane per destination: batches are delivered in claim order.
            var lanes: [String: AsyncStream<Job>.Continuation] = [:]
            for (name, transport) in transports {
                let (jobs, jobSink) = AsyncStream<Job>.makeStream()
                lanes[name] = jobSink
                let policy = configuration.retryOverrides[name] ?? configuration.retry
                let logger = self.logger
                group.addTask {
                    for await job in jobs {
                        let delivery = DestinationDelivery(
                            transport: transport,
                            policy: policy,
                            storedPayloads: job.storedPayloads,
                            logger: logger
                        )
                        let outcome = await delivery.run(job.messages)
                        eventSink.yield(.finished(sequence: job.sequence, destination: name, outcome: outcome))
                    }
                }
            }
            defer {
                for lane in lanes.values { lane.finish() }
                group.cancelAll()
            }

            let source = self.source
            let decoder = EnvelopeDecoder(table: source.table)
            let batchSize = configuration.batchSize
            var summary = RelaySummary()
            var inFlight: [Int: InFlightBatch] = [:]
            var plannedOutOfOrder: [Int: BatchPlan] = [:]
            var nextSequence = 0
            var nextToDispatch = 0
            var cursor: OutboxCursor?
            /// Whether a read is outstanding (one at a time: the next starts after its last row).
            var fetching = false
            var caughtUp = false
            var drained = false
            var stopping = false
            var waking = false
            var pollInterval = configuration.idlePollInterval.lowerBound
            var sourceFailures = 0
            var iterator = events.makeAsyncIterator()

            func rowsInFlight() -> Int {
                inFlight.values.map(\.rowIDs.count).reduce(0, +)
            }

            func startFetch(after delay: Duration? = nil) {
                let from = cursor
                fetching = true
                group.addTask {
                    if let delay { try? await Task.sleep(for: delay) }
                    do {
                        eventSink.yield(
                            .fetched(.success(try await source.fetch(limit: batchSize, after: from)), after: from)
                        )
                    } catch {
                        eventSink.yield(.fetched(.failure(error), after: from))
                    }
                }
            }

            func startCompletion(_ sequence: Int) {
                guard var batch = inFlight[sequence] else { return }
                let delay =
                    batch.completionAttempts > 0
                    ? configuration.sourceRetry.delay(afterAttempt: batch.completionAttempts) : nil
                batch.completing = true
                inFlight[sequence] = batch
                let rows = batch.rowIDs
                let deadLetters = batch.deadLetters
                group.addTask {
                    if let delay { try? await Task.sleep(for: delay) }
                    do {
                        try await source.complete(rows: rows, deadLetters: deadLetters)
                        eventSink.yield(.completed(sequence: sequence, error: nil))
                    } catch {
                        eventSink.yield(.completed(sequence: sequence, error: error))
                    }
                }
            }

            func completeIfDone(_ sequence: Int) {
                guard let batch = inFlight[sequence], batch.plan != nil, batch.waitingFor.isEmpty, !batch.completing
                else { return }
                if batch.abandoned {
                    inFlight[sequence] = nil
                    summary.rowsLeftInFlight += batch.rowIDs.count
                    return
                }
                startCompletion(sequence)
            }

            func completed(_ sequence: Int, error: (any Error)?) throws {
                guard var batch = inFlight[sequence] else { return }
                if let error {
                    batch.completing = false
                    batch.completionAttempts += 1
                    inFlight[sequence] = batch
                    logger.error(
                        "could not mark \(batch.rowIDs.count) rows (attempt \(batch.completionAttempts)): \(error)"
                    )
                    if stopping
                        || (untilDrained && !configuration.sourceRetry.allowsRetry(after: batch.completionAttempts))
                    {
                        inFlight[sequence] = nil
                        summary.rowsLeftInFlight += batch.rowIDs.count
                        if untilDrained { throw Failure(description: "could not mark delivered rows: \(error)") }
                        return
                    }
                    startCompletion(sequence)
                    return
                }
                inFlight[sequence] = nil
                let plan = batch.plan!
                summary.rowsCompleted += batch.rowIDs.count
                summary.messages += plan.messageCount
                summary.deliveries += batch.deliveries
                summary.deadLetters += batch.deadLetters.count
                summary.undecodableRows += plan.undecodableRows
                summary.skippedUnrouted += plan.skippedUnrouted
                if inFlight.isEmpty && !fetching {
                    // Read from the start again: rows committed late behind the cursor are found.
                    cursor = nil
                    caughtUp = false
                }
            }

            /// Hands planned batches to the destinations in claim order.
            func dispatchPlanned() {
                while let plan = plannedOutOfOrder.removeValue(forKey: nextToDispatch) {
                    let sequence = nextToDispatch
                    nextToDispatch += 1
                    guard var batch = inFlight[sequence] else { continue }
                    for (destination, messages) in plan.lanes {
                        lanes[destination]?.yield(
                            Job(sequence: sequence, messages: messages, storedPayloads: plan.storedPayloads)
                        )
                    }
                    batch.waitingFor = Set(plan.lanes.keys)
                    batch.deadLetters = plan.deadLetters
                    batch.plan = plan
                    inFlight[sequence] = batch
                    completeIfDone(sequence)
                }
            }

            func fetched(_ result: Result<[OutboxRow], any Error>, after from: OutboxCursor?) throws {
                fetching = false
                let rows: [OutboxRow]
                switch result {
                case .success(let found):
                    rows = found
                    sourceFailures = 0
                case .failure(let error):
                    sourceFailures += 1
                    logger.error("reading the outbox failed (attempt \(sourceFailures)): \(error)")
                    if untilDrained && !configuration.sourceRetry.allowsRetry(after: sourceFailures) {
                        throw Failure(description: "reading the outbox failed \(sourceFailures) times: \(error)")
                    }
                    if !stopping { startFetch(after: configuration.sourceRetry.delay(afterAttempt: sourceFailures)) }
                    return
                }
                guard !stopping else { return }  // not delivered, not marked: relayed next time
                if rows.count < batchSize { caughtUp = true }
                guard !rows.isEmpty else {
                    if inFlight.isEmpty {
                        if from != nil {
                            // Caught up behind a cursor: check once from the start.
                            cursor = nil
                            caughtUp = false
                        } else if untilDrained {
                            drained = true
                        }
                    }
                    return
                }
                pollInterval = configuration.idlePollInterval.lowerBound
                cursor = rows[rows.count - 1].cursor
                let sequence = nextSequence
                nextSequence += 1
                inFlight[sequence] = InFlightBatch(rowIDs: rows.map(\.id))
                // Decode and route while the next batch is being read.
                let flavour = source.flavour
                group.addTask {
                    let plan = BatchPlan(
                        sequence: sequence,
                        rows: rows,
                        flavour: flavour,
                        decoder: decoder,
                        expander: self.expander,
                        routing: self.routing,
                        onUnrouted: { eventType in
                            if self.unroutedSeen.withLock({ $0.insert(eventType).inserted }) {
                                self.logger.notice(
                                    """
                                    no route matches event type \"\(eventType)\"; skipping such messages \
                                    (unrouted: skip)
                                    """
                                )
                            }
                        }
                    )
                    eventSink.yield(.planned(plan))
                }
            }

            while true {
                if drained || (stopping && inFlight.isEmpty) { break }

                // Read while there is room and rows may be waiting; one read at a time (the
                // next read starts after the last row of this one).
                let hasRoom =
                    inFlight.isEmpty
                    || (inFlight.count < configuration.maximumBatchesInFlight
                        && rowsInFlight() + batchSize <= configuration.maximumRowsInFlight)
                if !fetching && !stopping && !caughtUp && hasRoom {
                    startFetch()
                }

                // Nothing to read now: wake up after the poll interval (or a notification).
                if !fetching && caughtUp && !stopping && !waking {
                    waking = true
                    let interval = pollInterval
                    pollInterval = min(pollInterval * 2, configuration.idlePollInterval.upperBound)
                    if inFlight.isEmpty {
                        group.addTask {
                            await source.waitForRows(timeout: interval)
                            eventSink.yield(.wake)
                        }
                    } else {
                        group.addTask {
                            try? await Task.sleep(for: interval)
                            eventSink.yield(.wake)
                        }
                    }
                }
                guard let event = await iterator.next() else { break }
                switch event {
                case .fetched(let result, let from):
                    try fetched(result, after: from)
                case .planned(let plan):
                    plannedOutOfOrder[plan.sequence] = plan
                    dispatchPlanned()
                case .finished(let sequence, let destination, let outcome):
                    guard var batch = inFlight[sequence] else { continue }
                    batch.waitingFor.remove(destination)
                    switch outcome {
                    case .completed(let delivered, let deadLetters):
                        batch.deliveries += delivered
                        batch.deadLetters += deadLetters
                    case .abandoned:
                        batch.abandoned = true
                    }
                    inFlight[sequence] = batch
                    completeIfDone(sequence)
                case .completed(let sequence, let error):
                    try completed(sequence, error: error)
                case .wake:
                    waking = false
                    if !stopping { caughtUp = false }
                case .shutdown:
                    guard !stopping else { continue }
                    stopping = true
                    logger.info("stopping: claiming no more rows; finishing \(inFlight.count) batches in flight")
                    let grace = configuration.shutdownGracePeriod
                    group.addTask {
                        try? await Task.sleep(for: grace)
                        eventSink.yield(.graceExpired)
                    }
                case .graceExpired:
                    // Batches being marked finish (their rows were delivered); the rest stay.
                    let unfinished = inFlight.filter { !$0.value.completing }
                    let rows = unfinished.values.map(\.rowIDs.count).reduce(0, +)
                    logger.warning(
                        "shutdown grace period over: \(rows) rows stay undelivered and will be relayed again"
                    )
                    summary.rowsLeftInFlight += rows
                    for sequence in unfinished.keys { inFlight[sequence] = nil }
                }
            }
            // Task cancellation ends the event stream at once: what is still in flight stays
            // undelivered and is relayed again next time.
            summary.rowsLeftInFlight += rowsInFlight()
            return summary
        }
    }
}
