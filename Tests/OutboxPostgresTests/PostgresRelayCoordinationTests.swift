import Foundation
import Logging
import Testing

@testable import OutboxPostgres

/// Many relays on one table (advisory lock, hot standby) and lost connections.
@Suite(
    "PostgreSQL relay coordination",
    .serialized,
    .enabled(if: PostgresTestDatabase.isTestable, PostgresTestDatabase.skipMessage)
)
struct PostgresRelayCoordinationTests {
    @Test(
        "a second relay waits as a standby while the first holds the lock, and takes over within seconds when it closes"
    )
    func standbyTakesOverOnClose() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(10)
        let active = try schema.source(.outbox) { $0.applicationName = "relay-a" }
        try await active.open()
        #expect(await active.isActiveRelay)

        let standby = try schema.source(.outbox) {
            $0.applicationName = "relay-b"
            $0.lock.standbyPollInterval = .milliseconds(250)
        }
        let opened = Task {
            try await standby.open()
            return ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(await standby.isActiveRelay == false)
        #expect(try await standby.status().lockHolder?.hasPrefix("relay-a") == true)

        let closedAt = ContinuousClock.now
        await active.close()
        let openedAt = try await opened.value
        #expect(openedAt - closedAt < .seconds(3))
        #expect(await standby.isActiveRelay)
        #expect(try await standby.fetch(limit: 100, after: nil).count == 10)
        await standby.close()
    }

    @Test("when the active relay's session dies, the standby takes over; the old relay reconnects as a standby")
    func takeoverAfterTerminatedBackend() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(5)
        let first = try schema.source(.outbox) {
            $0.applicationName = "relay-1"
            $0.lock.standbyPollInterval = .milliseconds(200)
        }
        try await first.open()
        let second = try schema.source(.outbox) {
            $0.applicationName = "relay-2"
            $0.lock.standbyPollInterval = .milliseconds(200)
        }
        let secondOpened = Task { try await second.open() }
        try await Task.sleep(for: .milliseconds(500))

        let pid = try #require(await first.backendPID)
        #expect(try schema.scalar("SELECT pg_terminate_backend($1::int)", [String(pid)]) == "t")
        try await secondOpened.value
        #expect(await second.isActiveRelay)

        // The first relay reconnects but finds the lock taken: its fetch waits until the second closes.
        let firstFetch = Task { try await first.fetch(limit: 10, after: nil) }
        try await Task.sleep(for: .milliseconds(1000))
        #expect(await first.isActiveRelay == false)
        await second.close()
        let rows = try await firstFetch.value
        #expect(rows.count == 5)
        #expect(await first.isActiveRelay)
        await first.close()
    }

    @Test("terminating the relay's backend while it drains loses nothing")
    func connectionLossLosesNothing() async throws {
        let schema = try TestSchema()
        try schema.createOutboxTable(.outbox)
        try schema.insertOutboxRows(3000, aggregates: 25)
        let applicationName = "relay-\(schema.name)"
        let source = try schema.source(.outbox) { $0.applicationName = applicationName }
        let received = Received()
        let engine = try RelayEngine(
            source: source,
            transports: [
                SynchronousDispatcher(
                    consumer: MessageConsumerClosure { message in
                        await received.add(message)
                        if await received.count % 100 == 0 { try await Task.sleep(for: .milliseconds(10)) }
                    }
                )
            ],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 100)
        )
        let url = schema.url
        let killer = Task {
            let admin = try PostgresConnection.connect(PostgresConnectionString(url), applicationName: "killer")
            var kills = 0
            for _ in 0..<40 where kills < 3 {
                try await Task.sleep(for: .milliseconds(150))
                let result = try admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                    [applicationName]
                )
                kills += Int(result.string(0, 0) ?? "0") ?? 0
            }
            return kills
        }
        let summary = try await engine.drain()
        let kills = try await killer.value
        #expect(kills >= 1, "the relay's backend was terminated \(kills) times")
        let messages = await received.messages
        let ids = Set(messages.map(\.rowID))
        #expect(ids.count == 3000, "every row delivered at least once (summary: \(summary))")
        #expect(try schema.scalar("SELECT count(*) FROM outbox_messages WHERE NOT consumed") == "0")
        expectPerAggregateOrder(messages)
    }

    @Test("a server restart mid-drain loses nothing (private server)")
    func serverRestartLosesNothing() async throws {
        guard let server = try PrivatePostgresServer.start() else {
            try #require(
                !PostgresTestDatabase.isCI,
                "CI=true but no PostgreSQL server binaries to start a private server"
            )
            return
        }
        defer { server.stop() }
        let admin = try PostgresConnection.connect(PostgresConnectionString(server.url), applicationName: "admin")
        try admin.execute(OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .postgres))
        try admin.execute(
            """
            INSERT INTO messages_outbox (id, payload, dispatched, time_of_recording)
            SELECT md5(i::text)::uuid, json_build_object('headers', json_build_object('__event_type', 'a.b',
                '__event_id', md5(i::text)::uuid::text, '__aggregate_root_id', (i % 7)::text, \
            '__aggregate_root_version', i / 7 + 1),
                'payload', json_build_object('n', i)), false, \
            '2024-01-01'::timestamp + (i / 3) * interval '1 millisecond'
            FROM generate_series(0, 3999) AS i
            """
        )
        let source = try PostgresSource(
            configuration: .init(connection: PostgresConnectionString(server.url), flavour: .dispatcher)
        )
        let received = Received()
        let restarted = ManagedAtomicFlag()
        let engine = try RelayEngine(
            source: source,
            transports: [
                SynchronousDispatcher(
                    consumer: MessageConsumerClosure { message in
                        await received.add(message)
                        if await received.count == 1000, restarted.set() {
                            Task.detached { try server.restart() }
                        }
                        try await Task.sleep(for: .milliseconds(1))
                    }
                )
            ],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 200)
        )
        let summary = try await engine.drain()
        #expect(restarted.isSet)
        let messages = await received.messages
        #expect(Set(messages.map(\.rowID)).count == 4000, "summary: \(summary)")
        let check = try PostgresConnection.connect(PostgresConnectionString(server.url), applicationName: "check")
        #expect(try check.execute("SELECT count(*) FROM messages_outbox WHERE NOT dispatched").string(0, 0) == "0")
        expectPerAggregateOrder(messages)
        await source.close()
    }
}

/// Per aggregate, the first deliveries come in version order (redeliveries after a failure may repeat a suffix).
func expectPerAggregateOrder(_ messages: [OutboxMessage], sourceLocation: SourceLocation = #_sourceLocation) {
    var seen: Set<OutboxRowID> = []
    var lastVersion: [String: Int64] = [:]
    for message in messages where seen.insert(message.rowID).inserted {
        let version = message.aggregateRootVersion ?? 0
        if let last = lastVersion[message.orderingKey] {
            #expect(
                version > last,
                "aggregate \(message.orderingKey): version \(version) after \(last)",
                sourceLocation: sourceLocation
            )
        }
        lastVersion[message.orderingKey] = version
    }
}

/// A one-shot flag.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag; true if this call set it.
    func set() -> Bool {
        lock.withLock {
            defer { value = true }
            return !value
        }
    }
    var isSet: Bool { lock.withLock { value } }
}

/// A PostgreSQL cluster of its own (initdb in a temp dir, 127.0.0.1 and a Unix socket there),
/// for tests that restart the server without disturbing other tests.
final class PrivatePostgresServer: @unchecked Sendable {
    let directory: String
    let bindir: String
    let port: Int
    let runAsPostgres: Bool
    var url: String { "postgresql://\(runAsPostgres ? "postgres" : NSUserName())@127.0.0.1:\(port)/postgres" }

    private init(directory: String, bindir: String, port: Int, runAsPostgres: Bool) {
        self.directory = directory
        self.bindir = bindir
        self.port = port
        self.runAsPostgres = runAsPostgres
    }

    /// Starts a server, or returns nil when no server binaries are installed.
    static func start() throws -> PrivatePostgresServer? {
        let environment = ProcessInfo.processInfo.environment
        var candidates = [environment["OUTBOX_TEST_POSTGRES_BINDIR"]].compactMap { $0 }
        let root = "/usr/lib/postgresql"
        candidates += ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted {
            $0.compare($1, options: .numeric) == .orderedDescending
        }.map { "\(root)/\($0)/bin" }
        guard let bindir = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") })
        else { return nil }
        let runAsPostgres = getuid() == 0
        let directory = NSTemporaryDirectory() + "outbox-pg-private-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if runAsPostgres { try run(["/bin/chown", "postgres", directory]) }
        let server = PrivatePostgresServer(
            directory: directory,
            bindir: bindir,
            port: Int.random(in: 30000...60000),
            runAsPostgres: runAsPostgres
        )
        try server.postgres([
            "initdb", "-D", directory + "/data", "-U", runAsPostgres ? "postgres" : NSUserName(), "--auth=trust",
            "--encoding=UTF8",
        ])
        let conf =
            "listen_addresses = '127.0.0.1'\nport = \(server.port)\n"
            + "unix_socket_directories = '\(directory)'\nfsync = off\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(conf.data(using: .utf8)!)
        try handle.close()
        try server.postgres([
            "pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "start",
        ])
        return server
    }

    /// Restarts the server (fast shutdown: every connection is dropped).
    func restart() throws {
        try postgres([
            "pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "60",
            "restart",
        ])
    }

    /// Stops the server and deletes its directory.
    func stop() {
        _ = try? postgres(["pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "-t", "30", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func postgres(_ arguments: [String]) throws {
        let command = [bindir + "/" + arguments[0]] + arguments.dropFirst()
        try Self.run(runAsPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command)
    }

    /// Runs a command with posix_spawn and waits for it (Foundation's Process can hang waiting
    /// for a run loop on a cooperative thread).
    private static func run(_ arguments: [String]) throws {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw PostgresError(code: .queryFailed, message: "cannot start \(arguments[0]): error \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw PostgresError(
                code: .queryFailed,
                message: "\(arguments.joined(separator: " ")) exited with status \(status)"
            )
        }
    }
}
