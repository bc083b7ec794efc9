import Foundation
import OutboxRelay
import Testing

@testable import OutboxSQLite

/// The golden EventSauce fixtures, read in place from `../shared/fixtures/eventsauce/` next to
/// the repository (never copied into it). Absent: tests skip with a message, except under
/// `CI=true`, where they run and fail.
enum SQLiteFixtures {
    /// `<root>` from `<root>/Tests/OutboxSQLiteTests/<this file>`.
    static let repositoryRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// `<root>/../shared/fixtures/eventsauce`.
    static let directory = repositoryRoot + "/../shared/fixtures/eventsauce"

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let isPresent = FileManager.default.fileExists(atPath: directory + "/README.md")
    /// Whether fixture tests run: present, or required because of `CI=true`.
    static let isTestable = isPresent || isCI
    static let skipMessage: Comment =
        """
        EventSauce fixtures not found at ../shared/fixtures/eventsauce (relative to the repository); skipped \
        (set CI=true to make this a failure)
        """

    /// Fails the test when the fixtures are missing (only reached under `CI=true`).
    static func requirePresent(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(
            isPresent,
            "CI=true but the EventSauce fixtures are missing at \(directory)",
            sourceLocation: sourceLocation
        )
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = directory + "/" + relativePath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TestFailure("cannot read \(path)")
        }
        return [UInt8](data)
    }

    static func text(_ relativePath: String) throws -> String {
        String(decoding: try bytes(relativePath), as: UTF8.self)
    }

    /// The objects of a `.jsonl` file.
    static func jsonLines(_ relativePath: String) throws -> [JSONObject] {
        try bytes(relativePath).split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.map { line in
            guard let object = try JSONParser.parse(line).objectValue else {
                throw TestFailure("\(relativePath): a line is not an object")
            }
            return object
        }
    }

    /// The entries of a `decoded.json` file.
    static func decoded(_ relativePath: String) throws -> [JSONObject] {
        guard case .array(let entries) = try JSONParser.parse(try bytes(relativePath)) else {
            throw TestFailure("\(relativePath) is not an array")
        }
        return entries.compactMap(\.objectValue)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A database file in a fresh temporary directory, removed when the value is released, with a
/// second connection to set up and inspect what the source did.
final class TemporaryDatabase {
    let directory: String
    let path: String
    let connection: SQLiteConnection

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/outbox-sqlite-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        directory = String(cString: created)
        path = directory + "/outbox.db"
        connection = try SQLiteConnection(path: path, create: true, busyTimeout: .seconds(5))
    }

    deinit {
        connection.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func execute(_ sql: String) throws {
        try connection.execute(sql)
    }

    /// Loads `outbox/sqlite/schema.sql` and `rows.sql` in place.
    func loadOutboxFixture() throws {
        try execute(SQLiteFixtures.text("outbox/sqlite/schema.sql"))
        try execute(SQLiteFixtures.text("outbox/sqlite/rows.sql"))
    }

    func int(_ sql: String) throws -> Int64 {
        try connection.query(sql) { $0.int64(at: 0) }.first ?? -1
    }

    func texts(_ sql: String) throws -> [String?] {
        try connection.query(sql) { $0.text(at: 0) }
    }

    func column(_ sql: String) throws -> [[UInt8]] {
        try connection.query(sql) { $0.bytes(at: 0) }
    }

    /// A source on this file, not yet opened.
    func source(
        flavour: OutboxFlavour = .outbox,
        table: String? = nil,
        afterDelivery: AfterDelivery = .mark,
        configure: (inout SQLiteSource.Configuration) throws -> Void = { _ in }
    ) throws -> SQLiteSource {
        var configuration = SQLiteSource.Configuration(
            path: path,
            flavour: flavour,
            table: try table.map { try SQLIdentifier($0) }
        )
        configuration.afterDelivery = afterDelivery
        try configure(&configuration)
        return SQLiteSource(configuration: configuration)
    }
}

extension JSONObject {
    /// The object without `key`.
    func removing(_ key: String) -> JSONObject {
        JSONObject(members.filter { $0.key != key })
    }
}

/// Reads every undelivered row in pages of `pageSize`, following the cursor.
func fetchAll(_ source: SQLiteSource, pageSize: Int) async throws -> [OutboxRow] {
    var rows: [OutboxRow] = []
    var cursor: OutboxCursor?
    for _ in 0..<10_000 {
        let page = try await source.fetch(limit: pageSize, after: cursor)
        #expect(page.count <= pageSize)
        rows += page
        guard let last = page.last else { return rows }
        cursor = last.cursor
    }
    throw TestFailure("fetchAll did not finish")
}
