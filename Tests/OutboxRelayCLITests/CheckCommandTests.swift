import Foundation
import Testing

/// Config mistakes fail `check` and `run` with a message that names the key.
@Suite("outbox-relay check")
struct CheckCommandTests {
    static func write(_ yaml: String) throws -> (config: URL, database: URL) {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        try SQLiteShell.run(
            database,
            "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                + "consumed BOOLEAN NOT NULL DEFAULT 0, payload VARCHAR(16001) NOT NULL);"
        )
        let config = folder.appendingPathComponent("relay.yaml")
        try yaml.replacingOccurrences(of: "DATABASE", with: database.path).write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        return (config, database)
    }

    static let valid = """
        source:
          url: "sqlite:DATABASE"
          flavour: outbox
        transports:
          out:
            type: file
            path: /dev/null
        routes:
          - events: "acme.shop.orders.*"
            to: [out]
        """

    @Test func aValidConfigPasses() async throws {
        let files = try Self.write(Self.valid)
        let result = try await CLI.run(["check", "--config", files.config.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("source: ok"))
        #expect(result.stdout.contains("transport out: ok"))
    }

    @Test(arguments: [
        // (mistake, the key path the message must name, a word of the explanation)
        (Self.valid.replacingOccurrences(of: "to: [out]", with: "to: [kafka]"), "routes[0].to", "kafka"),
        (
            Self.valid.replacingOccurrences(of: "\"acme.shop.orders.*\"", with: "\"acme.[orders\""), "routes[0].events",
            "never closed"
        ),
        (
            Self.valid.replacingOccurrences(of: "flavour: outbox", with: "flavour: outbox\n  batch_size: lots"),
            "source.batch_size", "whole number"
        ),
        (
            Self.valid.replacingOccurrences(of: "flavour: outbox", with: "flavour: outbox\n  batchsize: 10"),
            "source.batchsize", "batch_size"
        ),
        (
            Self.valid.replacingOccurrences(of: "type: file", with: "type: fiel"), "transports.out.type",
            "unknown transport type"
        ),
        (
            Self.valid.replacingOccurrences(of: "flavour: outbox", with: "flavour: outboxes"), "source.flavour",
            "dispatcher"
        ),
        (
            Self.valid.replacingOccurrences(of: "path: /dev/null", with: "path: /dev/null\n    colour: red"),
            "transports.out.colour", "unknown key"
        ),
        (Self.valid + "\nunrouted: drop\n", "unrouted", "dead-letter"),
        (
            Self.valid.replacingOccurrences(
                of: "flavour: outbox",
                with: "flavour: outbox\n  table: \"outbox; DROP TABLE x\""
            ), "source.table", "letters"
        ),
        (
            Self.valid.replacingOccurrences(of: "path: /dev/null", with: "path: env:OUTBOX_RELAY_TEST_UNSET_VARIABLE"),
            "transports.out.path", "OUTBOX_RELAY_TEST_UNSET_VARIABLE"
        ),
    ])
    func mistakesNameTheKey(yaml: String, keyPath: String, explanation: String) async throws {
        let files = try Self.write(yaml)
        for command in ["check", "run"] {
            let result = try await CLI.run(
                [command, "--config", files.config.path, "--drain"].filter { command == "run" || $0 != "--drain" }
            )
            #expect(result.status != 0, "\(command) accepted a broken config")
            #expect(
                result.output.contains("\"\(keyPath)\""),
                "\(command) output does not name \(keyPath): \(result.output)"
            )
            #expect(result.output.contains(explanation), "\(command) output does not explain: \(result.output)")
        }
    }

    /// Numbers that would overflow or trap when converted (issue 11): (config, key path, explanation).
    static let hostileNumbers: [(String, String, String)] = [
        (Self.valid + "\nrelay:\n  shutdown_grace_period: inf\n", "relay.shutdown_grace_period", "too long"),
        (Self.valid + "\nrelay:\n  shutdown_grace_period: 1e20s\n", "relay.shutdown_grace_period", "too long"),
        (Self.valid + "\nrelay:\n  poll_interval_max: 1e300d\n", "relay.poll_interval_max", "too long"),
        (Self.valid + "\nrelay:\n  poll_interval_max: nan\n", "relay.poll_interval_max", "expected a duration"),
        (
            Self.valid.replacingOccurrences(
                of: "path: /dev/null",
                with: "path: /dev/null\n    retry: {max_delay: 99999999999999999999d}"
            ), "transports.out.retry.max_delay", "too long"
        ),
        (
            Self.valid.replacingOccurrences(
                of: "flavour: outbox",
                with: "flavour: outbox\n  batch_size: 99999999999999999999999"
            ), "source.batch_size", "whole number"
        ),
    ]

    @Test(arguments: Self.hostileNumbers)
    func hostileNumbersNameTheKey(yaml: String, keyPath: String, explanation: String) async throws {
        try await mistakesNameTheKey(yaml: yaml, keyPath: keyPath, explanation: explanation)
    }

    @Test func aMissingTableIsNamed() async throws {
        let files = try Self.write(
            Self.valid.replacingOccurrences(of: "flavour: outbox", with: "flavour: outbox\n  table: no_such_table")
        )
        let result = try await CLI.run(["check", "--config", files.config.path])
        #expect(result.status != 0)
        #expect(result.stdout.contains("source: FAILED"))
        #expect(result.stdout.contains("no_such_table"), "\(result.output)")
    }
}
