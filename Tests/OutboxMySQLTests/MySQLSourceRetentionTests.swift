import Foundation
import Testing

@testable import OutboxMySQL

@Suite(
    "MySQL source retention",
    .serialized,
    .enabled(if: MySQLTestDatabase.isTestable, MySQLTestDatabase.skipMessage)
)
struct MySQLSourceRetentionTests {
    @Test("outbox: after completing, all but the newest `keep` consumed rows are deleted, in bounded batches")
    func outboxKeepsTheNewestConsumedRows() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .outbox, dialect: .mysql))
        let values = (1...40).map { "(\(database.admin.literal(outboxPayload(aggregate: "a", version: $0))))" }
        try database.execute("INSERT INTO outbox_messages (payload) VALUES " + values.joined(separator: ", "))
        var configuration = try MySQLSource.Configuration(connection: MySQLConnectionURL(database.url))
        // 7 rows per statement, 3 statements per run: one run deletes at most 21 rows.
        configuration.retention = .init(keepNewest: 5, batchSize: 7, maximumBatchesPerRun: 3, interval: .zero)
        let source = try MySQLSource(configuration: configuration)
        try await source.open()
        let rows = try await source.fetch(limit: 30, after: nil)
        try await source.complete(rows: rows.map(\.id), deadLetters: [])
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages") == "19", "one bounded run: 21 of 25")
        // The next completion's run deletes the rest beyond the newest 5 consumed rows.
        try await source.complete(rows: [.integer(31)], deadLetters: [])
        #expect(try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 1") == "5")
        #expect(try database.scalar("SELECT min(id) FROM outbox_messages WHERE consumed = 1") == "27")
        #expect(
            try database.scalar("SELECT count(*) FROM outbox_messages WHERE consumed = 0") == "9",
            "undelivered rows stay"
        )
        await source.close()
    }

    @Test("dispatcher: rows dispatched longer ago than max_age are deleted; recent and undelivered ones stay")
    func dispatcherDeletesByAge() async throws {
        let database = try TestDatabase()
        try database.execute(OutboxSchema.outboxTable(flavour: .dispatcher, dialect: .mysql))
        func insert(_ id: String, dispatched: Bool, dispatchedAgo: String?) throws {
            let time = dispatchedAgo.map { "UTC_TIMESTAMP(6) - INTERVAL \($0)" } ?? "NULL"
            try database.execute(
                "INSERT INTO messages_outbox (id, payload, time_of_recording, dispatched, time_of_dispatching) VALUES "
                    + "('\(id)', \(database.admin.literal(outboxPayload(aggregate: "a", version: 1))), "
                    + "UTC_TIMESTAMP(6) - INTERVAL 3 DAY, \(dispatched ? 1 : 0), \(time))"
            )
        }
        for index in 0..<6 { try insert("old-\(index)", dispatched: true, dispatchedAgo: "2 DAY") }
        for index in 0..<3 { try insert("recent-\(index)", dispatched: true, dispatchedAgo: "1 HOUR") }
        for index in 0..<2 { try insert("open-\(index)", dispatched: false, dispatchedAgo: nil) }
        var configuration = try MySQLSource.Configuration(
            connection: MySQLConnectionURL(database.url),
            flavour: .dispatcher
        )
        configuration.retention = .init(maximumAge: .seconds(86_400), batchSize: 4, interval: .zero)
        let source = try MySQLSource(configuration: configuration)
        try await source.open()
        let open = try await source.fetch(limit: 1, after: nil)
        try await source.complete(rows: open.map(\.id), deadLetters: [])
        #expect(try database.scalar("SELECT count(*) FROM messages_outbox WHERE id LIKE 'old-%'") == "0")
        #expect(try database.scalar("SELECT count(*) FROM messages_outbox WHERE id LIKE 'recent-%'") == "3")
        #expect(try database.scalar("SELECT count(*) FROM messages_outbox WHERE id LIKE 'open-%'") == "2")
        await source.close()
    }

    @Test("retention settings that do not fit the flavour are refused naming the key")
    func invalidRetention() throws {
        let url = try MySQLConnectionURL("mysql://u@127.0.0.1/db")
        var outbox = try MySQLSource.Configuration(connection: url)
        outbox.retention = .init(maximumAge: .seconds(60))
        #expect(throws: MySQLError.self) { try outbox.validate() }
        var dispatcher = try MySQLSource.Configuration(connection: url, flavour: .dispatcher)
        dispatcher.retention = .init(keepNewest: 10)
        let error = #expect(throws: MySQLError.self) { try dispatcher.validate() }
        #expect(error?.message.contains("retention.max_age") == true)
    }
}
