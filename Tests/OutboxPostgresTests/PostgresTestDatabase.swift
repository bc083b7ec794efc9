import Foundation
import Testing

@testable import OutboxPostgres

/// The test server from `OUTBOX_TEST_POSTGRES_URL` (started by `.ci/with-postgres.sh`).
///
/// Tests are enabled with ``isTestable``: without the variable they are skipped, except under
/// `CI=true`, where they run and fail on ``requireURL()``.
enum PostgresTestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static let url: String? = environment["OUTBOX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = environment["CI"] == "true"
    static let isTestable = url != nil || isCI
    static let skipMessage: Comment =
        """
        OUTBOX_TEST_POSTGRES_URL is not set; run the tests with .ci/with-postgres.sh \
        (skipped; CI=true makes this a failure)
        """

    /// The server URL, or a recorded failure.
    static func requireURL(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(
            url,
            "CI=true but OUTBOX_TEST_POSTGRES_URL is not set: run the tests through .ci/with-postgres.sh",
            sourceLocation: sourceLocation
        )
    }

    /// The repository root, from this file's path (`<root>/Tests/OutboxPostgresTests/…`).
    static let repositoryRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// `<root>/../shared/fixtures/eventsauce`, read in place.
    static let fixtures = repositoryRoot + "/../shared/fixtures/eventsauce"
    static let fixturesPresent = FileManager.default.fileExists(atPath: fixtures + "/README.md")
    static let fixturesTestable = isTestable && (fixturesPresent || isCI)
    static let fixturesSkipMessage: Comment =
        "needs OUTBOX_TEST_POSTGRES_URL and ../shared/fixtures/eventsauce (skipped; CI=true makes this a failure)"

    static func requireFixtures(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(
            fixturesPresent,
            "the EventSauce fixtures are missing at \(fixtures)",
            sourceLocation: sourceLocation
        )
    }
}

/// A schema of its own for one test, dropped at the end, with an admin connection to it.
final class TestSchema: @unchecked Sendable {
    let url: String
    let name: String
    let admin: PostgresConnection

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        url = try PostgresTestDatabase.requireURL(sourceLocation: sourceLocation)
        name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        admin = try PostgresConnection.connect(PostgresConnectionString(url), applicationName: "outbox-relay tests")
        try admin.execute("CREATE SCHEMA \"\(name)\"")
        try admin.execute("SET search_path TO \"\(name)\"")
    }

    deinit {
        _ = try? admin.execute("DROP SCHEMA \"\(name)\" CASCADE")
    }

    /// `schema.table`.
    func qualified(_ table: String) -> String { "\(name).\(table)" }

    /// Runs SQL on the admin connection (search_path = this schema).
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        parameters.isEmpty ? try admin.execute(sql) : try admin.execute(sql, parameters)
    }

    /// The first column of the first row.
    func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? {
        let result = try execute(sql, parameters)
        return result.rowCount > 0 ? result.string(0, 0) : nil
    }

    /// Creates the PHP table of `flavour` in this schema (optionally with a varchar payload).
    func createOutboxTable(_ flavour: OutboxFlavour, table: String? = nil, varcharPayload: Bool = false) throws {
        let identifier = try SQLIdentifier(qualified(table ?? flavour.defaultTable))
        var ddl = OutboxSchema.outboxTable(flavour: flavour, dialect: .postgres, table: identifier)
        if varcharPayload {
            ddl = ddl.replacingOccurrences(of: "json      not null", with: "varchar(16001) not null")
                .replacingOccurrences(of: "payload JSON NOT NULL", with: "payload VARCHAR(16001) NOT NULL")
        }
        try execute(ddl)
    }

    /// A source on a table of this schema.
    func source(
        _ flavour: OutboxFlavour,
        table: String? = nil,
        afterDelivery: AfterDelivery = .mark,
        configure: (inout PostgresSource.Configuration) -> Void = { _ in }
    ) throws -> PostgresSource {
        var configuration = try PostgresSource.Configuration(
            connection: PostgresConnectionString(url),
            flavour: flavour,
            table: qualified(table ?? flavour.defaultTable),
            afterDelivery: afterDelivery
        )
        configuration.reconnect.maximumTime = .seconds(20)
        configure(&configuration)
        return try PostgresSource(configuration: configuration)
    }

    /// Inserts `count` realistic `outbox` rows (aggregates cycling through `aggregates`, versions increasing).
    func insertOutboxRows(
        _ count: Int,
        table: String = "outbox_messages",
        aggregates: Int = 10,
        startVersion: Int = 1
    ) throws {
        try execute(
            """
            INSERT INTO "\(name)"."\(table)" (consumed, payload)
            SELECT false, json_build_object(
                'headers', json_build_object(
                    '__event_type', 'acme.test.thing_happened',
                    '__event_id', md5(i::text || 'e')::uuid::text,
                    '__aggregate_root_id', md5((i % \(aggregates))::text)::uuid::text,
                    '__aggregate_root_version', \(startVersion - 1) + i / \(aggregates) + 1,
                    '__time_of_recording', '2024-03-14 05:04:50.163498+0000'),
                'payload', json_build_object('n', i, 'text', repeat('x', 100)))
            FROM generate_series(0, \(count - 1)) AS i
            """
        )
    }

    /// Inserts `count` `dispatcher` rows, one microsecond apart from `start`.
    func insertDispatcherRows(
        _ count: Int,
        table: String = "messages_outbox",
        aggregates: Int = 10,
        start: String = "2024-03-14 05:04:50"
    ) throws {
        try execute(
            """
            INSERT INTO "\(name)"."\(table)" (id, payload, dispatched, time_of_recording)
            SELECT md5(i::text || 'e')::uuid, json_build_object(
                'headers', json_build_object(
                    '__event_type', 'acme.test.thing_happened',
                    '__event_id', md5(i::text || 'e')::uuid::text,
                    '__aggregate_root_id', md5((i % \(aggregates))::text)::uuid::text,
                    '__aggregate_root_version', i / \(aggregates) + 1,
                    '__time_of_recording', '2024-03-14 05:04:50.163498+0000'),
                'payload', json_build_object('n', i))::text::json, false,
                '\(start)'::timestamp + i * interval '1 microsecond'
            FROM generate_series(0, \(count - 1)) AS i
            """
        )
    }
}

/// Collects what an in-process consumer received.
actor Received {
    private(set) var messages: [OutboxMessage] = []
    func add(_ message: OutboxMessage) { messages.append(message) }
    var count: Int { messages.count }
}

/// Reads a sequence of batches through a source until it is empty, following the cursor.
func fetchAll(_ source: PostgresSource, limit: Int) async throws -> [OutboxRow] {
    var rows: [OutboxRow] = []
    var cursor: OutboxCursor?
    for _ in 0..<100_000 {
        let batch = try await source.fetch(limit: limit, after: cursor)
        if batch.isEmpty { break }
        rows += batch
        cursor = batch.last!.cursor
    }
    return rows
}
