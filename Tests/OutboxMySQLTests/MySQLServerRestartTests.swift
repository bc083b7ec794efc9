import Foundation
import SourceTestSupport
import Testing

@testable import OutboxMySQL

/// Restarts of the MariaDB server itself while the relay drains: each test starts a server of
/// its own (``MariaDBServer``) so it can stop and start it.
@Suite(
    "MySQL server restart",
    .serialized,
    .enabled(if: MySQLTestDatabase.isTestable, MySQLTestDatabase.skipMessage)
)
struct MySQLServerRestartTests {
    @Test(
        "server stopped (clean shutdown, then crash) and started again mid-drain: every row delivered, all marked",
        arguments: [SIGTERM, SIGKILL]
    )
    func serverRestartMidDrain(signal: Int32) async throws {
        let server = try MariaDBServer()
        let url = try MySQLConnectionURL(server.url())
        let admin = try MySQLConnection.connect(url, multiStatements: true)
        try admin.executeScript(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        let count = 1500
        let values = (1...count).map { "(\(admin.literal(outboxPayload(aggregate: "a\($0 % 11)", version: $0))))" }
        try admin.execute("INSERT INTO outbox_messages (payload) VALUES " + values.joined(separator: ", "))

        let source = try MySQLSource(configuration: .init(connection: url, flavour: .outbox))
        let received = MySQLSourceTests.Received()
        let engine = try RelayEngine(
            source: source,
            transports: [
                SynchronousDispatcher(
                    consumer: MessageConsumerClosure { message in
                        received.add(message)
                        try await Task.sleep(for: .milliseconds(1))
                    }
                )
            ],
            routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["in-process"])]),
            configuration: .init(batchSize: 50)
        )
        let drain = Task { try await engine.drain() }
        try await eventually("200 rows arrived") { received.all.count >= 200 }
        server.stop(signal: signal)
        let deliveredWhileDown = received.all.count
        try await Task.sleep(for: .seconds(1))
        try server.start()
        // A hang would leave the drain waiting forever: bound it.
        let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try await drain.value
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(120))
                return false
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        #expect(finished, "the drain did not finish within 120 s of the restart")
        if !finished { drain.cancel() }
        #expect(received.all.count > deliveredWhileDown, "rows were delivered after the restart")
        #expect(Set(received.all) == Set((1...count).map(Int64.init)), "every row delivered at least once")
        let check = try MySQLConnection.connect(url)
        #expect(try check.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
        await source.close()
    }
}

extension MySQLServerRestartTests {
    @Test(
        "a server that accepts connections but answers nothing: connect, reads and the source time out, no hang"
    )
    func frozenServerTimesOut() async throws {
        let server = try MariaDBServer()
        let url = try MySQLConnectionURL(server.url(query: "connect-timeout=1s&read-timeout=1s&write-timeout=1s"))
        let admin = try MySQLConnection.connect(url, multiStatements: true)
        try admin.executeScript(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try admin.execute(
            "INSERT INTO outbox_messages (payload) VALUES (\(admin.literal(outboxPayload(aggregate: "a", version: 1))))"
        )
        var configuration = try MySQLSource.Configuration(connection: url, flavour: .outbox)
        configuration.reconnect = .init(
            initialDelay: .milliseconds(100),
            maximumDelay: .milliseconds(500),
            maximumTime: .seconds(2)
        )
        let source = try MySQLSource(configuration: configuration)
        try await source.open()
        #expect(try await source.fetch(limit: 10, after: nil).count == 1)

        server.freeze()
        defer { server.thaw() }
        let clock = ContinuousClock()
        var started = clock.now
        #expect(throws: MySQLError.self) { try admin.scalar("SELECT 1") }
        #expect(clock.now - started < .seconds(10), "a read waits for read-timeout, not forever")
        started = clock.now
        #expect(throws: MySQLError.self) { try MySQLConnection.connect(url) }
        #expect(clock.now - started < .seconds(10), "the handshake waits for connect-timeout, not forever")
        started = clock.now
        await #expect(throws: MySQLError.self) { try await source.fetch(limit: 10, after: nil) }
        #expect(clock.now - started < .seconds(20), "the source gives up after reconnect.maximumTime")

        server.thaw()
        // Back up: the same source reconnects, re-takes the lock and reads again.
        #expect(try await source.fetch(limit: 10, after: nil).count == 1)
        #expect(await source.isActiveRelay)
        await source.close()
    }
}

extension MySQLServerRestartTests {
    @Test(
        "a statement larger than the server's max_allowed_packet is an error naming the setting, not a reconnect loop"
    )
    func statementLargerThanMaxAllowedPacket() async throws {
        let server = try MariaDBServer(options: ["--max-allowed-packet=8K"])
        let url = try MySQLConnectionURL(server.url())
        let admin = try MySQLConnection.connect(url, multiStatements: true)
        try admin.executeScript(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        try admin.execute("INSERT INTO outbox_messages (payload) VALUES ('{\"cut off')")
        #expect(try admin.scalar("SELECT @@global.max_allowed_packet") == "8192")

        var configuration = try MySQLSource.Configuration(connection: url, flavour: .outbox)
        configuration.reconnect = .init(maximumTime: .seconds(2))
        let source = try MySQLSource(configuration: configuration)
        try await source.open()
        let row = try #require(try await source.fetch(limit: 10, after: nil).first)
        // A dead letter whose payload (40 KB) makes its INSERT larger than the packet limit (8 KB; the server
        // allows at least net_buffer_length, 16 KB).
        let letter = DeadLetter(
            rowID: row.id,
            payload: Array(repeating: UInt8(ascii: "x"), count: 40_000),
            destination: nil,
            attempts: 0,
            lastError: "undecodable",
            firstFailedAt: .now(),
            lastFailedAt: .now()
        )
        let error = await #expect(throws: MySQLError.self) {
            try await source.complete(rows: [row.id], deadLetters: [letter])
        }
        #expect(error?.code == .packetTooLarge, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.message.contains("max_allowed_packet") == true)
        #expect(try admin.scalar("SELECT consumed FROM outbox_messages") == "0", "nothing marked")
        await source.close()
    }
}
