import Foundation
import SourceTestSupport
import Testing

@testable import OutboxMySQL

/// Whole `outbox-relay run` processes against MariaDB: several relays on one table and a
/// SIGKILLed active relay, each checked through the `file` transport's JSON lines.
@Suite(
    "MySQL relay processes",
    .serialized,
    .enabled(if: MySQLTestDatabase.isTestable, MySQLTestDatabase.skipMessage)
)
struct MySQLRelayProcessTests {
    /// Inserts `count` rows over `aggregates` aggregates, versions increasing per aggregate.
    static func insertRows(_ database: TestDatabase, _ flavour: OutboxFlavour, count: Int, aggregates: Int) throws {
        var start = 0
        while start < count {
            let end = min(start + 1000, count)
            let values = (start..<end).map { index -> String in
                let payload = database.admin.literal(
                    outboxPayload(aggregate: "agg-\(index % aggregates)", version: index / aggregates + 1)
                )
                switch flavour {
                case .outbox:
                    return "(\(payload))"
                case .dispatcher:
                    let id =
                        "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - String(index).count))\(index)"
                    let micro = String(index % 1_000_000)
                    let time = "2024-01-01 00:00:00.\(String(repeating: "0", count: 6 - micro.count))\(micro)"
                    return "('\(id)', \(payload), '\(time)', 0)"
                }
            }
            let columns = flavour == .outbox ? "(payload)" : "(id, payload, time_of_recording, dispatched)"
            try database.execute(
                "INSERT INTO \(flavour.defaultTable) \(columns) VALUES " + values.joined(separator: ", ")
            )
            start = end
        }
    }

    @Test("three relays on one 20,000-row table deliver every row exactly once, in order per aggregate")
    func threeRelaysDeliverEachRowOnce() async throws {
        let binary = try RelayProcess.requireBinary()
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        try Self.insertRows(database, .outbox, count: 20_000, aggregates: 50)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var relays: [RelayProcess] = []
        for index in 0..<3 {
            relays.append(
                try RelayProcess(binary: binary, directory: directory, index: index, url: database.url, drain: true)
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
        for relay in relays { expectIncreasingVersions(try relay.deliveredLines()) }
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "0")
    }

    @Test("SIGKILL of the active relay: a standby takes over and nothing is lost")
    func sigkillActiveRelay() async throws {
        let binary = try RelayProcess.requireBinary()
        let database = try TestDatabase()
        try database.createPHPTable(.dispatcher)
        try Self.insertRows(database, .dispatcher, count: 20_000, aggregates: 50)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var relays: [RelayProcess] = []
        for index in 0..<2 {
            relays.append(
                try RelayProcess(
                    binary: binary,
                    directory: directory,
                    index: index,
                    url: database.url,
                    flavour: "dispatcher",
                    drain: true,
                    batchSize: 200
                )
            )
        }
        // Only the lock holder writes: once 2,000 rows are marked, SIGKILL the relay whose file grows.
        var killed: RelayProcess?
        for _ in 0..<600 {
            let done = Int(try database.scalar("SELECT count(*) FROM messages_outbox WHERE dispatched = 1") ?? "0") ?? 0
            if done >= 2000 {
                killed = relays.first { (try? $0.deliveredLines().isEmpty) == false }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let victim = try #require(killed, "no relay delivered 2,000 rows")
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
        #expect(try database.scalar("SELECT count(*) FROM messages_outbox WHERE dispatched = 0") == "0")
    }
}

extension MySQLRelayProcessTests {
    @Test("a hot standby is ready: /readyz 200 saying standby and naming the GET_LOCK holder, outbox_relay_active 0")
    func standbyIsReady() async throws {
        let binary = try RelayProcess.requireBinary()
        let database = try TestDatabase()
        try database.createPHPTable(.outbox)
        try Self.insertRows(database, .outbox, count: 100, aggregates: 5)
        let directory = try RelayProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func relay(_ index: Int) throws -> RelayProcess {
            try RelayProcess(
                binary: binary,
                directory: directory,
                index: index,
                url: database.url,
                drain: false,
                extraConfiguration: "monitoring: {listen: \"127.0.0.1:0\"}"
            )
        }
        try await StandbyScenario.standbyIsReady(
            rows: 100,
            start: relay,
            // IS_USED_LOCK's session, as `USER@HOST (connection N, …)` from the processlist.
            expectedHolder: { _ in "(connection " },
            insertRows: { try Self.insertRows(database, .outbox, count: $0, aggregates: 5) }
        )
    }
}
