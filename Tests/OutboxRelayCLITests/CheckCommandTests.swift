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
        (
            Self.valid.replacingOccurrences(
                of: "flavour: outbox",
                with: "flavour: outbox\n  max_payload_bytes: 99999999999GiB"
            ),
            "source.max_payload_bytes", "expected a size in bytes"
        ),
        (
            Self.valid.replacingOccurrences(
                of: "flavour: outbox",
                with: "flavour: outbox\n  max_payload_bytes: 16 parsecs"
            ),
            "source.max_payload_bytes", "expected a size in bytes"
        ),
        (
            Self.valid.replacingOccurrences(of: "flavour: outbox", with: "flavour: outbox\n  max_payload_bytes: 0"),
            "source.max_payload_bytes", "at least 1 byte"
        ),
        (
            Self.valid + "\nrelay:\n  max_bytes_in_flight: 1MiB\n", "relay.max_bytes_in_flight",
            "below source.max_payload_bytes"
        ),
    ]

    @Test(arguments: Self.hostileNumbers)
    func hostileNumbersNameTheKey(yaml: String, keyPath: String, explanation: String) async throws {
        try await mistakesNameTheKey(yaml: yaml, keyPath: keyPath, explanation: explanation)
    }

    /// Secrets planted in every secret-bearing setting; none may appear in any output.
    static let plantedSecrets = [
        "PATHs3cr3t", "QUERYs3cr3t", "HEADERs3cr3t", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "PGs3cr3t", "SSLs3cr3t",
    ]

    @Test("planted secrets (webhook path, query, headers, signing secret, Postgres passwords) never reach output")
    func secretsNeverReachOutput() async throws {
        let webhook = """
            source:
              url: "sqlite:DATABASE"
              flavour: outbox
            transports:
              hook:
                type: http
                url: "http://127.0.0.1:1/services/T0001/B0002/PATHs3cr3t?token=QUERYs3cr3t"
                headers: {authorization: "Bearer HEADERs3cr3t"}
                secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
                allow_private_networks: true
                connect_timeout: 200ms
                retry: {initial_delay: 10ms, max_delay: 10ms, max_attempts: 1}
            routes:
              - events: "*"
                to: [hook]
            """
        let files = try Self.write(webhook)
        try SQLiteShell.run(
            files.database,
            #"INSERT INTO outbox_messages (payload) VALUES ('{"headers":{"__event_type":"a.b"},"payload":{}}');"#
        )
        var outputs: [(String, String)] = []
        for command in [["check"], ["run", "--drain", "--log-level", "debug"], ["status"]] {
            let result = try await CLI.run(command + ["--config", files.config.path])
            outputs.append((command.joined(separator: " "), result.output))
        }
        let letters = try SQLiteShell.run(files.database, "SELECT last_error FROM outbox_relay_dead_letters;")
        #expect(letters.contains("gave up"), "the failed row should be dead-lettered with its reason: \(letters)")
        outputs.append(("dead letters", letters))

        let postgres = """
            source:
              url: "postgres://relay:PGs3cr3t@127.0.0.1:1/shop?sslpassword=SSLs3cr3t&connect_timeout=1"
              flavour: outbox
            transports:
              out:
                type: file
                path: /dev/null
            routes:
              - events: "*"
                to: [out]
            """
        let postgresFiles = try Self.write(postgres)
        for command in [["check"], ["status"], ["run", "--drain", "--log-level", "debug"]] {
            let result = try await CLI.run(command + ["--config", postgresFiles.config.path], timeout: .seconds(60))
            #expect(result.status != 0, "\(command) should fail: nothing listens on port 1")
            outputs.append(("postgres " + command.joined(separator: " "), result.output))
        }
        for (what, output) in outputs {
            for secret in Self.plantedSecrets {
                #expect(!output.contains(secret), "\(what) printed \(secret): \(output)")
            }
        }
    }

    /// Secrets planted in Kafka's secret-bearing properties.
    static let plantedKafkaSecrets = ["SASLs3cr3t", "SSLKEYs3cr3t", "BADVALUEs3cr3t"]

    @Test("planted Kafka secrets (sasl.password, ssl.key.password, a rejected property value) never reach output")
    func kafkaSecretsNeverReachOutput() async throws {
        let kafka = """
            source:
              url: "sqlite:DATABASE"
              flavour: outbox
            transports:
              bus:
                type: kafka
                bootstrap_servers: ["127.0.0.1:1"]
                topic: "acme.{event_type}"
                connect_timeout: 1s
                delivery_timeout: 1s
                flush_timeout: 1s
                retry: {initial_delay: 10ms, max_delay: 10ms, max_attempts: 1}
                properties:
                  security.protocol: SASL_PLAINTEXT
                  sasl.mechanisms: PLAIN
                  sasl.username: relay
                  sasl.password: SASLs3cr3t
                  ssl.key.password: SSLKEYs3cr3t
                  COMPRESSION
            routes:
              - events: "*"
                to: [bus]
            """
        var outputs: [(String, String)] = []
        let files = try Self.write(kafka.replacingOccurrences(of: "COMPRESSION", with: "compression.type: zstd"))
        try SQLiteShell.run(
            files.database,
            #"INSERT INTO outbox_messages (payload) VALUES ('{"headers":{"__event_type":"a.b"},"payload":{}}');"#
        )
        for command in [["check"], ["run", "--drain", "--log-level", "debug"], ["status"]] {
            let result = try await CLI.run(command + ["--config", files.config.path], timeout: .seconds(60))
            outputs.append((command.joined(separator: " "), result.output))
        }
        #expect(outputs[0].1.contains("127.0.0.1:1"), "check names the unreachable broker: \(outputs[0].1)")
        outputs.append(
            ("dead letters", try SQLiteShell.run(files.database, "SELECT last_error FROM outbox_relay_dead_letters;"))
        )

        // librdkafka rejects the value: its error text must not quote it.
        let rejected = try Self.write(
            kafka.replacingOccurrences(of: "COMPRESSION", with: "compression.type: BADVALUEs3cr3t")
        )
        for command in [["check"], ["run", "--drain", "--log-level", "debug"]] {
            let result = try await CLI.run(command + ["--config", rejected.config.path], timeout: .seconds(60))
            #expect(result.status != 0, "\(command) should refuse the compression.type value")
            #expect(result.output.contains("compression.type"), "the error names the property: \(result.output)")
            outputs.append(("rejected " + command.joined(separator: " "), result.output))
        }
        for (what, output) in outputs {
            for secret in Self.plantedKafkaSecrets {
                #expect(!output.contains(secret), "\(what) printed \(secret): \(output)")
            }
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
