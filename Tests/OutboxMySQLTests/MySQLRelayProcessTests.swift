import Foundation
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
        flavour: String = "outbox",
        drain: Bool,
        batchSize: Int = 500
    ) throws {
        self.index = index
        outputPath = "\(directory)/relay-\(index).jsonl"
        logPath = "\(directory)/relay-\(index).log"
        let configPath = "\(directory)/relay-\(index).yaml"
        let yaml = """
            source:
              url: "\(url)"
              flavour: \(flavour)
              batch_size: \(batchSize)
              standby_poll_interval: 200ms
            transports:
              out:
                type: file
                path: "\(outputPath)"
            routes:
              - events: "*"
                to: [out]
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
