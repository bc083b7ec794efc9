import OutboxRelay
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The golden EventSauce fixtures written by real PHP, read in place from
/// `../shared/fixtures/eventsauce/` next to the repository (never copied into it).
///
/// Tests that need them are enabled with ``isTestable``: when the folder is absent they are
/// skipped with a message, except under `CI=true`, where they run and fail.
enum EventSauceFixtures {
    /// The repository root, found from this file's path (`<root>/Tests/OutboxRelayTests/…`).
    static let repositoryRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// `<root>/../shared/fixtures/eventsauce`.
    static let directory = repositoryRoot + "/../shared/fixtures/eventsauce"

    /// Whether `CI=true` is set: then a missing fixture folder is a failure, not a skip.
    static let isCI: Bool = getenv("CI").map { String(cString: $0) == "true" } ?? false

    /// Whether the fixture folder exists.
    static let isPresent: Bool = fileExists(directory + "/README.md")

    /// Whether fixture tests should run (present, or required because of CI).
    static let isTestable: Bool = isPresent || isCI

    /// The message shown when fixture tests are skipped.
    static let skipMessage: Comment =
        """
        EventSauce fixtures not found at ../shared/fixtures/eventsauce (relative to the repository); skipped \
        (set CI=true to make this a failure)
        """

    /// The fixture directories that exist by design (`original/sqlite` does not: the original
    /// package has no SQLite schema).
    static let tables: [(flavour: OutboxFlavour, folder: String, database: String)] = [
        (.outbox, "outbox", "pgsql"), (.outbox, "outbox", "mysql"), (.outbox, "outbox", "sqlite"),
        (.dispatcher, "original", "pgsql"), (.dispatcher, "original", "mysql"),
    ]

    /// Records an issue when the fixture folder is missing (only reached under `CI=true`).
    static func requirePresent(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(
            isPresent,
            "CI=true but the EventSauce fixtures are missing at \(directory)",
            sourceLocation: sourceLocation
        )
    }

    static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Reads a whole file.
    static func read(_ relativePath: String) throws -> [UInt8] {
        let path = directory + "/" + relativePath
        guard let file = fopen(path, "rb") else { throw FixtureError(description: "cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// One `rows.jsonl` line: the columns as PDO returned them.
    struct Row {
        var row: OutboxRow
        /// The `payload` column as text.
        var payloadText: String
    }

    /// Reads `<folder>/<database>/rows.jsonl`.
    static func rows(_ folder: String, _ database: String) throws -> [Row] {
        let bytes = try read("\(folder)/\(database)/rows.jsonl")
        var rows: [Row] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try JSONParser.parse(line).objectValue,
                let payload = object["payload"]?.stringValue,
                let idValue = object["id"]
            else {
                throw FixtureError(description: "unexpected rows.jsonl line in \(folder)/\(database)")
            }
            let id: OutboxRowID
            switch idValue {
            case .number(let text):
                guard let integer = Int64(text) else { throw FixtureError(description: "bad id \(text)") }
                id = .integer(integer)
            case .string(let text):
                id = .text(text)
            default:
                throw FixtureError(description: "bad id \(idValue)")
            }
            rows.append(
                Row(
                    row: OutboxRow(
                        id: id,
                        payload: Array(payload.utf8),
                        timeOfRecording: object["time_of_recording"]?.stringValue
                    ),
                    payloadText: payload
                )
            )
        }
        return rows
    }

    /// Reads a `decoded*.json` file: one entry per row.
    static func decoded(_ folder: String, _ database: String, file: String = "decoded.json") throws -> [JSONObject] {
        guard case .array(let entries) = try JSONParser.parse(try read("\(folder)/\(database)/\(file)")) else {
            throw FixtureError(description: "\(file) is not an array")
        }
        return try entries.map { entry in
            guard let object = entry.objectValue else {
                throw FixtureError(description: "\(file) entry is not an object")
            }
            return object
        }
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }
}
