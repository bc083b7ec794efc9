import Foundation
import Testing

@testable import OutboxMySQL

/// The test server from `OUTBOX_TEST_MYSQL_URL` (started by `.ci/with-mysql.sh`).
///
/// Tests are enabled with ``isTestable``: without the variable they are skipped, except under
/// `CI=true`, where they run and fail on ``requireURL()``.
enum MySQLTestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static let url: String? = environment["OUTBOX_TEST_MYSQL_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = environment["CI"] == "true"
    static let isTestable = url != nil || isCI
    static let skipMessage: Comment =
        """
        OUTBOX_TEST_MYSQL_URL is not set; run the tests with .ci/with-mysql.sh \
        (skipped; CI=true makes this a failure)
        """

    /// The server URL, or a recorded failure.
    static func requireURL(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(
            url,
            "CI=true but OUTBOX_TEST_MYSQL_URL is not set: run the tests through .ci/with-mysql.sh",
            sourceLocation: sourceLocation
        )
    }

    /// The repository root, from this file's path (`<root>/Tests/OutboxMySQLTests/…`).
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
        "needs OUTBOX_TEST_MYSQL_URL and ../shared/fixtures/eventsauce (skipped; CI=true makes this a failure)"

    static func requireFixtures(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(
            fixturesPresent,
            "the EventSauce fixtures are missing at \(fixtures)",
            sourceLocation: sourceLocation
        )
    }
}

/// A database of its own for one test, dropped at the end, with an admin connection to it
/// that accepts several statements per call.
final class TestDatabase: @unchecked Sendable {
    let name: String
    /// `OUTBOX_TEST_MYSQL_URL` with this database as its path.
    let url: String
    let admin: MySQLConnection

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let serverURL = try MySQLTestDatabase.requireURL(sourceLocation: sourceLocation)
        name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        // mysql://user:password@host:port/DATABASE?query → this test's database.
        let parts = serverURL.split(separator: "?", maxSplits: 1)
        let authorityStart = parts[0].range(of: "://")!.upperBound
        let pathStart = parts[0][authorityStart...].firstIndex(of: "/") ?? parts[0].endIndex
        url = parts[0][..<pathStart] + "/" + name + (parts.count == 2 ? "?" + parts[1] : "")
        let server = try MySQLConnection.connect(MySQLConnectionURL(serverURL), multiStatements: true)
        try server.execute("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        admin = try MySQLConnection.connect(MySQLConnectionURL(url), multiStatements: true)
    }

    deinit {
        _ = try? admin.execute("DROP DATABASE `\(name)`")
    }

    /// Runs one or more statements on the admin connection.
    func execute(_ sql: String) throws { try admin.executeScript(sql) }

    /// The first column of the first row.
    func scalar(_ sql: String) throws -> String? { try admin.scalar(sql) }

    /// A new admin-style connection (its own session) to this database.
    func connect() throws -> MySQLConnection { try MySQLConnection.connect(MySQLConnectionURL(url)) }

    /// A source for `flavour` on this database.
    func source(
        _ flavour: OutboxFlavour,
        table: String? = nil,
        afterDelivery: AfterDelivery = .mark,
        lock: MySQLSource.Configuration.Lock = .init(standbyPollInterval: .milliseconds(100))
    ) throws -> MySQLSource {
        try MySQLSource(
            configuration: MySQLSource.Configuration(
                connection: MySQLConnectionURL(url),
                flavour: flavour,
                table: table,
                afterDelivery: afterDelivery,
                lock: lock
            )
        )
    }

    /// Creates the PHP table of `flavour` from the fixtures' DDL (`ddl/*.mysql.sql`).
    func createPHPTable(_ flavour: OutboxFlavour) throws {
        let file = flavour == .outbox ? "outbox.mysql.sql" : "original.mysql.sql"
        try execute(String(contentsOfFile: MySQLTestDatabase.fixtures + "/ddl/" + file, encoding: .utf8))
    }
}

/// Reads every undelivered row through `source`, in batches of `limit`.
func fetchAll(_ source: MySQLSource, limit: Int) async throws -> [OutboxRow] {
    var rows: [OutboxRow] = []
    var cursor: OutboxCursor?
    while true {
        let batch = try await source.fetch(limit: limit, after: cursor)
        if batch.isEmpty { return rows }
        rows += batch
        cursor = batch.last!.cursor
    }
}

/// An EventSauce 3 envelope as PHP's serializer writes it (json_encode flags 0).
func outboxPayload(aggregate: String, version: Int, type: String = "acme.test.happened") -> String {
    """
    {"headers":{"__event_type":"\(type)","__time_of_recording":"2024-03-14 05:04:50.163498+0000",\
    "__aggregate_root_id":"\(aggregate)","__aggregate_root_version":\(version),\
    "__aggregate_root_id_type":"acme.test.id"},"payload":{"n":\(version)}}
    """
}
