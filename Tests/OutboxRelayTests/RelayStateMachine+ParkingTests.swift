import Logging
import Testing

@testable import OutboxRelay

/// Parking in the coordinator, driven synchronously: which messages are parked behind a parked
/// key, in which order batches with parked messages are written, when the parked queue drains,
/// and the cap on parked messages.
@Suite("RelayStateMachine parking")
struct RelayStateMachineParkingTests {
    static func machine(
        parks: Bool = true,
        untilDrained: Bool = false,
        maximumParked: Int = 100_000,
        parked: [ParkedBacklog] = []
    ) -> RelayStateMachine {
        let configuration = RelayEngine.Configuration(
            batchSize: 10,
            maximumBatchesInFlight: 4,
            idlePollInterval: .milliseconds(10) ... .milliseconds(40),
            parking: .init(maximumEntries: maximumParked, pollInterval: .milliseconds(500))
        )
        return RelayStateMachine(
            configuration: .init(configuration, untilDrained: untilDrained, parks: parks),
            logger: Logger(label: "test"),
            parked: parked
        )
    }

    /// Rows `ids`, row n being version n of aggregate `aggregate(n)`.
    static func rows(_ ids: ClosedRange<Int>, aggregate: (Int) -> String) -> [OutboxRow] {
        ids.map { OutboxRow(id: .integer(Int64($0)), payload: outboxPayload(aggregate: aggregate($0), version: $0)) }
    }

    static func plan(_ sequence: Int, _ rows: [OutboxRow], to destinations: [String]) throws -> BatchPlan {
        try RelayStateMachineTests.plan(sequence, rows, to: destinations)
    }

    static func messages(_ rows: [OutboxRow]) throws -> [OutboxMessage] {
        let decoder = EnvelopeDecoder(table: "outbox_messages")
        return try rows.map { try decoder.decode($0) }
    }

    static func parked(_ message: OutboxMessage, for destination: String) -> ParkedDelivery {
        ParkedDelivery(
            message,
            destination: destination,
            attempts: 3,
            lastError: "connection refused",
            firstFailedAt: .now(),
            nextAttemptAt: .now(),
            isRowPayload: true
        )
    }

    /// The messages each `.deliver` action hands `destination`, by event id.
    static func delivered(to destination: String, in actions: [RelayStateMachine.Action]) -> [String] {
        actions.flatMap { action -> [String] in
            guard case .deliver(_, destination, let messages, _, _) = action else { return [] }
            return messages.map(\.eventID)
        }
    }

    static func completions(in actions: [RelayStateMachine.Action]) -> [(sequence: Int, parked: [ParkedDelivery])] {
        actions.compactMap { action in
            guard case .complete(let sequence, _, _, let parked, _) = action else { return nil }
            return (sequence, parked)
        }
    }

    /// Batch 0: rows 1...4 of aggregates a (odd) and b (even) to `file` and `webhook`; the
    /// webhook parks a's first message (row 1) and, behind it, row 3.
    static func parkAggregateA(_ machine: inout RelayStateMachine) throws -> [RelayStateMachine.Action] {
        _ = machine.start()
        let rows = Self.rows(1...4) { $0 % 2 == 1 ? "a" : "b" }
        _ = machine.fetched(.success(rows), after: nil)
        _ = machine.planned(try Self.plan(0, rows, to: ["file", "webhook"]))
        _ = machine.delivered(sequence: 0, destination: "file", outcome: .completed(4, []))
        let messages = try Self.messages(rows)
        return machine.delivered(
            sequence: 0,
            destination: "webhook",
            outcome: .completed(
                delivered: 2,
                deadLetters: [],
                parked: [Self.parked(messages[0], for: "webhook"), Self.parked(messages[2], for: "webhook")]
            )
        )
    }

    @Test func aBatchWithParkedMessagesCompletesWithThemAndItsDrainIsScheduled() throws {
        var machine = Self.machine()
        let actions = try Self.parkAggregateA(&machine)
        let completions = Self.completions(in: actions)
        #expect(completions.map(\.sequence) == [0])
        #expect(completions.first?.parked.map(\.eventID) == ["a-1", "a-3"])
        #expect(machine.parkedEntries(for: "webhook") == 2)
        #expect(machine.completed(sequence: 0, error: nil).described.contains("drain parked of webhook in 0.5 seconds"))
    }

    @Test func laterMessagesOfAParkedAggregateAreParkedBehindItWhileOthersFlow() throws {
        var machine = Self.machine()
        _ = try Self.parkAggregateA(&machine)
        _ = machine.completed(sequence: 0, error: nil)
        let rows = Self.rows(5...8) { $0 % 2 == 1 ? "a" : "b" }
        _ = machine.fetched(.success(rows), after: Self.cursor(4))
        let actions = machine.planned(try Self.plan(1, rows, to: ["file", "webhook"]))
        #expect(Self.delivered(to: "file", in: actions) == ["a-5", "b-6", "a-7", "b-8"], "other destinations get all")
        #expect(Self.delivered(to: "webhook", in: actions) == ["b-6", "b-8"], "a waits behind its parked messages")
        #expect(machine.parkedEntries(for: "webhook") == 4)

        _ = machine.delivered(sequence: 1, destination: "file", outcome: .completed(4, []))
        let completion = machine.delivered(sequence: 1, destination: "webhook", outcome: .completed(2, []))
        #expect(Self.completions(in: completion).first?.parked.map(\.eventID) == ["a-5", "a-7"])
        #expect(
            Self.completions(in: completion).first?.parked.allSatisfy(\.payloadIsRowPayload) == true,
            "without an expander the envelope is the row's payload: the source may copy it from the row"
        )
    }

    @Test func aBatchWhoseMessagesAllWaitBehindParkedOnesIsNotSentToThatDestination() throws {
        var machine = Self.machine()
        _ = try Self.parkAggregateA(&machine)
        _ = machine.completed(sequence: 0, error: nil)
        let rows = Self.rows(5...5) { _ in "a" }
        _ = machine.fetched(.success(rows), after: Self.cursor(4))
        let actions = machine.planned(try Self.plan(1, rows, to: ["webhook"]))
        #expect(Self.delivered(to: "webhook", in: actions).isEmpty)
        #expect(Self.completions(in: actions).map { $0.parked.map(\.eventID) } == [["a-5"]])
    }

    @Test func batchesWithParkedMessagesAreWrittenInClaimOrder() throws {
        var machine = Self.machine()
        _ = machine.start()
        let first = Self.rows(1...2) { _ in "a" }
        let second = Self.rows(3...4) { _ in "a" }
        _ = machine.fetched(.success(first), after: nil)
        _ = machine.fetched(.success(second), after: Self.cursor(2))
        _ = machine.planned(try Self.plan(0, first, to: ["slow", "webhook"]))
        _ = machine.planned(try Self.plan(1, second, to: ["webhook"]))
        let messages = try Self.messages(first)
        // Batch 0 parks a-1, a-2 for the webhook but waits for `slow`; batch 1's a-3, a-4 park behind.
        let afterFirst = machine.delivered(
            sequence: 0,
            destination: "webhook",
            outcome: .completed(
                delivered: 0,
                deadLetters: [],
                parked: messages.map { Self.parked($0, for: "webhook") }
            )
        )
        #expect(Self.delivered(to: "webhook", in: afterFirst).isEmpty)
        #expect(Self.completions(in: afterFirst).isEmpty, "batch 1's parked rows may not be written before batch 0's")
        let afterSlow = machine.delivered(sequence: 0, destination: "slow", outcome: .completed(2, []))
        #expect(Self.completions(in: afterSlow).map(\.sequence) == [0])
        let afterCompletion = machine.completed(sequence: 0, error: nil)
        #expect(Self.completions(in: afterCompletion).map { $0.parked.map(\.eventID) } == [["a-3", "a-4"]])
    }

    @Test func aDrainRoundWaitsForTheDestinationsWindowDeliveryAndViceVersa() throws {
        var machine = Self.machine()
        _ = try Self.parkAggregateA(&machine)
        _ = machine.completed(sequence: 0, error: nil)
        let rows = Self.rows(5...6) { _ in "c" }
        _ = machine.fetched(.success(rows), after: Self.cursor(4))
        #expect(Self.delivered(to: "webhook", in: machine.planned(try Self.plan(1, rows, to: ["webhook"]))).count == 2)
        #expect(machine.parkedDrainDue(destination: "webhook").described.isEmpty, "the webhook is delivering batch 1")
        let afterDelivery = machine.delivered(sequence: 1, destination: "webhook", outcome: .completed(2, []))
        #expect(afterDelivery.described.contains("drain parked of webhook"))

        // While the round runs, the next batch waits for it.
        _ = machine.completed(sequence: 1, error: nil)
        let more = Self.rows(7...7) { _ in "c" }
        _ = machine.fetched(.success(more), after: Self.cursor(6))
        #expect(Self.delivered(to: "webhook", in: machine.planned(try Self.plan(2, more, to: ["webhook"]))).isEmpty)
        let afterRound = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(
                removed: [.init(destination: "webhook", orderingKey: "/a", entries: 2, bytes: 0)],
                delivered: 2,
                deadLettered: 0,
                retried: 0
            )
        )
        #expect(Self.delivered(to: "webhook", in: afterRound) == ["c-7"])
        #expect(machine.parkedEntries(for: "webhook") == 0)
    }

    @Test func onceAnAggregatesParkedMessagesAreDeliveredItsNextMessagesAreSentAgain() throws {
        var machine = Self.machine()
        _ = try Self.parkAggregateA(&machine)
        _ = machine.completed(sequence: 0, error: nil)
        _ = machine.parkedDrainDue(destination: "webhook")
        _ = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(
                removed: [.init(destination: "webhook", orderingKey: "/a", entries: 2, bytes: 0)],
                delivered: 2,
                deadLettered: 0,
                retried: 0
            )
        )
        let rows = Self.rows(5...5) { _ in "a" }
        _ = machine.fetched(.success(rows), after: Self.cursor(4))
        #expect(Self.delivered(to: "webhook", in: machine.planned(try Self.plan(1, rows, to: ["webhook"]))) == ["a-5"])
    }

    @Test func aRoundThatDeliveredNothingIsFollowedByTheNextAfterThePollInterval() throws {
        var machine = Self.machine()
        _ = try Self.parkAggregateA(&machine)
        _ = machine.completed(sequence: 0, error: nil)
        #expect(machine.parkedDrainDue(destination: "webhook").described.contains("drain parked of webhook"))
        let actions = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(removed: [], delivered: 0, deadLettered: 0, retried: 1)
        )
        #expect(actions.described.contains("drain parked of webhook in 0.5 seconds"))
        #expect(machine.parkedEntries(for: "webhook") == 2)
    }

    @Test func parkedMessagesFoundOnStartAreDrainedAndHoldTheirAggregates() throws {
        var machine = Self.machine(
            parked: [.init(destination: "webhook", orderingKey: "/a", entries: 3, bytes: 300)]
        )
        #expect(machine.start().described == ["drain parked of webhook", "fetch after start"])
        let rows = Self.rows(1...2) { $0 == 1 ? "a" : "b" }
        _ = machine.fetched(.success(rows), after: nil)
        let actions = machine.planned(try Self.plan(0, rows, to: ["webhook"]))
        #expect(Self.delivered(to: "webhook", in: actions).isEmpty, "the drain round has the webhook")
        let afterRound = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(removed: [], delivered: 0, deadLettered: 0, retried: 1)
        )
        #expect(Self.delivered(to: "webhook", in: afterRound) == ["b-2"], "a-1 is parked behind the parked a's")
        #expect(machine.parkedEntries(for: "webhook") == 4)
    }

    @Test func atTheParkedCapNoMoreRowsAreClaimedUntilTheQueueDrains() throws {
        var machine = Self.machine(
            maximumParked: 3,
            parked: [.init(destination: "webhook", orderingKey: "/a", entries: 3, bytes: 300)]
        )
        #expect(machine.start().described == ["drain parked of webhook"], "no read at the cap")
        let actions = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(
                removed: [.init(destination: "webhook", orderingKey: "/a", entries: 1, bytes: 100)],
                delivered: 1,
                deadLettered: 0,
                retried: 0
            )
        )
        #expect(actions.described.contains("fetch after start"))
    }

    @Test func drainDoesNotEndWhileMessagesAreParked() throws {
        var machine = Self.machine(
            untilDrained: true,
            parked: [.init(destination: "webhook", orderingKey: "/a", entries: 1, bytes: 100)]
        )
        _ = machine.start()
        #expect(!machine.fetched(.success([]), after: nil).described.contains { $0.hasPrefix("stop") })
        _ = machine.parkedDrained(
            destination: "webhook",
            outcome: .settled(
                removed: [.init(destination: "webhook", orderingKey: "/a", entries: 1, bytes: 100)],
                delivered: 1,
                deadLettered: 0,
                retried: 0
            )
        )
        _ = machine.woke()
        #expect(machine.fetched(.success([]), after: nil).described.contains { $0.hasPrefix("stop") })
    }

    static func parksAtFirstFailure(_ actions: [RelayStateMachine.Action], for destination: String) -> Bool? {
        actions.lazy.compactMap { action -> Bool? in
            guard case .deliver(_, destination, _, _, let parkAtFirstFailure) = action else { return nil }
            return parkAtFirstFailure
        }.first
    }

    @Test func aDestinationThatDeliveredNothingParksAtTheFirstFailureUntilADeliverySucceeds() throws {
        var machine = Self.machine()
        _ = machine.start()
        let batches = (0..<3).map { Self.rows((10 * $0 + 1)...(10 * $0 + 2)) { "k\($0)" } }
        for (sequence, rows) in batches.enumerated() {
            _ = machine.fetched(.success(rows), after: sequence == 0 ? nil : Self.cursor(10 * sequence - 8))
        }
        let first = machine.planned(try Self.plan(0, batches[0], to: ["webhook"]))
        #expect(Self.parksAtFirstFailure(first, for: "webhook") == false)
        _ = machine.planned(try Self.plan(1, batches[1], to: ["webhook"]))
        _ = machine.planned(try Self.plan(2, batches[2], to: ["webhook"]))
        let down = try Self.messages(batches[0]).map { Self.parked($0, for: "webhook") }
        let second = machine.delivered(
            sequence: 0,
            destination: "webhook",
            outcome: .completed(delivered: 0, deadLetters: [], parked: down)
        )
        #expect(Self.parksAtFirstFailure(second, for: "webhook") == true, "the endpoint is down")
        let third = machine.delivered(sequence: 1, destination: "webhook", outcome: .completed(2, []))
        #expect(Self.parksAtFirstFailure(third, for: "webhook") == false, "it delivered again")
    }

    static func cursor(_ id: Int) -> OutboxCursor { OutboxCursor(id: .integer(Int64(id))) }
}
