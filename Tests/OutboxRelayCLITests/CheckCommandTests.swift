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
        for arguments in [["check"], ["check", "--offline"], ["run", "--drain"]] {
            let command = arguments.joined(separator: " ")
            let result = try await CLI.run(arguments + ["--config", files.config.path])
            #expect(result.status != 0, "\(command) accepted a broken config")
            #expect(
                result.output.contains("\"\(keyPath)\""),
                "\(command) output does not name \(keyPath): \(result.output)"
            )
            #expect(result.output.contains(explanation), "\(command) output does not explain: \(result.output)")
        }
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

    /// A config whose database and brokers do not answer (port 1 on loopback: nothing listens).
    static let unreachable = """
        source:
          url: "postgres://relay@127.0.0.1:1/shop?connect_timeout=2"
        transports:
          kafka:
            type: kafka
            bootstrap_servers: ["127.0.0.1:1"]
            topic: orders
          unused:
            type: file
            path: /dev/null
        routes:
          - events: "*"
            to: [kafka]
        """

    @Test func offlineValidatesWithoutConnecting() async throws {
        let files = try Self.write(Self.unreachable)
        let offline = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(offline.status == 0, "\(offline.output)")
        #expect(offline.stdout.contains("config: ok (2 transports, 1 routes)"), "\(offline.output)")
        #expect(offline.stdout.contains("source: not opened (--offline)"), "\(offline.output)")
        #expect(offline.stdout.contains("transport kafka: not started (--offline)"), "\(offline.output)")
        #expect(offline.stdout.contains("transport unused is configured but no route sends to it"))
        // The same file fails a full check: the offline pass did not just skip a failing connection.
        let online = try await CLI.run(["check", "--open-timeout", "5", "--config", files.config.path])
        #expect(online.status != 0, "\(online.output)")
        #expect(online.stdout.contains("source: FAILED") || online.stdout.contains("source: TIMEOUT"))
    }
}
