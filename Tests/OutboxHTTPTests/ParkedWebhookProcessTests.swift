import Foundation
import OutboxRelay
import Testing

@testable import OutboxPostgres

/// Issue 17's scenario with the built `outbox-relay` binary, a real PostgreSQL outbox, a real
/// file destination and a real webhook: the webhook's port refuses connections (unlimited
/// retries, the default `park_after`), so its messages are parked while the file gets every
/// row; relays are SIGKILLed while messages are parked and while they drain; the webhook comes
/// up on the same port and receives every event, each aggregate's versions in order.
@Suite(
    "Parked webhook deliveries with outbox-relay processes",
    .serialized,
    .enabled(
        if: TestEnvironment.postgresTestsEnabled && TestEnvironment.serverTestsEnabled,
        TestEnvironment.postgresSkipMessage
    )
)
struct ParkedWebhookProcessTests {
    static let rows = 20_000
    static let aggregates = 200

    /// One `outbox-relay run` process.
    final class Relay {
        let process = Process()
        let logPath: String

        init(binary: String, config: String, logPath: String) throws {
            self.logPath = logPath
            FileManager.default.createFile(atPath: logPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["run", "--config", config]
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            log.seekToEndOfFile()
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        deinit { kill9() }

        /// SIGKILL, by the PID of the process this object started.
        func kill9() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<500 where process.isRunning { usleep(10_000) }
        }

        var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    }

    static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["OUTBOX_RELAY_BINARY"] { return path }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            products.appendingPathComponent("outbox-relay").path,
            products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("outbox-relay").path,
        ]
        return try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
            "the outbox-relay binary is not next to the test bundle; build it with swift build"
        )
    }

    static func waitUntil(
        _ what: String,
        timeout: Duration,
        relay: Relay?,
        _ condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out after \(timeout) waiting until \(what); relay log: \(relay?.log.suffix(3000) ?? "")")
        throw CancellationError()
    }

    /// (aggregate, version) of a delivered envelope (a file line's or a webhook body's).
    static func aggregateAndVersion(_ json: String) -> (String, Int)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return nil
        }
        let headers = (object["headers"] as? [String: Any]) ?? object
        guard let aggregate = headers["__aggregate_root_id"] as? String ?? headers["aggregate_root_id"] as? String,
            let version = headers["__aggregate_root_version"] as? Int ?? headers["aggregate_root_version"] as? Int
        else { return nil }
        return (aggregate, version)
    }

    /// Each (aggregate, version) arrived at least once, and per aggregate the first arrivals are
    /// in version order (a resend after a SIGKILL may repeat what came before: at least once).
    static func expectEveryVersionInOrder(_ arrivals: [(String, Int)], what: String) {
        var firstSeen: [String: Set<Int>] = [:]
        var highest: [String: Int] = [:]
        var outOfOrder = 0
        for (aggregate, version) in arrivals where firstSeen[aggregate, default: []].insert(version).inserted {
            if version < highest[aggregate, default: 0] { outOfOrder += 1 }
            highest[aggregate] = max(highest[aggregate, default: 0], version)
        }
        #expect(outOfOrder == 0, "\(what): \(outOfOrder) versions arrived before an earlier one")
        #expect(firstSeen.values.reduce(0) { $0 + $1.count } == rows, "\(what): every event arrived")
        #expect(firstSeen.count == aggregates)
        #expect(firstSeen.values.allSatisfy { $0.count == rows / aggregates && $0.max() == rows / aggregates })
    }

    @Test("a dead webhook does not stall the file destination; after SIGKILLs it receives every event in order")
    func deadWebhookDoesNotStallTheFile() async throws {
        let url = try #require(TestEnvironment.postgresURL, "CI=true but OUTBOX_TEST_POSTGRES_URL is not set")
        let binary = try Self.binary()
        let schema = "t_park_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let admin = try PostgresConnection.connect(PostgresConnectionString(url), applicationName: "parking tests")
        try admin.execute("CREATE SCHEMA \"\(schema)\"")
        defer { _ = try? admin.execute("DROP SCHEMA \"\(schema)\" CASCADE") }
        let table = try SQLIdentifier("\(schema).outbox_messages")
        try admin.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres, table: table))
        try admin.execute(
            """
            INSERT INTO \(table.quoted(for: .postgres)) (consumed, payload)
            SELECT false, json_build_object(
                'headers', json_build_object(
                    '__event_type', 'acme.test.thing_happened',
                    '__event_id', md5(i::text)::uuid::text,
                    '__aggregate_root_id', 'agg-' || (i % \(Self.aggregates)),
                    '__aggregate_root_version', i / \(Self.aggregates) + 1,
                    '__time_of_recording', '2024-03-14 05:04:50.163498+0000'),
                'payload', json_build_object('n', i))
            FROM generate_series(0, \(Self.rows - 1)) AS i
            """
        )
        func count(_ sql: String) throws -> Int { Int(try admin.execute(sql).string(0, 0) ?? "-1") ?? -1 }
        let unmarked = "SELECT count(*) FROM \(table.quoted(for: .postgres)) WHERE NOT consumed"
        let parked = "SELECT count(*) FROM \"\(schema)\".\(ParkedDelivery.defaultTable)"

        // A port that refuses connections: a server's, stopped.
        let probe = try await WebhookTestServer()
        let port = probe.port
        probe.stop()

        let directory = NSTemporaryDirectory() + "outbox-relay-parking-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let filePath = directory + "/file.jsonl"
        let config = directory + "/relay.yaml"
        try """
        source:
          url: "\(url)"
          flavour: outbox
          table: \(schema).outbox_messages
        transports:
          file:
            type: file
            path: "\(filePath)"
          hook:
            type: http
            url: "http://127.0.0.1:\(port)/ok"
            allow_private_networks: true
            connect_timeout: 1s
            retry: {initial_delay: 100ms, max_delay: 500ms, max_attempts: unlimited}
        routes:
          - events: "*"
            to: [file, hook]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = directory + "/relay.log"

        // 1. The webhook is down: the file gets every row within seconds, every row is marked.
        let started = ContinuousClock.now
        var relay = try Relay(binary: binary, config: config, logPath: log)
        try await Self.waitUntil("every row is marked and parked", timeout: .seconds(120), relay: relay) {
            try count(unmarked) == 0 && count(parked) == Self.rows
        }
        let fileDone = ContinuousClock.now - started
        let fileLines = try String(contentsOfFile: filePath, encoding: .utf8).split(separator: "\n")
        #expect(fileLines.count == Self.rows, "the file destination got every row once")
        Self.expectEveryVersionInOrder(fileLines.compactMap { Self.aggregateAndVersion(String($0)) }, what: "file")
        print("parking: 20,000 rows to the file destination with a dead webhook in \(fileDone)")
        #expect(fileDone < .seconds(60), "the dead webhook held the file destination up for \(fileDone)")

        // 2. SIGKILL while everything is parked; the webhook comes up; a new relay drains.
        relay.kill9()
        let server = try await WebhookTestServer(port: port)
        defer { server.stop() }
        relay = try Relay(binary: binary, config: config, logPath: log)
        try await Self.waitUntil("some parked messages are delivered", timeout: .seconds(120), relay: relay) {
            let left = try count(parked)
            return left < Self.rows * 3 / 4 && left > 0
        }
        // 3. SIGKILL while draining; the next relay finishes.
        relay.kill9()
        relay = try Relay(binary: binary, config: config, logPath: log)
        try await Self.waitUntil("the parked table is empty", timeout: .seconds(240), relay: relay) {
            try count(parked) == 0
        }
        relay.kill9()

        let accepted = server.requests().filter { $0.status == 200 }
        Self.expectEveryVersionInOrder(accepted.compactMap { Self.aggregateAndVersion($0.body) }, what: "webhook")
        #expect(try count("SELECT count(*) FROM \"\(schema)\".outbox_relay_dead_letters") == 0)
        #expect(try count(unmarked) == 0)
        #expect(
            try String(contentsOfFile: filePath, encoding: .utf8).split(separator: "\n").count == Self.rows,
            "the file destination got nothing twice"
        )
    }
}
