import Foundation
import SourceTestSupport
import Testing

@testable import OutboxPostgres

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
        try await StandbyScenario.standbyIsReady(
            rows: 100,
            start: relay,
            expectedHolder: { "pid \($0.pid) (" },
            insertRows: { try schema.insertOutboxRows($0, aggregates: 5, startVersion: 1000) }
        )
    }
}
