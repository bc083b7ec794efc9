import Logging
import Testing

@testable import OutboxRelay

/// Drives every transition of the coordinator synchronously: no tasks, no clock, no sleeps.
@Suite("RelayStateMachine")
struct RelayStateMachineTests {
    struct Failed: Error {}

    static func machine(
        batchSize: Int = 10,
        batches: Int = 4,
        rows: Int = 10_000,
        bytes: Int = 64 << 20,
        untilDrained: Bool = true,
        sourceAttempts: Int = 3
    ) -> RelayStateMachine {
        var configuration = RelayEngine.Configuration(
            batchSize: batchSize,
            maximumBatchesInFlight: batches,
            maximumRowsInFlight: rows,
            maximumBytesInFlight: bytes,
            idlePollInterval: .milliseconds(10) ... .milliseconds(40),
            shutdownGracePeriod: .seconds(10)
        )
        configuration.sourceRetry = RetryPolicy(
            initialDelay: .milliseconds(100),
            multiplier: 2,
            maximumDelay: .seconds(10),
            jitter: 0,
            maximumAttempts: sourceAttempts
        )
        return RelayStateMachine(
            configuration: .init(configuration, untilDrained: untilDrained),
            logger: Logger(label: "test")
        )
    }

    /// Rows `ids` of an outbox table, each a decodable message of its own aggregate.
    static func rows(_ ids: ClosedRange<Int>) -> [OutboxRow] {
        ids.map { OutboxRow(id: .integer(Int64($0)), payload: outboxPayload(aggregate: "a\($0)", version: 1)) }
    }

    static func plan(_ sequence: Int, _ rows: [OutboxRow], to destinations: [String] = ["sink"]) throws -> BatchPlan {
        BatchPlan(
            sequence: sequence,
            rows: rows,
            flavour: .outbox,
            decoder: EnvelopeDecoder(table: "outbox_messages"),
            expander: nil,
            routing: try RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: destinations)]),
            onUnrouted: { _ in }
        )
    }

    static func cursor(_ id: Int) -> OutboxCursor { OutboxCursor(id: .integer(Int64(id))) }

    // MARK: - Reading and batch windows

    @Test func startsByReadingFromTheFirstUndeliveredRow() {
        var machine = Self.machine()
        #expect(machine.start().described == ["fetch after start"])
    }

    @Test func aFullBatchIsPlannedWhileTheNextIsRead() {
        var machine = Self.machine()
        _ = machine.start()
        let actions = machine.fetched(.success(Self.rows(1...10)), after: nil)
        #expect(actions.described == ["plan 0 (10 rows)", "fetch after 10"])
        #expect(machine.rowsInFlight == 10)
    }

    @Test func noMoreBatchesAreClaimedThanTheWindowAllows() throws {
        var machine = Self.machine(batches: 2)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        #expect(machine.fetched(.success(Self.rows(11...20)), after: Self.cursor(10)).described == ["plan 1 (10 rows)"])
        #expect(machine.batchesInFlight == 2)
        _ = machine.planned(try Self.plan(0, Self.rows(1...10)))
        let completion = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(10, []))
        #expect(completion.described == ["complete 0 (10 rows, 0 dead letters)"])
        #expect(
            machine.completed(sequence: 0, error: nil).described == ["fetch after 20"],
            "a completed batch makes room for the next read"
        )
    }

    @Test func rowsInFlightBoundTheWindowWhateverTheBatchSize() {
        var machine = Self.machine(batches: 8, rows: 25)
        _ = machine.start()
        #expect(machine.fetched(.success(Self.rows(1...10)), after: nil).described.last == "fetch after 10")
        #expect(
            machine.fetched(.success(Self.rows(11...20)), after: Self.cursor(10)).described == ["plan 1 (10 rows)"],
            "a third batch of 10 would exceed 25 rows in flight"
        )
    }

    @Test func oneBatchIsAlwaysAllowedEvenIfLargerThanTheRowBound() {
        var machine = Self.machine(batchSize: 50, rows: 10)
        #expect(machine.start().described == ["fetch after start"])
    }

    // MARK: - Byte bound

    /// Rows with payloads of exactly `size` bytes each.
    static func rows(_ ids: ClosedRange<Int>, bytes size: Int) -> [OutboxRow] {
        ids.map { OutboxRow(id: .integer(Int64($0)), payload: [UInt8](repeating: UInt8(ascii: "x"), count: size)) }
    }

    @Test func eachReadMayAddOnlyWhatIsLeftOfTheByteBound() {
        var machine = Self.machine(batches: 8, bytes: 1_000)
        #expect(machine.start().fetchBudgets == [1_000])
        let actions = machine.fetched(.success(Self.rows(1...10, bytes: 30)), after: nil)
        #expect(actions.described == ["plan 0 (10 rows)", "fetch after 10"])
        #expect(actions.fetchBudgets == [700])
        #expect(machine.bytesInFlight == 300)
    }

    @Test func noFurtherBatchIsClaimedOnceBytesInFlightReachTheBound() throws {
        var machine = Self.machine(batches: 8, bytes: 1_000)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10, bytes: 30)), after: nil)
        // The source stopped at the row that reached the 700 bytes left: 3 rows of 250.
        let actions = machine.fetched(.success(Self.rows(11...13, bytes: 250)), after: Self.cursor(10))
        #expect(actions.described == ["plan 1 (3 rows)"], "no read, and no poll timer: the read was not caught up")
        #expect(machine.bytesInFlight == 1_050)
        _ = machine.planned(try Self.plan(0, Self.rows(1...10, bytes: 30)))
        _ = machine.planned(try Self.plan(1, Self.rows(11...13, bytes: 250)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(0, []))
        let afterCompletion = machine.completed(sequence: 0, error: nil)
        #expect(afterCompletion.described == ["fetch after 13"], "completing a batch makes room again")
        #expect(afterCompletion.fetchBudgets == [250])
    }

    @Test func aShortReadWithinTheByteBudgetIsCaughtUp() {
        var machine = Self.machine(batches: 8, bytes: 1_000)
        _ = machine.start()
        let actions = machine.fetched(.success(Self.rows(1...3, bytes: 100)), after: nil)
        #expect(actions.described == ["plan 0 (3 rows)", "sleep 0.01 seconds"])
    }

    @Test func oneBatchIsAlwaysAllowedEvenIfLargerThanTheByteBound() {
        var machine = Self.machine(batches: 8, bytes: 100)
        _ = machine.start()
        let actions = machine.fetched(.success(Self.rows(1...1, bytes: 5_000)), after: nil)
        #expect(actions.described == ["plan 0 (1 rows)"])
        _ = machine.eventsEnded()
        var empty = Self.machine(batches: 8, bytes: 0)
        #expect(empty.start().fetchBudgets == [0], "a read with no budget still returns its first row")
    }

    @Test func anEmptyReadIsCaughtUpEvenWithoutByteBudget() {
        var machine = Self.machine(batches: 8, bytes: 0, untilDrained: false)
        _ = machine.start()
        #expect(machine.fetched(.success([]), after: nil).described == ["sleep 0.01 seconds or until rows arrive"])
    }

    @Test func aRetriedReadGetsTheByteBudgetOfItsRetry() {
        var machine = Self.machine(batches: 8, bytes: 1_000)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10, bytes: 40)), after: nil)
        let retry = machine.fetched(.failure(Failed()), after: Self.cursor(10))
        #expect(retry.described == ["fetch after 10 in 0.1 seconds"])
        #expect(retry.fetchBudgets == [600])
    }

    @Test func anOversizedRowIsSetAsideUnreadWithItsReason() throws {
        let oversized = OutboxRow(
            id: .integer(2),
            payload: [],
            oversizedPayload: OversizedPayload(size: 41_943_040, limit: 16_777_216)
        )
        let plan = try Self.plan(0, Self.rows(1...1) + [oversized] + Self.rows(3...3))
        #expect(plan.lanes["sink"]?.map(\.rowID) == [.integer(1), .integer(3)])
        let letter = try #require(plan.deadLetters.first)
        #expect(plan.deadLetters.count == 1)
        #expect(letter.rowID == .integer(2))
        #expect(letter.payloadStaysInOutbox)
        #expect(letter.payload.isEmpty)
        #expect(letter.lastError.hasPrefix("payload of 41943040 bytes exceeds max_payload_bytes 16777216"))
    }

    // MARK: - Planning, delivering, completing

    @Test func plansArrivingOutOfOrderAreDeliveredInClaimOrder() throws {
        var machine = Self.machine()
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        _ = machine.fetched(.success(Self.rows(11...20)), after: Self.cursor(10))
        #expect(machine.planned(try Self.plan(1, Self.rows(11...20))).described.isEmpty, "batch 0 goes first")
        #expect(
            machine.planned(try Self.plan(0, Self.rows(1...10))).described == ["deliver 0 to sink (10 messages)"],
            "a destination receives one batch at a time"
        )
        #expect(
            machine.delivered(sequence: 0, destination: "sink", outcome: .completed(10, [])).described == [
                "deliver 1 to sink (10 messages)", "complete 0 (10 rows, 0 dead letters)",
            ]
        )
    }

    @Test func aBatchIsCompletedOnlyAfterEveryDestinationReported() throws {
        var machine = Self.machine()
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...3)), after: nil)
        #expect(
            machine.planned(try Self.plan(0, Self.rows(1...3), to: ["kafka", "webhook"])).described == [
                "deliver 0 to kafka (3 messages)", "deliver 0 to webhook (3 messages)",
            ]
        )
        #expect(machine.delivered(sequence: 0, destination: "kafka", outcome: .completed(3, [])).described.isEmpty)
        let letter = DeadLetter(
            rowID: .integer(2),
            payload: [],
            destination: "webhook",
            attempts: 1,
            lastError: "HTTP 400",
            firstFailedAt: .now(),
            lastFailedAt: .now()
        )
        #expect(
            machine.delivered(sequence: 0, destination: "webhook", outcome: .completed(2, [letter])).described == [
                "complete 0 (3 rows, 1 dead letters)"
            ]
        )
        #expect(machine.completed(sequence: 0, error: nil).described == ["fetch after start"])
    }

    @Test func aBatchWithoutDeliveriesIsCompletedRightAway() throws {
        var machine = Self.machine()
        _ = machine.start()
        let rows = [OutboxRow(id: .integer(1), payload: [])]  // undecodable
        _ = machine.fetched(.success(rows), after: nil)
        #expect(machine.planned(try Self.plan(0, rows)).described == ["complete 0 (1 rows, 1 dead letters)"])
    }

    @Test func aFailedCompletionIsRetriedWithBackoffAndDrainGivesUp() throws {
        var machine = Self.machine(sourceAttempts: 2)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...3)), after: nil)
        _ = machine.planned(try Self.plan(0, Self.rows(1...3)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(3, []))
        #expect(
            machine.completed(sequence: 0, error: Failed()).described == [
                "complete 0 (3 rows, 0 dead letters) in 0.1 seconds"
            ]
        )
        let stop = machine.completed(sequence: 0, error: Failed())
        #expect(stop.described.first?.hasPrefix("stop: could not mark delivered rows") == true)
    }

    @Test func anAbandonedDeliveryLeavesItsRowsForTheNextRun() throws {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...3)), after: nil)
        _ = machine.planned(try Self.plan(0, Self.rows(1...3)))
        #expect(machine.delivered(sequence: 0, destination: "sink", outcome: .abandoned).described.isEmpty)
        #expect(machine.rowsInFlight == 0)
        #expect(machine.eventsEnded().rowsLeftInFlight == 3)
    }

    // MARK: - Source failures

    @Test func aFailedReadIsRetriedWithGrowingBackoffAndResetAfterSuccess() {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        #expect(machine.fetched(.failure(Failed()), after: nil).described == ["fetch after start in 0.1 seconds"])
        #expect(machine.fetched(.failure(Failed()), after: nil).described == ["fetch after start in 0.2 seconds"])
        #expect(
            machine.fetched(.failure(Failed()), after: nil).described == ["fetch after start in 0.4 seconds"],
            "run() retries past the attempt limit"
        )
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        #expect(
            machine.fetched(.failure(Failed()), after: Self.cursor(10)).described == ["fetch after 10 in 0.1 seconds"]
        )
    }

    @Test func drainGivesUpAfterTheSourceRetryAttempts() {
        var machine = Self.machine(sourceAttempts: 2)
        _ = machine.start()
        _ = machine.fetched(.failure(Failed()), after: nil)
        let stop = machine.fetched(.failure(Failed()), after: nil).described
        #expect(stop.count == 1)
        #expect(stop.first?.hasPrefix("stop: reading the outbox failed 2 times") == true)
    }

    // MARK: - Idle polling and drain end

    @Test func drainEndsWhenAReadFromTheStartFindsNothing() {
        var machine = Self.machine()
        _ = machine.start()
        #expect(
            machine.fetched(.success([]), after: nil).described == [
                "stop: 0 rows, 0 messages, 0 deliveries, 0 dead letters"
            ]
        )
        #expect(machine.woke().isEmpty, "no event is acted on after stop")
    }

    @Test func anEmptyReadBehindACursorChecksOnceFromTheStart() throws {
        var machine = Self.machine()
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        _ = machine.planned(try Self.plan(0, Self.rows(1...10)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(10, []))
        #expect(
            machine.fetched(.success([]), after: Self.cursor(10)).described == ["sleep 0.01 seconds"],
            "with a batch in flight the relay polls on the timer"
        )
        #expect(
            machine.completed(sequence: 0, error: nil).described == ["fetch after start"],
            "rows committed late behind the cursor are found"
        )
        #expect(
            machine.fetched(.success([]), after: nil).described == [
                "stop: 10 rows, 10 messages, 10 deliveries, 0 dead letters"
            ]
        )
    }

    @Test func aCaughtUpRelayPollsWithADoublingIntervalUpToTheBound() {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        #expect(machine.fetched(.success([]), after: nil).described == ["sleep 0.01 seconds or until rows arrive"])
        #expect(machine.woke().described == ["fetch after start"])
        #expect(machine.fetched(.success([]), after: nil).described == ["sleep 0.02 seconds or until rows arrive"])
        _ = machine.woke()
        #expect(machine.fetched(.success([]), after: nil).described == ["sleep 0.04 seconds or until rows arrive"])
        _ = machine.woke()
        #expect(machine.fetched(.success([]), after: nil).described == ["sleep 0.04 seconds or until rows arrive"])
        _ = machine.woke()
        #expect(
            machine.fetched(.success(Self.rows(1...3)), after: nil).described == [
                "plan 0 (3 rows)", "sleep 0.01 seconds",
            ],
            "rows found reset the interval; with batches in flight the relay polls on the timer"
        )
    }

    // MARK: - Shutdown

    @Test func shutdownLetsBatchesInFlightFinishWithinTheGracePeriod() throws {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        #expect(machine.shutdownRequested().described == ["grace period 10.0 seconds"])
        #expect(machine.shutdownRequested().isEmpty, "a second request changes nothing")
        #expect(
            machine.fetched(.success(Self.rows(11...20)), after: Self.cursor(10)).described.isEmpty,
            "rows read after shutdown was requested are neither delivered nor marked"
        )
        _ = machine.planned(try Self.plan(0, Self.rows(1...10)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(10, []))
        #expect(
            machine.completed(sequence: 0, error: nil).described == [
                "stop: 10 rows, 10 messages, 10 deliveries, 0 dead letters"
            ]
        )
    }

    @Test func whenTheGracePeriodEndsUnfinishedBatchesStayUndelivered() throws {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        _ = machine.fetched(.success(Self.rows(11...20)), after: Self.cursor(10))
        _ = machine.fetched(.success(Self.rows(21...30)), after: Self.cursor(20))
        _ = machine.planned(try Self.plan(0, Self.rows(1...10)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(10, []))  // being marked
        _ = machine.planned(try Self.plan(1, Self.rows(11...20)))  // being delivered
        _ = machine.shutdownRequested()
        #expect(machine.gracePeriodExpired().described.isEmpty, "the batch being marked still finishes")
        #expect(machine.rowsInFlight == 10)
        #expect(machine.planned(try Self.plan(2, Self.rows(21...30))).described.isEmpty, "left batches are not sent")
        #expect(machine.delivered(sequence: 1, destination: "sink", outcome: .completed(10, [])).described.isEmpty)
        #expect(
            machine.completed(sequence: 0, error: nil).described == [
                "stop: 10 rows, 10 messages, 10 deliveries, 0 dead letters, 20 rows left for redelivery"
            ]
        )
    }

    @Test func aFailedCompletionDuringShutdownIsLeftForTheNextRun() throws {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...3)), after: nil)
        _ = machine.planned(try Self.plan(0, Self.rows(1...3)))
        _ = machine.delivered(sequence: 0, destination: "sink", outcome: .completed(3, []))
        _ = machine.shutdownRequested()
        #expect(
            machine.completed(sequence: 0, error: Failed()).described == [
                "stop: 0 rows, 0 messages, 0 deliveries, 0 dead letters, 3 rows left for redelivery"
            ]
        )
    }

    @Test func shutdownWhileIdleStopsAtOnce() {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success([]), after: nil)
        #expect(
            machine.shutdownRequested().described == [
                "grace period 10.0 seconds", "stop: 0 rows, 0 messages, 0 deliveries, 0 dead letters",
            ]
        )
    }

    @Test func cancellationLeavesEverythingInFlightForTheNextRun() {
        var machine = Self.machine(untilDrained: false)
        _ = machine.start()
        _ = machine.fetched(.success(Self.rows(1...10)), after: nil)
        _ = machine.fetched(.success(Self.rows(11...15)), after: Self.cursor(10))
        let summary = machine.eventsEnded()
        #expect(summary.rowsLeftInFlight == 15)
        #expect(summary.rowsCompleted == 0)
    }
}

extension DestinationDelivery.Outcome {
    static func completed(_ delivered: Int, _ deadLetters: [DeadLetter]) -> Self {
        .completed(delivered: delivered, deadLetters: deadLetters, parked: [])
    }
}

extension [RelayStateMachine.Action] {
    /// The byte budgets of the reads among the actions.
    var fetchBudgets: [Int] {
        compactMap { action in
            if case .fetch(_, _, let maximumBytes) = action { return maximumBytes }
            return nil
        }
    }

    /// The actions in words, to compare whole sequences in one expectation.
    var described: [String] {
        map { action in
            switch action {
            case .fetch(let cursor, let delay, _):
                let from = cursor.map { "\($0.id)" } ?? "start"
                return "fetch after \(from)" + (delay.map { " in \($0)" } ?? "")
            case .plan(let sequence, let rows):
                return "plan \(sequence) (\(rows.count) rows)"
            case .deliver(let sequence, let destination, let messages, _, _):
                return "deliver \(sequence) to \(destination) (\(messages.count) messages)"
            case .complete(let sequence, let rows, let deadLetters, let parked, let delay):
                return "complete \(sequence) (\(rows.count) rows, \(deadLetters.count) dead letters"
                    + (parked.isEmpty ? "" : ", \(parked.count) parked") + ")"
                    + (delay.map { " in \($0)" } ?? "")
            case .drainParked(let destination, let headsOnly):
                return "drain parked of \(destination)" + (headsOnly ? " (heads only)" : "")
            case .scheduleParkedDrain(let destination, let delay):
                return "drain parked of \(destination) in \(delay)"
            case .sleep(let interval, let untilRowsArrive):
                return "sleep \(interval)" + (untilRowsArrive ? " or until rows arrive" : "")
            case .startGracePeriod(let grace):
                return "grace period \(grace)"
            case .stop(.success(let summary)):
                return "stop: \(summary)"
            case .stop(.failure(let failure)):
                return "stop: \(failure)"
            }
        }
    }
}
