import Foundation
import OutboxRelay
import Testing

/// Paths, switches and message builders shared by the Kafka tests.
enum KafkaTestSupport {
    static let environment = ProcessInfo.processInfo.environment
    /// `CI=true`: a missing service or fixture fails the test instead of skipping it.
    static let isCI = environment["CI"] == "true"

    /// The repository root, from this file's path (`<root>/Tests/OutboxKafkaTests/Support/…`).
    static let repositoryRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// `<root>/../shared/fixtures/eventsauce`, read in place (never copied into the repository).
    static let fixtures = repositoryRoot + "/../shared/fixtures/eventsauce"
    static let fixturesPresent = FileManager.default.fileExists(atPath: fixtures + "/README.md")
    static let fixturesTestable = fixturesPresent || isCI
    static let fixturesSkipMessage: Comment =
        """
        EventSauce fixtures not found at ../shared/fixtures/eventsauce (relative to the repository): skipped \
        (CI=true makes this a failure)
        """

    static let postgresURL: String? = environment["OUTBOX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let postgresTestable = postgresURL != nil || isCI
    static let postgresSkipMessage: Comment =
        """
        OUTBOX_TEST_POSTGRES_URL is not set; run the tests through .ci/with-postgres.sh \
        (skipped; CI=true makes this a failure)
        """

    static func requirePostgresURL(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(
            postgresURL,
            "CI=true but OUTBOX_TEST_POSTGRES_URL is not set: run the tests through .ci/with-postgres.sh",
            sourceLocation: sourceLocation
        )
    }

    /// The `payload` column of `outbox/pgsql/rows.jsonl` (real PHP rows), first `limit` rows.
    static func fixtureRows(limit: Int = .max, sourceLocation: SourceLocation = #_sourceLocation) throws -> [OutboxRow]
    {
        try #require(
            fixturesPresent,
            "CI=true but the EventSauce fixtures are missing at \(fixtures)",
            sourceLocation: sourceLocation
        )
        let text = try String(contentsOfFile: fixtures + "/outbox/pgsql/rows.jsonl", encoding: .utf8)
        var rows: [OutboxRow] = []
        for line in text.split(separator: "\n") where rows.count < limit {
            let object = try #require(try JSONParser.parse(Array(line.utf8)).objectValue)
            let id = try #require(object["id"]?.int64Value)
            let payload = try #require(object["payload"]?.stringValue)
            rows.append(OutboxRow(id: .integer(id), payload: Array(payload.utf8)))
        }
        return rows
    }

    /// Fixture rows decoded as the engine would (rows that do not decode are left out).
    static func fixtureMessages(
        limit: Int = .max,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [OutboxMessage] {
        let decoder = EnvelopeDecoder(table: "outbox_messages")
        return try fixtureRows(limit: limit, sourceLocation: sourceLocation).compactMap { try? decoder.decode($0) }
    }

    /// A synthetic message of aggregate `aggregate` at `version`, with a payload of about `size` bytes.
    static func message(
        row: Int64,
        aggregate: Int,
        version: Int,
        size: Int = 200,
        eventType: String = "acme.shop.orders.order_line_added"
    ) throws -> OutboxMessage {
        let headers: JSONObject = [
            EventSauceHeader.eventType: .string(eventType),
            EventSauceHeader.eventID: .string(UUID().uuidString.lowercased()),
            EventSauceHeader.aggregateRootID: .string("order-\(aggregate)"),
            EventSauceHeader.aggregateRootType: .string("acme.shop.orders.order"),
            EventSauceHeader.aggregateRootVersion: .number(String(version)),
            EventSauceHeader.timeOfRecording: .string("2024-03-14 05:04:50.163498+0000"),
        ]
        let payload: JSONValue = .object([
            "line": .number(String(version)), "text": .string(String(repeating: "x", count: size)),
        ])
        return try OutboxMessage(rowID: .integer(row), headers: headers, payload: payload)
    }

    /// `count` messages spread round-robin over `aggregates` aggregates, versions increasing.
    static func messages(count: Int, aggregates: Int, size: Int = 200, firstRow: Int64 = 1) throws -> [OutboxMessage] {
        var versions = [Int](repeating: 0, count: aggregates)
        return try (0..<count).map { index in
            let aggregate = index % aggregates
            versions[aggregate] += 1
            return try message(
                row: firstRow + Int64(index),
                aggregate: aggregate,
                version: versions[aggregate],
                size: size
            )
        }
    }

    /// A unique topic name for one test.
    static func topicName(_ prefix: String) -> String {
        prefix + "-" + UUID().uuidString.prefix(8).lowercased()
    }
}
