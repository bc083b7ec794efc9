import Foundation
import Testing

@testable import OutboxPostgres

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Whole `outbox-relay run` processes against PostgreSQL: several relays on one table, a
/// SIGKILLed active relay, and a server restart, each checked through the `file` transport's
/// JSON lines.
@Suite(
    "PostgreSQL relay processes",
    .serialized,
    .enabled(if: PostgresTestDatabase.isTestable, PostgresTestDatabase.skipMessage)
)
struct PostgresRelayProcessTests {
    @Test("three relays on one 20,000-row table deliver every row exactly once, in order per aggregate")
    func threeRelaysDeliverEachRowOnce() async throws {
        let binary = try RelayProcess.requireBinary()
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(20_000, aggregates: 50)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var relays: [RelayProcess] = []
        for index in 0..<3 {
            relays.append(
                try RelayProcess(
                    binary: binary,
                    directory: directory,
                    index: index,
                    url: schema.url,
                    table: schema.qualified("outbox_messages"),
                    drain: true
                )
            )
        }
        for relay in relays { try await relay.waitForExit(timeout: .seconds(240)) }
        for relay in relays {
            #expect(
                relay.exitStatus == 0,
                "relay \(relay.index) exited with \(relay.exitStatus ?? -1): \(relay.log.suffix(2000))"
            )
        }

        let lines = try relays.flatMap { try $0.deliveredLines() }
        #expect(lines.count == 20_000, "delivered \(lines.count) lines for 20,000 rows")
        #expect(Set(lines.map(\.rowID)).count == 20_000)
        // One relay was active at a time: each file holds whole runs, and per aggregate the versions increase.
        for relay in relays { expectIncreasingVersions(try relay.deliveredLines()) }
        #expect(relays.filter { (try? $0.deliveredLines().isEmpty) == false }.count >= 1)
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE NOT consumed") == "0")
    }

    @Test("SIGKILL of the active relay: a standby takes over and nothing is lost")
    func sigkillActiveRelay() async throws {
        let binary = try RelayProcess.requireBinary()
        let schema = try TestSchema()
        try schema.createOutboxTable(.dispatcher)
        try schema.insertDispatcherRows(20_000, aggregates: 50)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var relays: [RelayProcess] = []
        for index in 0..<2 {
            relays.append(
                try RelayProcess(
                    binary: binary,
                    directory: directory,
                    index: index,
                    url: schema.url,
                    table: schema.qualified("messages_outbox"),
                    flavour: "dispatcher",
                    drain: true,
                    batchSize: 200
                )
            )
        }
        // Wait until some rows are delivered, then SIGKILL whichever relay holds the lock.
        var killed: RelayProcess?
        for _ in 0..<600 {
            let done = Int(try schema.scalar("SELECT count(*) FROM messages_outbox WHERE dispatched") ?? "0") ?? 0
            if done >= 2000 {
                let holder = try schema.scalar(
                    """
                    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objid = 'messages_outbox'::regclass::oid
                    """
                )
                killed = relays.first { holder?.hasSuffix("pid \($0.pid)") == true }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let victim = try #require(killed, "no relay held the lock after 2,000 rows")
        #expect(kill(victim.pid, SIGKILL) == 0)
        for relay in relays { try await relay.waitForExit(timeout: .seconds(240)) }
        let survivor = try #require(relays.first { $0.pid != victim.pid })
        #expect(
            survivor.exitStatus == 0,
            "the standby exited with \(survivor.exitStatus ?? -1): \(survivor.log.suffix(2000))"
        )

        let lines = try relays.flatMap { try $0.deliveredLines() }
        #expect(Set(lines.map(\.rowID)).count == 20_000, "every row delivered at least once")
        #expect(try survivor.deliveredLines().count > 0, "the standby took over")
        expectIncreasingVersions(try victim.deliveredLines())
        expectIncreasingVersions(try survivor.deliveredLines())
        #expect(try schema.scalar("SELECT count(*) FROM messages_outbox WHERE NOT dispatched") == "0")
    }

    @Test("a server restart mid-drain: the relay process reconnects and loses nothing (private server)")
    func serverRestartMidDrain() async throws {
        let binary = try RelayProcess.requireBinary()
        guard let server = try PrivatePostgresServer.start() else {
            try #require(
                !PostgresTestDatabase.isCI,
                "CI=true but no PostgreSQL server binaries to start a private server"
            )
            return
        }
        defer { server.stop() }
        let admin = try PostgresConnection.connect(PostgresConnectionString(server.url), applicationName: "admin")
        try admin.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres))
        try admin.execute(
            """
            INSERT INTO outbox_messages (payload)
            SELECT json_build_object('headers', json_build_object('__event_type', 'a.b', \
            '__aggregate_root_id', (i % 20)::text,
                '__aggregate_root_version', i / 20 + 1), 'payload', json_build_object('n', i, 'pad', repeat('p', 1000)))
            FROM generate_series(0, 59999) AS i
            """
        )
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let relay = try RelayProcess(
            binary: binary,
            directory: directory,
            index: 0,
            url: server.url,
            table: "outbox_messages",
            drain: true,
            batchSize: 100
        )
        var restarted = false
        for _ in 0..<1200 {
            let done =
                Int(try admin.execute("SELECT count(*) FROM outbox_messages WHERE consumed").string(0, 0) ?? "0") ?? 0
            if done >= 5000 {
                try server.restart()
                restarted = true
                break
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(restarted)
        try await relay.waitForExit(timeout: .seconds(240))
        #expect(relay.exitStatus == 0, "the relay exited with \(relay.exitStatus ?? -1): \(relay.log.suffix(2000))")
        let lines = try relay.deliveredLines()
        #expect(Set(lines.map(\.rowID)).count == 60_000, "every row delivered at least once")
        expectIncreasingVersions(lines)
        let check = try PostgresConnection.connect(PostgresConnectionString(server.url), applicationName: "check")
        #expect(try check.execute("SELECT count(*) FROM outbox_messages WHERE NOT consumed").string(0, 0) == "0")
    }
}

extension PostgresRelayProcessTests {
    @Test("a hot standby is ready: /readyz 200 saying standby, outbox_relay_active 0 there and 1 on the active relay")
    func standbyIsReady() async throws {
        let binary = try RelayProcess.requireBinary()
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(100, aggregates: 5)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func relay(_ index: Int) throws -> RelayProcess {
            try RelayProcess(
                binary: binary,
                directory: directory,
                index: index,
                url: schema.url,
                table: schema.qualified("outbox_messages"),
                drain: false,
                extraConfiguration: "monitoring: {listen: \"127.0.0.1:0\"}"
            )
        }
        let active = try relay(0)
        let activeBase = try await active.monitoringURL()
        let activeReady = try await active.readyz(base: activeBase, until: { $0.status == 200 })
        #expect(activeReady.body == #"{"status":"ok"}"#)
        #expect(try await active.activeGauge(base: activeBase) == 1)

        let standby = try relay(1)
        let standbyBase = try await standby.monitoringURL()
        let standbyReady = try await standby.readyz(base: standbyBase, until: { $0.body.contains("standby") })
        #expect(standbyReady.status == 200, "\(standbyReady.body)")
        let body = try #require(try JSONParser.parse(standbyReady.body).objectValue)
        #expect(body["status"]?.stringValue == "standby")
        #expect(
            body["active_relay"]?.stringValue?.contains("pid \(active.pid) (") == true,
            "the body names the active relay: \(standbyReady.body)"
        )
        #expect(try await standby.activeGauge(base: standbyBase) == 0)
        #expect(try await active.activeGauge(base: activeBase) == 1)
        for _ in 0..<400 where try active.deliveredLines().count < 100 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try active.deliveredLines().count == 100)
        #expect(try standby.deliveredLines().isEmpty)

        // The active relay stops: the standby takes over, active and ready as such.
        active.process.terminate()
        try await active.waitForExit(timeout: .seconds(30))
        let tookOver = try await standby.readyz(base: standbyBase, until: { $0.body == #"{"status":"ok"}"# })
        #expect(tookOver.status == 200)
        #expect(try await standby.activeGauge(base: standbyBase) == 1)
        try schema.insertOutboxRows(10, aggregates: 5, startVersion: 1000)
        for _ in 0..<400 where try standby.deliveredLines().count < 10 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try standby.deliveredLines().count == 10, "the former standby relays")
        standby.process.terminate()
        try await standby.waitForExit(timeout: .seconds(30))
    }
}

extension RelayProcess {
    struct Response {
        var status: Int
        var body: String
    }

    /// The monitoring server's base URL, from its "listening on" log line.
    func monitoringURL() async throws -> URL {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let range = log.range(of: "monitoring server listening on ") {
                return URL(string: "http://\(log[range.upperBound...].prefix { $0 != " " })")!
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PostgresError(code: .unexpectedResult, message: "no monitoring server: \(log.suffix(2000))")
    }

    func get(_ url: URL) async throws -> Response {
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return Response(
            status: (response as? HTTPURLResponse)?.statusCode ?? 0,
            body: String(decoding: data, as: UTF8.self)
        )
    }

    /// Polls `/readyz` until `condition` holds (at most 30 s; records an issue and returns the
    /// last answer otherwise).
    func readyz(base: URL, until condition: (Response) -> Bool) async throws -> Response {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = Response(status: 0, body: "")
        while ContinuousClock.now < deadline {
            last = try await get(base.appendingPathComponent("readyz"))
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record(
            "/readyz of relay \(index) never got there; last: \(last.status) \(last.body)\n\(log.suffix(2000))"
        )
        return last
    }

    /// The value of `outbox_relay_active{table=…}` on `/metrics`.
    func activeGauge(base: URL) async throws -> Double? {
        let metrics = try await get(base.appendingPathComponent("metrics")).body
        for line in metrics.split(separator: "\n") where line.hasPrefix("outbox_relay_active{") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}

/// Per aggregate, first deliveries come in version order.
func expectIncreasingVersions(_ lines: [RelayProcess.Line], sourceLocation: SourceLocation = #_sourceLocation) {
    var seen: Set<String> = []
    var last: [String: Int64] = [:]
    var failures = 0
    for line in lines where seen.insert(line.rowID).inserted {
        if let previous = last[line.aggregate], line.version <= previous, failures < 5 {
            Issue.record(
                "aggregate \(line.aggregate): version \(line.version) after \(previous)",
                sourceLocation: sourceLocation
            )
            failures += 1
        }
        last[line.aggregate] = line.version
    }
}

/// One `outbox-relay run --config … [--drain]` process writing to its own JSON-lines file.
final class RelayProcess: @unchecked Sendable {
    struct Line {
        var rowID: String
        var aggregate: String
        var version: Int64
    }

    let index: Int
    let process = Process()
    let outputPath: String
    let logPath: String
    var pid: Int32 { process.processIdentifier }

    init(
        binary: String,
        directory: String,
        index: Int,
        url: String,
        table: String,
        flavour: String = "outbox",
        drain: Bool,
        batchSize: Int = 500,
        extraConfiguration: String = ""
    ) throws {
        self.index = index
        outputPath = "\(directory)/relay-\(index).jsonl"
        logPath = "\(directory)/relay-\(index).log"
        let configPath = "\(directory)/relay-\(index).yaml"
        let yaml = """
            source:
              url: "\(url)"
              flavour: \(flavour)
              table: \(table)
              batch_size: \(batchSize)
              standby_poll_interval: 200ms
            transports:
              out:
                type: file
                path: "\(outputPath)"
            routes:
              - events: "*"
                to: [out]
            \(extraConfiguration)
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath] + (drain ? ["--drain"] : [])
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Polls until the process exits; SIGKILLs it and records an issue after `timeout`.
    func waitForExit(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("relay \(index) did not exit within \(timeout): \(log.suffix(2000))")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
    }

    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The delivered messages, in file order.
    func deliveredLines() throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return [] }
        var lines: [Line] = []
        for raw in data.split(separator: UInt8(ascii: "\n")) where !raw.isEmpty {
            // a SIGKILL may cut the last line
            guard let object = try? JSONParser.parse(Array(raw)).objectValue else { continue }
            lines.append(
                Line(
                    rowID: object["row_id"]?.textValue ?? "",
                    aggregate: object["aggregate_root_id"]?.textValue ?? "",
                    version: object["aggregate_root_version"]?.int64Value ?? 0
                )
            )
        }
        return lines
    }

    /// The `outbox-relay` binary next to the test bundle (or `OUTBOX_RELAY_BINARY`).
    static func requireBinary(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        if let path = ProcessInfo.processInfo.environment["OUTBOX_RELAY_BINARY"] { return path }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [products.appendingPathComponent("outbox-relay").path]
        candidates.append(
            products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("outbox-relay").path
        )
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(
            found,
            "the outbox-relay binary is not next to the test bundle (\(candidates[0])); build it with swift build",
            sourceLocation: sourceLocation
        )
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "outbox-relay-processes-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
