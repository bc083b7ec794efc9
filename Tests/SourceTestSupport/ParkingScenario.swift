import OutboxRelay
import Testing

/// The parking scenario every ``ParkedDeliveryStore`` source runs against its real database.
public enum ParkingScenario {
    /// The engine configuration of the scenario: unlimited retries, parked after one attempt in
    /// the window, short delays and polls.
    public static let configuration = RelayEngine.Configuration(
        retry: RetryPolicy(
            initialDelay: .milliseconds(10),
            maximumDelay: .milliseconds(50),
            jitter: 0,
            maximumAttempts: nil,
            parkAfter: .attempts(1)
        ),
        idlePollInterval: .milliseconds(5) ... .milliseconds(50),
        parking: .init(pollInterval: .milliseconds(20))
    )

    /// Relays the `rows` undelivered rows of `source` (versions ascending per aggregate) to a
    /// healthy `file` destination and a dead `webhook`: the file gets every row and every row is
    /// completed while the webhook is down, each of its messages parked and none dead-lettered;
    /// once the webhook is up it gets every parked message, each aggregate's in order, and the
    /// parked table empties.
    /// - Parameters:
    ///   - undeliveredRows: counts the outbox rows not marked (or not deleted) yet.
    ///   - parkedEntries: counts the rows of the parked-deliveries table.
    ///   - deadLetters: counts the rows of the dead-letter table.
    public static func deadDestinationDoesNotStallTheOthers(
        source: some ParkedDeliveryStore,
        rows: Int,
        undeliveredRows: () throws -> Int,
        parkedEntries: () throws -> Int,
        deadLetters: () throws -> Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let file = SwitchableDestination(name: "file", up: true)
        let webhook = SwitchableDestination(name: "webhook")
        let engine = try RelayEngine(
            source: source,
            transports: [file, webhook],
            routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["file", "webhook"])]),
            configuration: configuration
        )
        let run = Task { try await engine.run() }
        defer { run.cancel() }
        try await eventually("the file has every row and every row is completed", sourceLocation: sourceLocation) {
            try file.received.count >= rows && undeliveredRows() == 0
        }
        expectInOrderOnce(file.received, count: rows, sourceLocation: sourceLocation)
        #expect(try parkedEntries() == rows, "every webhook message parked", sourceLocation: sourceLocation)
        #expect(try deadLetters() == 0, sourceLocation: sourceLocation)
        #expect(webhook.received.isEmpty, sourceLocation: sourceLocation)

        webhook.setUp(true)
        try await eventually("the webhook has every parked message", sourceLocation: sourceLocation) {
            webhook.received.count >= rows
        }
        expectInOrderOnce(webhook.received, count: rows, sourceLocation: sourceLocation)
        try await eventually("the parked table is empty", sourceLocation: sourceLocation) { try parkedEntries() == 0 }
        #expect(try deadLetters() == 0, sourceLocation: sourceLocation)
        run.cancel()
        _ = await run.result
    }
}
