import Foundation
import OutboxRelay
import Testing

/// Where the tests run and what they may need.
enum TestEnvironment {
    /// `CI=true`: a missing service or fixture fails the test instead of skipping it.
    static let isCI: Bool = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The repository root, from this file's path (`<root>/Tests/OutboxHTTPTests/Support/…`).
    static let repositoryRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// `<root>/../shared/fixtures/eventsauce`, read in place.
    static let fixtures = repositoryRoot + "/../shared/fixtures/eventsauce"
    static let fixturesPresent = FileManager.default.fileExists(atPath: fixtures + "/README.md")

    /// Whether server tests run: python3 is there, or CI requires it.
    static let serverTestsEnabled = WebhookTestServer.toolsAvailable || isCI
    static let serverSkipMessage: Comment =
        "python3 not found at /usr/bin/python3: webhook server tests skipped (CI=true makes this a failure)"

    static let tlsTestsEnabled = (WebhookTestServer.toolsAvailable && TestCertificates.toolAvailable) || isCI
    static let tlsSkipMessage: Comment = "python3 or openssl missing: TLS test skipped (CI=true makes this a failure)"

    static let fixtureTestsEnabled = (WebhookTestServer.toolsAvailable && fixturesPresent) || isCI
    static let fixtureSkipMessage: Comment =
        """
        EventSauce fixtures not found at ../shared/fixtures/eventsauce or python3 missing: skipped \
        (CI=true makes this a failure)
        """

    /// `OUTBOX_TEST_POSTGRES_URL`, the database the end-to-end test uses.
    static let postgresURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_POSTGRES_URL"]
    static let postgresTestsEnabled =
        (postgresURL != nil && WebhookTestServer.toolsAvailable && fixturesPresent) || isCI
    static let postgresSkipMessage: Comment =
        """
        OUTBOX_TEST_POSTGRES_URL not set (or python3/fixtures missing): PostgreSQL → webhook test skipped \
        (CI=true makes this a failure)
        """
}

/// Messages for tests.
enum TestMessages {
    /// A message of aggregate `aggregate` at `version`, with a small payload.
    static func make(
        row: Int64,
        aggregate: String = "agg-1",
        version: Int64 = 1,
        eventID: String? = nil,
        payload: String = #"{"n":1}"#
    ) throws -> OutboxMessage {
        let headers: JSONObject = [
            "__event_type": .string("acme.shop.orders.order_was_placed"),
            "__event_id": .string(
                eventID ?? "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - String(row).count))\(row)"
            ),
            "__aggregate_root_id": .string(aggregate),
            "__aggregate_root_type": .string("acme.shop.orders.order"),
            "__aggregate_root_version": .number(String(version)),
            "__time_of_recording": .string("2024-03-14 05:04:50.163498+0000"),
        ]
        return try OutboxMessage(rowID: .integer(row), headers: headers, payload: try JSONParser.parse(payload))
    }

    /// The outbox-flavour PostgreSQL fixture rows, as PHP stored them.
    static func fixtureRows() throws -> [OutboxRow] {
        let text = try String(contentsOfFile: TestEnvironment.fixtures + "/outbox/pgsql/rows.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONParser.parse(String(line)).objectValue,
                let id = object["id"]?.int64Value,
                let payload = object["payload"]?.stringValue
            else {
                throw TestServerError(description: "unexpected rows.jsonl line")
            }
            return OutboxRow(id: .integer(id), payload: Array(payload.utf8))
        }
    }
}
