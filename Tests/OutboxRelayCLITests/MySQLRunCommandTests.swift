import Foundation
import OutboxRelay
import Testing

/// `outbox-relay run --drain` on MariaDB: the real binary, the server `.ci/with-mysql.sh`
/// started, the PHP fixture rows loaded in place, the file transport.
@Suite("outbox-relay run on MySQL")
struct MySQLRunCommandTests {
    static let serverURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_MYSQL_URL"].flatMap {
        $0.isEmpty ? nil : URLComponents(string: $0)
    }
    static let enabled = (serverURL != nil || CLI.isCI) && CLI.fixturesAvailable

    /// Runs SQL with the `mariadb` client (password through `MYSQL_PWD`, never on the command line).
    @discardableResult
    static func sql(_ server: URLComponents, database: String?, _ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "mariadb", "--no-defaults", "--batch", "--skip-column-names", "--protocol=TCP",
                "-h", server.host ?? "127.0.0.1", "-P", String(server.port ?? 3306), "-u", server.user ?? "root",
            ] + (database.map { [$0] } ?? [])
        process.environment = ProcessInfo.processInfo.environment.merging(["MYSQL_PWD": server.password ?? ""]) {
            $1
        }
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLITestFailure("mariadb exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "outbox/mysql fixture rows: each delivered once to the file transport, JSON-equal to PHP's, all marked",
        .enabled(if: enabled, "needs OUTBOX_TEST_MYSQL_URL (.ci/with-mysql.sh) and the fixtures")
    )
    func drainsTheFixtureTable() async throws {
        let server = try #require(Self.serverURL, "CI=true but OUTBOX_TEST_MYSQL_URL is not set")
        let database = "cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try Self.sql(server, database: nil, "CREATE DATABASE `\(database)` CHARACTER SET utf8mb4;")
        defer { _ = try? Self.sql(server, database: nil, "DROP DATABASE `\(database)`;") }
        let fixture = CLI.fixtures.appendingPathComponent("outbox/mysql")
        try Self.sql(
            server,
            database: database,
            String(contentsOf: fixture.appendingPathComponent("schema.sql"), encoding: .utf8)
                + String(contentsOf: fixture.appendingPathComponent("rows.sql"), encoding: .utf8)
        )

        let folder = try CLI.temporaryFolder()
        let output = folder.appendingPathComponent("out.jsonl")
        let configURL = folder.appendingPathComponent("relay.yaml")
        let password = server.password ?? ""
        try """
        source:
          url: "mysql://\(server.user ?? "root")@\(server.host ?? "127.0.0.1"):\(server.port ?? 3306)/\(database)"
          password: env:OUTBOX_TEST_MYSQL_PASSWORD
          flavour: outbox
          batch_size: 37
        transports:
          out:
            type: file
            path: "\(output.path)"
        routes:
          - events: "*"
            to: [out]
        """.write(to: configURL, atomically: true, encoding: .utf8)

        let result = try await CLI.run(
            ["run", "--config", configURL.path, "--drain"],
            environment: ["OUTBOX_TEST_MYSQL_PASSWORD": password]
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(password.isEmpty || !result.output.contains(password), "the password was printed")

        let decoded = try #require(
            try JSONParser.parse(Data(contentsOf: fixture.appendingPathComponent("decoded.json"))).arrayValue
        )
        let lines = try RunCommandTests.readLines(output)
        #expect(lines.count == decoded.count)
        #expect(Set(lines.map(\.rowID)).count == lines.count, "a row was delivered twice")
        let byRow = Dictionary(lines.map { ($0.rowID, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in decoded {
            let row = try #require(entry.objectValue)
            let rowID = try #require(row["row_id"]?.int64Value)
            let expected = try #require(row["messages"]?.arrayValue?.first?.objectValue)
            let line = try #require(byRow[rowID], "row \(rowID) was not delivered")
            var expectedHeaders = try #require(expected["headers"]?.objectValue)
            expectedHeaders["__doctrine_outbox.message_id"] = nil
            let headers = JSONValue.object(line.message["headers"]?.objectValue ?? [:])
            #expect(headers.isSemanticallyEqual(to: .object(expectedHeaders)), "headers of row \(rowID)")
            #expect(
                line.message["payload"]?.isSemanticallyEqual(to: expected["payload"] ?? .null) == true,
                "payload of row \(rowID)"
            )
            #expect(line.eventType == expected["event_type"]?.stringValue)
        }
        #expect(
            try Self.sql(server, database: database, "SELECT count(*) FROM outbox_messages WHERE consumed = 0;") == "0"
        )
    }
}

struct CLITestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
