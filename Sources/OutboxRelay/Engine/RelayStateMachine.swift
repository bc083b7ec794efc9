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

        init(_ engine: RelayEngine.Configuration, untilDrained: Bool) {
            self.batchSize = engine.batchSize
            self.maximumBatchesInFlight = engine.maximumBatchesInFlight
            self.maximumRowsInFlight = engine.maximumRowsInFlight
            self.maximumBytesInFlight = engine.maximumBytesInFlight
            self.idlePollInterval = engine.idlePollInterval
            self.shutdownGracePeriod = engine.shutdownGracePeriod
            self.sourceRetry = engine.sourceRetry
            self.untilDrained = untilDrained
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
        /// Deliver a batch's messages to one destination (retrying as its policy says);
        /// report with ``RelayStateMachine/delivered(sequence:destination:outcome:)``.
        case deliver(
            sequence: Int,
            destination: String,
            messages: [OutboxMessage],
            storedPayloads: [OutboxRowID: [UInt8]]
        )
        /// Mark (or delete) the rows and record the dead letters in one source transaction,
        /// after waiting `delay` when given; report with
        /// ``RelayStateMachine/completed(sequence:error:)``.
        case complete(sequence: Int, rows: [OutboxRowID], deadLetters: [DeadLetter], delay: Duration?)
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

    init(configuration: Configuration, logger: Logger) {
        precondition(configuration.batchSize > 0 && configuration.maximumBatchesInFlight > 0)
        self.configuration = configuration
        self.logger = logger
        self.pollInterval = configuration.idlePollInterval.lowerBound
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
        advance()
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
            logger.error("reading the outbox failed (attempt \(sourceFailures)): \(error)")
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
                } else if configuration.untilDrained {
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
        var actions = startNextDelivery(to: destination)
        if batches[sequence] != nil {
            batches[sequence]!.waitingFor.remove(destination)
            switch outcome {
            case .completed(let delivered, let deadLetters):
                batches[sequence]!.deliveries += delivered
                batches[sequence]!.deadLetters += deadLetters
            case .abandoned:
                batches[sequence]!.abandoned = true
            }
            actions += completeIfDelivered(sequence)
        }
        return actions + advance()
    }

    /// A completion (mark or delete) finished, or failed with `error`.
    mutating func completed(sequence: Int, error: (any Error)?) -> [Action] {
        guard var batch = batches[sequence] else { return advance() }
        if let error {
            batch.completing = false
            batch.completionAttempts += 1
            batches[sequence] = batch
            logger.error("could not mark \(batch.rowIDs.count) rows (attempt \(batch.completionAttempts)): \(error)")
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
        return advance()
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
        logger.info("stopping: claiming no more rows; finishing \(batches.count) batches in flight")
        return [.startGracePeriod(configuration.shutdownGracePeriod)] + advance()
    }

    /// The grace period is over: batches being marked finish (their rows were delivered);
    /// the rest stay undelivered for the next run.
    mutating func gracePeriodExpired() -> [Action] {
        guard case .stopping = phase else { return [] }
        let unfinished = batches.filter { !$0.value.completing }.keys.sorted()
        let rows = unfinished.reduce(0) { $0 + batches[$1]!.rowIDs.count }
        logger.warning("shutdown grace period over: \(rows) rows stay undelivered and will be relayed again")
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
            batches.isEmpty
            || (batches.count < configuration.maximumBatchesInFlight
                && rowsInFlight + configuration.batchSize <= configuration.maximumRowsInFlight
                && bytesInFlight < configuration.maximumBytesInFlight)
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
    }

    /// Hands a destination its next queued batch if it is idle.
    private mutating func startNextDelivery(to destination: String) -> [Action] {
        guard var lane = lanes[destination], lane.delivering == nil else { return [] }
        defer { lanes[destination] = lane }
        while !lane.queued.isEmpty {
            let sequence = lane.queued.removeFirst()
            // A batch left for the next run is not delivered.
            guard let messages = batches[sequence]?.plan?.lanes.removeValue(forKey: destination) else { continue }
            lane.delivering = sequence
            return [
                .deliver(
                    sequence: sequence,
                    destination: destination,
                    messages: messages,
                    storedPayloads: batches[sequence]!.plan!.storedPayloads
                )
            ]
        }
        return []
    }

    private mutating func completeIfDelivered(_ sequence: Int) -> [Action] {
        guard let batch = batches[sequence], batch.isDelivered, !batch.completing else { return [] }
        if batch.abandoned {
            leaveForTheNextRun(sequence)
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
        return [.complete(sequence: sequence, rows: batch.rowIDs, deadLetters: batch.deadLetters, delay: delay)]
    }
}
