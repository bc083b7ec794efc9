import Foundation
import OutboxRelay
import Testing

/// `outbox-relay explain` on rows the real binary reads from SQLite, PostgreSQL and MariaDB: a routed row
/// (already delivered and marked), an unrouted one and an undecodable one; what it shows for the
/// file destination is the line `run` then writes.
@Suite("outbox-relay explain")
struct ExplainCommandTests {
    static let placed = "acme.shop.orders.order_was_placed"
    static let kinds = DeadLetterTestDatabase.kinds

    static func event(_ type: String, _ n: Int, id: Bool = true) -> String {
        #"{"headers":{"__event_type":"\#(type)","#
            + (id ? #""__event_id":"e-\#(n)","# : "")
            + #""__aggregate_root_type":"order","__aggregate_root_id":"a-\#(n)","__aggregate_root_version":\#(n)},"#
            + #""payload":{"n":\#(n)}}"#
    }

    /// Rows 1 (routed, marked), 2 (empty headers: undecodable), 3 (no route), 4 (routed, no stored
    /// event id, undelivered); transports file, http (with a token, a secret header and a
    /// signing secret) and kafka (never started).
    /// With `fileOnly`, only the file transport is configured (for `run`, which starts every transport).
    static func prepare(
        _ database: DeadLetterTestDatabase,
        fileOnly: Bool = false
    ) async throws -> (config: URL, output: URL) {
        try await database.createTables()
        let insert = "INSERT INTO \(database.table) (payload, consumed) VALUES"
        try database.run(
            """
            \(insert) (\(SQLiteShell.literal(event(placed, 1))), true);
            \(insert) ('{"payload":{"n":2}}', false);
            \(insert) (\(SQLiteShell.literal(event("acme.billing.x", 3))), false);
            \(insert) (\(SQLiteShell.literal(event(placed, 4, id: false))), false);
            """
        )
        let folder = try CLI.temporaryFolder()
        let output = folder.appendingPathComponent("out.jsonl")
        let config = folder.appendingPathComponent("relay.yaml")
        let others = """
              hook:
                type: http
                url: "https://hooks.example.com/in/tok-123?key=qs-secret"
                headers: {authorization: "Bearer header-secret"}
                secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
              tiny:
                type: http
                url: "https://small.example.com/in"
                max_body_size: 50
              bus:
                type: kafka
                bootstrap_servers: "127.0.0.1:1"
                topic: "shop.{aggregate_root_type}"
                value_format: payload
            """
        try """
        source:
          url: "\(database.sourceURL)"
          flavour: outbox
          table: \(database.table)
        transports:
          out:
            type: file
            path: "\(output.path)"
        \(fileOnly ? "" : others)
        routes:
          - events: "acme.shop.*"
            to: [\(fileOnly ? "out" : "out, hook, tiny")]
          - events: "acme.shop.orders.*"
            to: [\(fileOnly ? "out" : "bus")]
            final: true
          - events: "*.order_was_placed"
            to: [out]
        unrouted: dead-letter
        """.write(to: config, atomically: true, encoding: .utf8)
        return (config, output)
    }

    static func explain(_ config: URL, _ arguments: [String]) async throws -> JSONObject {
        let result = try await CLI.run(["explain", "--config", config.path, "--json"] + arguments)
        try #require(result.status == 0, "\(result.output)")
        return try #require(try JSONParser.parse(result.stdout).objectValue, "\(result.stdout)")
    }

    static func destinations(_ explanation: JSONObject) throws -> [String: JSONObject] {
        let message = try #require(explanation["messages"]?.arrayValue?.first?.objectValue)
        var byName: [String: JSONObject] = [:]
        for destination in message["destinations"]?.arrayValue ?? [] {
            let object = try #require(destination.objectValue)
            byName[try #require(object["name"]?.stringValue)] = object
        }
        return byName
    }

    @Test("a routed row (already marked): every matching route and what each destination would get", arguments: kinds)
    func routedRow(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let (config, _) = try await Self.prepare(database)
        let explanation = try await Self.explain(config, ["--row", "1"])

        #expect(explanation["outcome"]?.stringValue == "decoded")
        let message = try #require(explanation["messages"]?.arrayValue?.first?.objectValue)
        #expect(message["event_id"]?.stringValue == "e-1" && message["event_id_source"]?.stringValue == "stored")
        #expect(message["ordering_key"]?.stringValue == "order/a-1", "\(message)")
        // Routes 0 and 1 match; 1 is final, so route 2 is not evaluated.
        #expect(message["routes"]?.arrayValue?.compactMap { $0.objectValue?["route"]?.int64Value } == [0, 1])
        let destinations = try Self.destinations(explanation)
        #expect(Set(destinations.keys) == ["out", "hook", "tiny", "bus"])
        #expect(destinations["hook"]?["outcome"]?.stringValue == "send")
        #expect(destinations["tiny"]?["outcome"]?.stringValue == "dead-letter")
        #expect(destinations["tiny"]?["reason"]?.stringValue?.contains("exceeds the maximum of 50 bytes") == true)

        let kafka = try #require(destinations["bus"]?["delivery"]?.objectValue)
        #expect(kafka["topic"]?.stringValue == "shop.order")
        #expect(kafka["key"]?.stringValue == "a-1")
        #expect(kafka["partitioner"]?.stringValue == "murmur2_random")
        #expect(kafka["value_format"]?.stringValue == "payload")
        #expect(kafka["value_size"]?.int64Value == Int64(#"{"n":1}"#.utf8.count))
        let kafkaHeaders = try #require(kafka["headers"]?.objectValue)
        #expect(kafkaHeaders["event_type"]?.stringValue == Self.placed)
        #expect(kafkaHeaders["aggregate_root_version"]?.stringValue == "1")

        let hook = try #require(destinations["hook"]?["delivery"]?.objectValue)
        #expect(hook["method"]?.stringValue == "POST")
        #expect(hook["body_size"]?.int64Value == Int64(Self.event(Self.placed, 1).utf8.count))
        #expect(hook["signature_base"]?.stringValue == "e-1.{webhook-timestamp}.{body}")
        let hookHeaders = try #require(hook["headers"]?.objectValue)
        #expect(hookHeaders["webhook-id"]?.stringValue == "e-1")
        #expect(hookHeaders["authorization"]?.stringValue == "***")
        #expect(hookHeaders["webhook-signature"] != nil)

        let text = try await CLI.run(["explain", "--config", config.path, "--row", "1"])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.stdout.contains("destination bus:") && text.stdout.contains("topic: shop.order"), "\(text.stdout)")
        for secret in ["tok-123", "qs-secret", "header-secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
            #expect(!text.output.contains(secret), "explain printed a secret")
        }
    }

    @Test("the file line explain shows is the line run writes; explain marks nothing", arguments: kinds)
    func fileLineMatchesRun(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let (config, output) = try await Self.prepare(database, fileOnly: true)
        let explanation = try await Self.explain(config, ["--row", "4"])
        let message = try #require(explanation["messages"]?.arrayValue?.first?.objectValue)
        #expect(message["event_id_source"]?.stringValue == "derived from the table and row id")
        let line = try #require(
            try Self.destinations(explanation)["out"]?["delivery"]?.objectValue?["line"]?.stringValue
        )
        #expect(!FileManager.default.fileExists(atPath: output.path), "explain wrote to the file")
        let undelivered = try database.run("SELECT count(*) FROM \(database.table) WHERE consumed = false;")
        #expect(undelivered.trimmingCharacters(in: .whitespacesAndNewlines) == "3", "explain marked a row")

        let drain = try await CLI.run(["run", "--config", config.path, "--drain"])
        #expect(drain.status == 0, "\(drain.output)")
        let written = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(written.split(separator: "\n").contains(Substring(line)), "run wrote:\n\(written)\nexplain:\n\(line)")
    }

    @Test("an unrouted and an undecodable row, a missing row, and a payload file", arguments: kinds)
    func unroutedAndUndecodable(kind: String) async throws {
        let database = try DeadLetterTestDatabase.make(kind)
        let (config, _) = try await Self.prepare(database)

        let unrouted = try await Self.explain(config, ["--row", "3"])
        let message = try #require(unrouted["messages"]?.arrayValue?.first?.objectValue)
        #expect(message["outcome"]?.stringValue == "dead-letter", "\(message)")
        #expect(message["routes"]?.arrayValue?.isEmpty == true)
        #expect(message["reason"]?.stringValue?.contains("unrouted") == true)

        let undecodable = try await Self.explain(config, ["--row", "2"])
        #expect(undecodable["outcome"]?.stringValue == "dead-letter")
        #expect(undecodable["reason"]?.stringValue == "undecodable")
        #expect(undecodable["error"]?.stringValue?.contains("headers") == true, "\(undecodable)")
        let text = try await CLI.run(["explain", "--config", config.path, "--row", "2"])
        #expect(text.stdout.contains("undecodable:") && text.stdout.contains("dead-letter table"), "\(text.stdout)")

        let missing = try await CLI.run(["explain", "--config", config.path, "--row", "99"])
        #expect(missing.status == 1 && missing.stdout.contains("no row 99"), "\(missing.output)")
        let neither = try await CLI.run(["explain", "--config", config.path])
        #expect(neither.status != 0 && neither.output.contains("exactly one of"), "\(neither.output)")

        let payloadFile = try CLI.temporaryFolder().appendingPathComponent("payload.json")
        try Self.event("acme.shop.orders.order_was_cancelled", 7).write(
            to: payloadFile,
            atomically: true,
            encoding: .utf8
        )
        let fromFile = try await Self.explain(config, ["--payload", payloadFile.path])
        #expect(fromFile["row_id"] == .null)
        #expect(Set(try Self.destinations(fromFile).keys) == ["out", "hook", "tiny", "bus"])
    }
}
