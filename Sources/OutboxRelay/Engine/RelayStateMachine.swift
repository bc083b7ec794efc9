import Logging

/// The relay's coordinator as a value: events in, actions out.
///
/// It owns every fact about the rows in flight — the batch window, the read cursor, what
/// each destination still has to deliver, the dead letters collected, and where shutdown
/// stands — and does no I/O. ``RelayEngine`` executes the actions it returns (reads,
/// plans, deliveries, completions, timers) and feeds what came of them back as events, so
/// every transition can be driven synchronously in a test.
///
/// Each destination receives batches one at a time, in claim order; the state machine
/// starts a destination's next batch when it reports the previous one.
struct RelayStateMachine {
    /// The parts of ``RelayEngine/Configuration`` the coordinator decides with.
    struct Configuration: Sendable {
        var batchSize: Int
        var maximumBatchesInFlight: Int
        var maximumRowsInFlight: Int
        var maximumBytesInFlight: Int
        var idlePollInterval: ClosedRange<Duration>
        var shutdownGracePeriod: Duration
        var sourceRetry: RetryPolicy
        /// Stop once no undelivered row remains (``RelayEngine/drain()``), instead of polling.
        var untilDrained: Bool
        /// Whether the source keeps a parked-deliveries table (``ParkedDeliveryStore``).
        var parks = false
        var parking: RelayEngine.Configuration.Parking

        init(_ engine: RelayEngine.Configuration, untilDrained: Bool, parks: Bool = false) {
            self.batchSize = engine.batchSize
            self.maximumBatchesInFlight = engine.maximumBatchesInFlight
            self.maximumRowsInFlight = engine.maximumRowsInFlight
            self.maximumBytesInFlight = engine.maximumBytesInFlight
            self.idlePollInterval = engine.idlePollInterval
            self.shutdownGracePeriod = engine.shutdownGracePeriod
            self.sourceRetry = engine.sourceRetry
            self.untilDrained = untilDrained
            self.parks = parks
            self.parking = engine.parking
        }
    }

    /// What the engine must do next.
    enum Action {
        /// Read up to the batch size of rows after `cursor`, stopping once they hold
        /// `maximumBytes` of payload, after waiting `delay` (a retry backoff) when given;
        /// report with ``RelayStateMachine/fetched(_:after:)``.
        case fetch(after: OutboxCursor?, delay: Duration?, maximumBytes: Int)
        /// Decode, expand and route the rows of a claimed batch; report the
        /// ``BatchPlan`` with ``RelayStateMachine/planned(_:)``.
        case plan(sequence: Int, rows: [OutboxRow])
        /// Deliver a batch's messages to one destination (retrying as its policy says;
        /// parking a message at its first failure when `parkAtFirstFailure`);
        /// report with ``RelayStateMachine/delivered(sequence:destination:outcome:)``.
        case deliver(
            sequence: Int,
            destination: String,
            messages: [OutboxMessage],
            storedPayloads: [OutboxRowID: [UInt8]],
            parkAtFirstFailure: Bool
        )
        /// Mark (or delete) the rows, record the dead letters and write the parked deliveries in
        /// one source transaction, after waiting `delay` when given; report with
        /// ``RelayStateMachine/completed(sequence:error:)``.
        case complete(
            sequence: Int,
            rows: [OutboxRowID],
            deadLetters: [DeadLetter],
            parked: [ParkedDelivery],
            delay: Duration?
        )
        /// Run one drain round of a destination's parked queue (the destination delivers nothing
        /// else meanwhile; only each due key's oldest entry with `headsOnly`); report with
        /// ``RelayStateMachine/parkedDrained(destination:outcome:)``.
        case drainParked(destination: String, headsOnly: Bool)
        /// Report ``RelayStateMachine/parkedDrainDue(destination:)`` after `delay`.
        case scheduleParkedDrain(destination: String, after: Duration)
        /// Nothing to read: report ``RelayStateMachine/woke()`` after `interval`, or earlier
        /// when the source signals new rows if `untilRowsArrive`.
        case sleep(Duration, untilRowsArrive: Bool)
        /// Shutdown was requested: report ``RelayStateMachine/gracePeriodExpired()`` after it.
        case startGracePeriod(Duration)
        /// The relay is over: return the summary (or throw the failure). No event follows.
        case stop(Result<RelaySummary, RelayEngine.Failure>)
    }

    /// A claimed batch, from its read until it is completed or left for the next run.
    private struct Batch {
        let rowIDs: [OutboxRowID]
        /// The stored payload bytes its rows hold.
        let payloadBytes: Int
        /// Set once planned. Its lanes are the messages still to hand to each destination.
        var plan: BatchPlan?
        /// Destinations that have not reported this batch yet.
        var waitingFor: Set<String> = []
        var deadLetters: [DeadLetter] = []
        /// Messages parked by its destinations, written when the batch completes.
        var parked: [ParkedDelivery] = []
        var deliveries = 0
        /// A destination gave up on it because the relay is stopping: it stays undelivered.
        var abandoned = false
        /// Whether a completion (mark or delete) is running for it.
        var completing = false
        var completionAttempts = 0

        var isDelivered: Bool { plan != nil && waitingFor.isEmpty }
    }

    /// How far shutdown has gone.
    private enum Phase {
        case relaying
        /// No more reads; batches in flight finish until the grace period ends.
        case stopping
        /// ``Action/stop(_:)`` was returned.
        case stopped
    }

    let configuration: Configuration
    private let logger: Logger
    private var phase = Phase.relaying
    private var batches: [Int: Batch] = [:]
    private var nextSequence = 0
    /// The oldest batch not yet handed to its destinations (batches go out in claim order).
    private var nextToDispatch = 0
    /// Per destination: the batch it is delivering, if any, and those queued behind it.
    private var lanes: [String: (delivering: Int?, queued: [Int])] = [:]
    /// Where the next read starts; `nil` reads from the first undelivered row.
    private var cursor: OutboxCursor?
    /// Whether a read is outstanding (one at a time: the next starts after its last row).
    private var fetching = false
    /// The payload bytes the outstanding read may return (``Action/fetch(after:delay:maximumBytes:)``).
    private var budgetOfTheRead = Int.max
    /// The last read came back short: wait for the poll interval before reading again.
    private var caughtUp = false
    /// Whether a poll timer (``Action/sleep(_:untilRowsArrive:)``) is outstanding.
    private var sleeping = false
    private var pollInterval: Duration
    /// Consecutive failed reads.
    private var sourceFailures = 0
    private var summary = RelaySummary()
    /// What is parked per destination, written or waiting for its batch to complete.
    private var parkedQueues: [String: ParkedQueue] = [:]
    /// Whether the last check found a parked queue at its cap (reads stop until it drains).
    private var parkingAtCapacity = false
    /// Destinations whose last delivery parked messages and delivered none (an endpoint that is
    /// down): their next batches park at the first failure instead of spending the in-window
    /// budget on every batch, until a delivery succeeds.
    private var failingOutright: Set<String> = []

    /// `parked` is what the parked-deliveries table holds at start (``ParkedDeliveryStore``).
    init(configuration: Configuration, logger: Logger, parked: [ParkedBacklog] = []) {
        precondition(configuration.batchSize > 0 && configuration.maximumBatchesInFlight > 0)
        self.configuration = configuration
        self.logger = logger
        self.pollInterval = configuration.idlePollInterval.lowerBound
        for backlog in parked {
            parkedQueues[backlog.destination, default: ParkedQueue()].add(
                key: backlog.orderingKey,
                entries: backlog.entries,
                bytes: backlog.bytes
            )
        }
    }

    /// Parked messages of `destination`, written or about to be.
    func parkedEntries(for destination: String) -> Int { parkedQueues[destination]?.entries ?? 0 }

    /// How full each destination's parked queue is (destinations that never parked are left out).
    var parkedQueueLevels: [String: ParkedQueueLevel] {
        let limits = configuration.parking
        return parkedQueues.mapValues { queue in
            ParkedQueueLevel(
                entries: queue.entries,
                bytes: queue.bytes,
                isAtCap: queue.entries >= limits.maximumEntries || queue.bytes >= limits.maximumBytes
            )
        }
    }

    /// Rows claimed and not yet completed.
    var rowsInFlight: Int { batches.values.reduce(0) { $0 + $1.rowIDs.count } }

    /// Batches claimed and not yet completed.
    var batchesInFlight: Int { batches.count }

    /// Payload bytes of the rows claimed and not yet completed.
    var bytesInFlight: Int { batches.values.reduce(0) { $0 + $1.payloadBytes } }

    /// What the next read may add to ``bytesInFlight``.
    private var byteBudget: Int { max(0, configuration.maximumBytesInFlight - bytesInFlight) }

    // MARK: - Events

    /// The relay starts.
    mutating func start() -> [Action] {
        var actions: [Action] = []
        for destination in parkedQueues.keys.sorted() { actions += drainIfParked(destination, delay: nil) }
        return actions + advance()
    }

    /// A read finished.
    mutating func fetched(_ result: Result<[OutboxRow], any Error>, after from: OutboxCursor?) -> [Action] {
        fetching = false
        let rows: [OutboxRow]
        switch result {
        case .success(let found):
            rows = found
            sourceFailures = 0
        case .failure(let error):
            sourceFailures += 1
            logger.error("reading the outbox failed", metadata: ["attempt": "\(sourceFailures)", "error": "\(error)"])
            if configuration.untilDrained && !configuration.sourceRetry.allowsRetry(after: sourceFailures) {
                return stop(.failure(.init(description: "reading the outbox failed \(sourceFailures) times: \(error)")))
            }
            guard case .relaying = phase else { return advance() }
            let delay = configuration.sourceRetry.delay(afterAttempt: sourceFailures)
            return [startRead(after: from, delay: delay)] + advance()
        }
        guard case .relaying = phase else { return advance() }  // not delivered, not marked: relayed next time
        let payloadBytes = rows.reduce(0) { $0 + $1.payload.count }
        // A read the byte budget cut short is not caught up: the rows behind it wait for room.
        if rows.count < configuration.batchSize && (rows.isEmpty || payloadBytes < budgetOfTheRead) { caughtUp = true }
        guard let last = rows.last else {
            if batches.isEmpty {
                if from != nil {
                    // Caught up behind a cursor: check once from the start.
                    readFromTheStart()
                } else if configuration.untilDrained && parkedQueues.values.allSatisfy({ $0.entries == 0 }) {
                    return stop(.success(summary))
                }
            }
            return advance()
        }
        pollInterval = configuration.idlePollInterval.lowerBound
        cursor = last.cursor
        let sequence = nextSequence
        nextSequence += 1
        batches[sequence] = Batch(rowIDs: rows.map(\.id), payloadBytes: payloadBytes)
        // Planned off the coordinator, while the next batch is being read.
        return [.plan(sequence: sequence, rows: rows)] + advance()
    }

    /// A batch was planned. Plans may arrive out of claim order; they are dispatched in it.
    mutating func planned(_ plan: BatchPlan) -> [Action] {
        if batches[plan.sequence] != nil { batches[plan.sequence]!.plan = plan }
        var actions: [Action] = []
        while nextToDispatch < nextSequence {
            let sequence = nextToDispatch
            guard let batch = batches[sequence] else {
                nextToDispatch += 1  // left for the next run
                continue
            }
            guard let plan = batch.plan else { break }
            nextToDispatch += 1
            batches[sequence]!.waitingFor = Set(plan.lanes.keys)
            batches[sequence]!.deadLetters = plan.deadLetters
            for destination in plan.lanes.keys.sorted() {
                lanes[destination, default: (nil, [])].queued.append(sequence)
                actions += startNextDelivery(to: destination)
            }
            actions += completeIfDelivered(sequence)
        }
        return actions + advance()
    }

    /// A destination finished its part of a batch.
    mutating func delivered(sequence: Int, destination: String, outcome: DestinationDelivery.Outcome) -> [Action] {
        lanes[destination]?.delivering = nil
        if batches[sequence] != nil {
            batches[sequence]!.waitingFor.remove(destination)
            switch outcome {
            case .completed(let delivered, let deadLetters, let parked):
                batches[sequence]!.deliveries += delivered
                batches[sequence]!.deadLetters += deadLetters
                // Before the next batch starts: its messages of these keys are parked behind.
                park(parked, in: sequence)
                if delivered > 0 {
                    failingOutright.remove(destination)
                } else if !parked.isEmpty {
                    failingOutright.insert(destination)
                }
            case .abandoned:
                batches[sequence]!.abandoned = true
            }
        }
        var actions = runDueDrain(destination)
        actions += startNextDelivery(to: destination)
        actions += completeIfDelivered(sequence)
        return actions + advance()
    }

    /// A completion (mark or delete) finished, or failed with `error`.
    mutating func completed(sequence: Int, error: (any Error)?) -> [Action] {
        guard var batch = batches[sequence] else { return advance() }
        if let error {
            batch.completing = false
            batch.completionAttempts += 1
            batches[sequence] = batch
            logger.error(
                "marking the batch's rows failed",
                metadata: [
                    "batch": "\(sequence)", "rows": "\(batch.rowIDs.count)", "attempt": "\(batch.completionAttempts)",
                    "error": "\(error)",
                ]
            )
            let givesUp =
                configuration.untilDrained && !configuration.sourceRetry.allowsRetry(after: batch.completionAttempts)
            if case .stopping = phase {
                leaveForTheNextRun(sequence)
                if configuration.untilDrained {
                    return stop(.failure(.init(description: "could not mark delivered rows: \(error)")))
                }
                return advance()
            }
            if givesUp {
                leaveForTheNextRun(sequence)
                return stop(.failure(.init(description: "could not mark delivered rows: \(error)")))
            }
            return startCompletion(sequence) + advance()
        }
        batches[sequence] = nil
        var actions: [Action] = []
        if !batch.parked.isEmpty {
            summary.parked += batch.parked.count
            for destination in Set(batch.parked.map(\.destination)).sorted() {
                actions += drainIfParked(destination, delay: configuration.parking.pollInterval)
            }
            actions += completeBatchesWaitingForParkedOrder()
        }
        let plan = batch.plan!
        summary.rowsCompleted += batch.rowIDs.count
        summary.messages += plan.messageCount
        summary.deliveries += batch.deliveries
        summary.deadLetters += batch.deadLetters.count
        summary.undecodableRows += plan.undecodableRows
        summary.skippedUnrouted += plan.skippedUnrouted
        if batches.isEmpty && !fetching {
            // Read from the start again: rows committed late behind the cursor are found.
            readFromTheStart()
        }
        return actions + advance()
    }

    /// A drain round of `destination`'s parked queue finished.
    mutating func parkedDrained(destination: String, outcome: ParkedDrainRound.Outcome) -> [Action] {
        parkedQueues[destination, default: ParkedQueue()].draining = false
        // The window's batches go first, then the drain again.
        var actions = startNextDelivery(to: destination)
        var progressed = false
        switch outcome {
        case .settled(let removed, let delivered, let deadLettered, let retried):
            for backlog in removed {
                parkedQueues[destination]!.remove(
                    key: backlog.orderingKey,
                    entries: backlog.entries,
                    bytes: backlog.bytes
                )
            }
            summary.deliveries += delivered
            summary.parkedDelivered += delivered
            if delivered > 0 { failingOutright.remove(destination) }
            summary.deadLetters += deadLettered
            progressed = delivered + deadLettered > 0
            if delivered == 0 && retried > 0 { failingOutright.insert(destination) }
        case .nothingDue:
            break
        case .failed(let reason):
            logger.error(
                "draining the parked queue failed",
                metadata: ["destination": "\(destination)", "error": "\(reason)"]
            )
        }
        actions += drainIfParked(destination, delay: progressed ? nil : configuration.parking.pollInterval)
        return actions + advance()
    }

    /// A destination's drain timer fired.
    mutating func parkedDrainDue(destination: String) -> [Action] {
        parkedQueues[destination]?.scheduled = false
        return drainIfParked(destination, delay: nil) + advance()
    }

    /// The poll timer fired, or the source signalled new rows.
    mutating func woke() -> [Action] {
        sleeping = false
        if case .relaying = phase { caughtUp = false }
        return advance()
    }

    /// Graceful shutdown (or cancellation) was requested: claim nothing more, let the batches
    /// in flight finish within the grace period.
    mutating func shutdownRequested() -> [Action] {
        guard case .relaying = phase else { return [] }
        phase = .stopping
        logger.info(
            "stopping: claiming no more rows, finishing the batches in flight",
            metadata: ["batches": "\(batches.count)"]
        )
        return [.startGracePeriod(configuration.shutdownGracePeriod)] + advance()
    }

    /// The grace period is over: batches being marked finish (their rows were delivered);
    /// the rest stay undelivered for the next run.
    mutating func gracePeriodExpired() -> [Action] {
        guard case .stopping = phase else { return [] }
        let unfinished = batches.filter { !$0.value.completing }.keys.sorted()
        let rows = unfinished.reduce(0) { $0 + batches[$1]!.rowIDs.count }
        logger.warning(
            "shutdown grace period over: the rows in flight stay undelivered and will be relayed again",
            metadata: ["rows": "\(rows)"]
        )
        for sequence in unfinished { leaveForTheNextRun(sequence) }
        return advance()
    }

    /// The event stream ended (the task was cancelled): whatever is in flight stays
    /// undelivered and is relayed again next time.
    mutating func eventsEnded() -> RelaySummary {
        for sequence in batches.keys.sorted() { leaveForTheNextRun(sequence) }
        phase = .stopped
        return summary
    }

    // MARK: - Transitions

    /// Starts a read or a poll timer when one is due, or stops when nothing is left to do.
    private mutating func advance() -> [Action] {
        switch phase {
        case .stopped:
            return []
        case .stopping:
            return batches.isEmpty ? stop(.success(summary)) : []
        case .relaying:
            break
        }
        let hasRoom =
            (batches.isEmpty
                || (batches.count < configuration.maximumBatchesInFlight
                    && rowsInFlight + configuration.batchSize <= configuration.maximumRowsInFlight
                    && bytesInFlight < configuration.maximumBytesInFlight))
            && !parkedQueueAtCapacity()
        if !fetching && !caughtUp && hasRoom {
            return [startRead(after: cursor, delay: nil)]
        }
        if !fetching && caughtUp && !sleeping {
            sleeping = true
            let interval = pollInterval
            pollInterval = min(pollInterval * 2, configuration.idlePollInterval.upperBound)
            // Only an idle relay waits for notifications; with batches in flight it re-reads
            // on the timer.
            return [.sleep(interval, untilRowsArrive: batches.isEmpty)]
        }
        return []
    }

    /// The read, given what is left of the byte bound.
    private mutating func startRead(after cursor: OutboxCursor?, delay: Duration?) -> Action {
        fetching = true
        budgetOfTheRead = byteBudget
        return .fetch(after: cursor, delay: delay, maximumBytes: budgetOfTheRead)
    }

    private mutating func stop(_ result: Result<RelaySummary, RelayEngine.Failure>) -> [Action] {
        phase = .stopped
        return [.stop(result)]
    }

    private mutating func readFromTheStart() {
        cursor = nil
        caughtUp = false
    }

    private mutating func leaveForTheNextRun(_ sequence: Int) {
        guard let batch = batches.removeValue(forKey: sequence) else { return }
        summary.rowsLeftInFlight += batch.rowIDs.count
        // Its parked messages were never written: they are parked again next time, if need be.
        for entry in batch.parked {
            parkedQueues[entry.destination]?.remove(key: entry.orderingKey, entries: 1, bytes: entry.payload.count)
        }
    }

    /// Hands a destination its next queued batch if it is idle.
    private mutating func startNextDelivery(to destination: String) -> [Action] {
        guard var lane = lanes[destination], lane.delivering == nil else { return [] }
        defer { lanes[destination] = lane }
        // A drain round has the transport: only batches that wait wholly behind parked
        // messages (nothing to send) go on meanwhile.
        let draining = parkedQueues[destination]?.draining ?? false
        var actions: [Action] = []
        while !lane.queued.isEmpty {
            let sequence = lane.queued.removeFirst()
            // A batch left for the next run is not delivered.
            guard var messages = batches[sequence]?.plan?.lanes.removeValue(forKey: destination) else { continue }
            messages = parkBehindParkedKeys(messages, of: sequence, for: destination)
            if messages.isEmpty {
                // All of it waits behind parked messages: done for this destination.
                batches[sequence]!.waitingFor.remove(destination)
                actions += completeIfDelivered(sequence)
                continue
            }
            if draining {
                batches[sequence]!.plan!.lanes[destination] = messages
                lane.queued.insert(sequence, at: 0)
                break
            }
            lane.delivering = sequence
            return actions + [
                .deliver(
                    sequence: sequence,
                    destination: destination,
                    messages: messages,
                    storedPayloads: batches[sequence]!.plan!.storedPayloads,
                    parkAtFirstFailure: failingOutright.contains(destination)
                )
            ]
        }
        return actions
    }

    private mutating func completeIfDelivered(_ sequence: Int) -> [Action] {
        guard let batch = batches[sequence], batch.isDelivered, !batch.completing else { return [] }
        if batch.abandoned {
            leaveForTheNextRun(sequence)
            return batch.parked.isEmpty ? [] : completeBatchesWaitingForParkedOrder()
        }
        // The parked table keeps outbox order per destination and key by its ids: batches with
        // parked messages are written in claim order.
        if !batch.parked.isEmpty
            && batches.contains(where: { $0.key < sequence && !$0.value.parked.isEmpty })
        {
            return []
        }
        return startCompletion(sequence)
    }

    private mutating func startCompletion(_ sequence: Int) -> [Action] {
        batches[sequence]!.completing = true
        let batch = batches[sequence]!
        let delay =
            batch.completionAttempts > 0
            ? configuration.sourceRetry.delay(afterAttempt: batch.completionAttempts) : nil
        return [
            .complete(
                sequence: sequence,
                rows: batch.rowIDs,
                deadLetters: batch.deadLetters,
                parked: batch.parked,
                delay: delay
            )
        ]
    }

    // MARK: - Parking

    /// Records what a destination parked from a batch: its keys park their later messages.
    private mutating func park(_ parked: [ParkedDelivery], in sequence: Int) {
        guard !parked.isEmpty else { return }
        batches[sequence]!.parked += parked
        for entry in parked {
            parkedQueues[entry.destination, default: ParkedQueue()].add(
                key: entry.orderingKey,
                entries: 1,
                bytes: entry.payload.count
            )
        }
    }

    /// Parks the messages whose ordering key has parked messages for `destination` (behind them,
    /// in order) and returns the rest, to deliver.
    private mutating func parkBehindParkedKeys(
        _ messages: [OutboxMessage],
        of sequence: Int,
        for destination: String
    ) -> [OutboxMessage] {
        guard let queue = parkedQueues[destination], queue.entries > 0 else { return messages }
        var sent: [OutboxMessage] = []
        var parked: [ParkedDelivery] = []
        let now = Timestamp.now()
        // Without an expander a message's envelope is its row's stored payload (``BatchPlan``).
        let isRowPayload = batches[sequence]?.plan?.storedPayloads.isEmpty ?? false
        for message in messages {
            if queue.holds(message.orderingKey) {
                parked.append(
                    ParkedDelivery(
                        message,
                        destination: destination,
                        attempts: 0,
                        lastError: "parked behind an earlier message of \(message.orderingKey)",
                        firstFailedAt: now,
                        nextAttemptAt: now,
                        isRowPayload: isRowPayload
                    )
                )
            } else {
                sent.append(message)
            }
        }
        park(parked, in: sequence)
        return sent
    }

    /// Drains `destination`'s parked queue now (as soon as its lane is free), or after `delay`
    /// unless a round is already due, running or scheduled. Nothing when the queue is empty or
    /// the relay is stopping.
    private mutating func drainIfParked(_ destination: String, delay: Duration?) -> [Action] {
        guard case .relaying = phase, var queue = parkedQueues[destination], queue.entries > 0 else { return [] }
        if let delay {
            guard !queue.scheduled && !queue.draining && !queue.due else { return [] }
            queue.scheduled = true
            parkedQueues[destination] = queue
            return [.scheduleParkedDrain(destination: destination, after: delay)]
        }
        queue.due = true
        parkedQueues[destination] = queue
        return runDueDrain(destination)
    }

    /// Starts a due drain round when the destination delivers nothing else: a transport gets one
    /// batch at a time.
    private mutating func runDueDrain(_ destination: String) -> [Action] {
        guard case .relaying = phase, var queue = parkedQueues[destination], queue.due, !queue.draining,
            lanes[destination]?.delivering == nil
        else { return [] }
        queue.due = false
        guard queue.entries > 0 else {
            parkedQueues[destination] = queue
            return []
        }
        queue.draining = true
        parkedQueues[destination] = queue
        return [.drainParked(destination: destination, headsOnly: failingOutright.contains(destination))]
    }

    /// Completes the delivered batches that waited for an earlier batch's parked messages.
    private mutating func completeBatchesWaitingForParkedOrder() -> [Action] {
        var actions: [Action] = []
        for sequence in batches.keys.sorted() where !(batches[sequence]?.parked.isEmpty ?? true) {
            actions += completeIfDelivered(sequence)
            if batches[sequence] != nil { break }  // the oldest with parked messages: the later wait for it
        }
        return actions
    }

    /// Whether a destination's parked queue reached its cap: then no more rows are claimed
    /// (nothing is dropped), until its drain makes room. Said loudly once per episode.
    private mutating func parkedQueueAtCapacity() -> Bool {
        let limits = configuration.parking
        let full = parkedQueues.filter {
            $0.value.entries >= limits.maximumEntries || $0.value.bytes >= limits.maximumBytes
        }
        let atCapacity = !full.isEmpty
        if atCapacity && !parkingAtCapacity {
            for (destination, queue) in full.sorted(by: { $0.key < $1.key }) {
                logger.critical(
                    "a parked queue is full: claiming no more rows until it drains",
                    metadata: [
                        "destination": "\(destination)", "parked_messages": "\(queue.entries)",
                        "parked_bytes": "\(queue.bytes)", "limit_messages": "\(limits.maximumEntries)",
                        "limit_bytes": "\(limits.maximumBytes)",
                    ]
                )
            }
        } else if !atCapacity && parkingAtCapacity {
            logger.notice("parked queues are below their limits again: claiming rows")
        }
        parkingAtCapacity = atCapacity
        return atCapacity
    }
}
