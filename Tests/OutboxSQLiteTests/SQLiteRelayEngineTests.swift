import Foundation
import OutboxRelay
import Synchronization
import Testing

@testable import OutboxSQLite

/// What an in-process consumer received.
actor ReceivedMessages {
    private(set) var messages: [OutboxMessage] = []
    private var failuresLeft: [String: Int] = [:]

    /// Makes the next `count` deliveries of `eventType` fail (retryable).
    func failNext(_ count: Int, of eventType: String) {
        failuresLeft[eventType] = count
    }

    func receive(_ message: OutboxMessage) throws {
        if let left = failuresLeft[message.eventType], left > 0 {
            failuresLeft[message.eventType] = left - 1
            throw TestFailure("temporary failure \(left)")
        }
        messages.append(message)
    }
}

@Suite("SQLiteSource with RelayEngine")
struct SQLiteRelayEngineTests {
    static let fastRetry = RetryPolicy(
        initialDelay: .milliseconds(1),
        maximumDelay: .milliseconds(5),
        jitter: 0,
        maximumAttempts: 3
    )

    static func engine(
        source: SQLiteSource,
        received: ReceivedMessages,
        permanentlyFailing: String? = nil
    ) throws -> RelayEngine {
        let consumer = MessageConsumerClosure { message in
            if message.eventType == permanentlyFailing {
                throw PermanentDeliveryError("consumer refuses \(message.eventType)")
            }
            try await received.receive(message)
        }
        return try RelayEngine(
            source: source,
            transports: [SynchronousDispatcher(name: "collector", consumer: consumer)],
            routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["collector"])]),
            configuration: .init(
                batchSize: 32,
                maximumBatchesInFlight: 3,
                retry: fastRetry,
                idlePollInterval: .milliseconds(1) ... .milliseconds(20)
            )
        )
    }

    @Test(
        "drain relays every PHP row once, in aggregate order, and dead-letters bad rows byte for byte",
        .enabled(if: SQLiteFixtures.isTestable, SQLiteFixtures.skipMessage)
    )
    func drainFixture() async throws {
        try SQLiteFixtures.requirePresent()
        let database = try TemporaryDatabase()
        try database.loadOutboxFixture()
        let source = try database.source()
        let truncated = Array(#"{"headers":{"__event_type":"acme.x","#.utf8)
        let badIDs = try await source.insert(payloads: [[], truncated, Array(#"{"payload":{}}"#.utf8)])
        let received = ReceivedMessages()
        await received.failNext(2, of: "acme.shop.orders.order_was_placed")

        let summary = try await Self.engine(source: source, received: received).drain()
        #expect(summary.rowsCompleted == 203)
        #expect(summary.messages == 200)
        #expect(summary.undecodableRows == 3)
        #expect(summary.deadLetters == 3)

        let messages = await received.messages
        #expect(messages.count == 200)
        #expect(Set(messages.map(\.rowID)).count == 200, "every row exactly once")
        // Per aggregate, versions arrive in increasing order.
        var lastVersion: [String: Int64] = [:]
        for message in messages {
            let version = try #require(message.aggregateRootVersion)
            #expect(version > lastVersion[message.orderingKey, default: 0], "\(message.orderingKey) out of order")
            lastVersion[message.orderingKey] = version
        }
        // The envelope forwarded is the stored column, untouched.
        let stored = try database.connection.query("SELECT id, payload FROM outbox_messages") {
            ($0.int64(at: 0), $0.bytes(at: 1))
        }
        let storedByID = Dictionary(uniqueKeysWithValues: stored)
        for message in messages {
            guard case .integer(let id) = message.rowID else {
                Issue.record("unexpected row id")
                continue
            }
            #expect(message.envelope == storedByID[id])
        }

        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0)
        let letters = try database.connection.query(
            "SELECT row_id, destination, payload, last_error FROM outbox_relay_dead_letters ORDER BY row_id"
        ) {
            ($0.text(at: 0), $0.isNull(at: 1), $0.bytes(at: 2), $0.text(at: 3) ?? "")
        }
        #expect(letters.map(\.0) == badIDs.map(\.description))
        #expect(letters.allSatisfy { $0.1 }, "undecodable rows have no destination")
        #expect(letters.map(\.2) == [[], truncated, Array(#"{"payload":{}}"#.utf8)])
        #expect(letters[0].3.contains("empty"))

        let again = try await Self.engine(source: try database.source(), received: received).drain()
        #expect(again.rowsCompleted == 0)
    }

    /// Forwards to a source and records the payload bytes read and not yet completed.
    final class ByteCountingSource: OutboxSource {
        let source: SQLiteSource
        private let state = Mutex<(sizes: [OutboxRowID: Int], inFlight: Int, peak: Int)>(([:], 0, 0))
        init(_ source: SQLiteSource) { self.source = source }
        var flavour: OutboxFlavour { source.flavour }
        var table: String { source.table }
        var peakBytesInFlight: Int { state.withLock { $0.peak } }
        func open() async throws { try await source.open() }
        func close() async { await source.close() }
        func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
            try await fetch(limit: limit, maximumBytes: .max, after: cursor)
        }
        func fetch(limit: Int, maximumBytes: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
            let rows = try await source.fetch(limit: limit, maximumBytes: maximumBytes, after: cursor)
            state.withLock { state in
                for row in rows { state.sizes[row.id] = row.payload.count }
                state.inFlight += rows.reduce(0) { $0 + $1.payload.count }
                state.peak = max(state.peak, state.inFlight)
            }
            return rows
        }
        func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
            try await source.complete(rows: rows, deadLetters: deadLetters)
            state.withLock { state in
                for id in rows { state.inFlight -= state.sizes.removeValue(forKey: id) ?? 0 }
            }
        }
    }

    @Test("the byte bound holds while a table of large payloads drains, every row delivered in order")
    func byteBoundHoldsDuringADrain() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source()
        try await source.createTables()
        let payloads = (1...60).map { n in
            Array(
                #"{"headers":{"__event_type":"acme.t","__aggregate_root_id":"a","__aggregate_root_version":\#(n)},"#
                    .utf8
            ) + Array(#""payload":{"s":"\#(String(repeating: "x", count: 1_000))"}}"#.utf8)
        }
        let size = payloads[0].count
        try await source.insert(payloads: payloads)
        let counting = ByteCountingSource(source)
        let received = ReceivedMessages()
        let engine = try RelayEngine(
            source: counting,
            transports: [
                SynchronousDispatcher(
                    name: "collector",
                    consumer: MessageConsumerClosure { try await received.receive($0) }
                )
            ],
            routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["collector"])]),
            configuration: .init(
                batchSize: 20,
                maximumBatchesInFlight: 8,
                maximumBytesInFlight: size * 5,
                idlePollInterval: .milliseconds(1) ... .milliseconds(20)
            )
        )
        let summary = try await engine.drain()
        #expect(summary.rowsCompleted == 60)
        #expect(await received.messages.map(\.aggregateRootVersion) == (1...60).map { Int64($0) })
        #expect(counting.peakBytesInFlight <= size * 6, "at most one row beyond the bound")
        #expect(counting.peakBytesInFlight >= size * 5, "the window was used")
        #expect(try database.int("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == 0)
    }

    @Test("rows read but not completed before a crash are relayed by the next run")
    func crashRedelivers() async throws {
        let database = try TemporaryDatabase()
        let crashed = try database.source()
        try await crashed.createTables()
        let payloads = (1...40).map {
            Array(
                #"""
                {"headers":{"__event_type":"t","__aggregate_root_id":"a",\#
                "__aggregate_root_version":\#($0)},"payload":{}}
                """#
                .utf8
            )
        }
        try await crashed.insert(payloads: payloads)
        try await crashed.open()
        let inFlight = try await crashed.fetch(limit: 25, after: nil)
        #expect(inFlight.count == 25)
        await crashed.close()  // the process died before complete()

        let received = ReceivedMessages()
        let summary = try await Self.engine(source: try database.source(), received: received).drain()
        #expect(summary.rowsCompleted == 40)
        #expect(await received.messages.map(\.aggregateRootVersion) == (1...40).map { Int64($0) })
    }

    @Test("a permanently failing delivery is dead-lettered with its destination, atomically with the mark")
    func permanentFailure() async throws {
        let database = try TemporaryDatabase()
        let source = try database.source(flavour: .dispatcher)
        try await source.createTables()
        let bad = Array(
            #"""
            {"headers":{"__event_type":"refused","__event_id":"11111111-1111-4111-8111-111111111111",\#
            "__time_of_recording":"2024-03-14 05:04:50.000001+0000"},"payload":{"x":1}}
            """#
            .utf8
        )
        let good = Array(
            #"""
            {"headers":{"__event_type":"fine","__event_id":"22222222-2222-4222-8222-222222222222",\#
            "__time_of_recording":"2024-03-14 05:04:50.000002+0000"},"payload":{}}
            """#
            .utf8
        )
        try await source.insert(payloads: [bad, good])
        let received = ReceivedMessages()
        let summary = try await Self.engine(source: source, received: received, permanentlyFailing: "refused").drain()
        #expect(summary.rowsCompleted == 2)
        #expect(summary.deadLetters == 1)
        #expect(await received.messages.map(\.eventType) == ["fine"])
        #expect(
            try database.int(
                "SELECT count(*) FROM messages_outbox WHERE dispatched = 1 AND time_of_dispatching IS NOT NULL"
            ) == 2
        )
        let letter = try database.connection.query(
            "SELECT row_id, event_id, event_type, destination, payload, last_error FROM outbox_relay_dead_letters"
        ) {
            [
                $0.text(at: 0), $0.text(at: 1), $0.text(at: 2), $0.text(at: 3),
                String(decoding: $0.bytes(at: 4), as: UTF8.self), $0.text(at: 5),
            ]
        }
        try #require(letter.count == 1)
        #expect(
            letter[0][0...3] == [
                "11111111-1111-4111-8111-111111111111", "11111111-1111-4111-8111-111111111111", "refused", "collector",
            ]
        )
        #expect(letter[0][4] == String(decoding: bad, as: UTF8.self))
        #expect(letter[0][5]?.contains("consumer refuses refused") == true)
    }
}
