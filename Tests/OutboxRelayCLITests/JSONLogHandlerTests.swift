import Foundation
import Logging
import Testing

@testable import OutboxRelayCLI

@Suite("JSONLogHandler")
struct JSONLogHandlerTests {
    @Test func oneObjectPerLineWithTheMetadata() throws {
        let captured = LockedLines()
        var handler = JSONLogHandler(label: "outbox-relay", write: { captured.append($0) })
        handler.metadata = ["table": "outbox_messages", "message": "collides"]
        let logger = Logger(label: "outbox-relay") { _ in handler }
        logger.warning(
            "transport failed\nsecond line",
            metadata: ["destination": "kafka", "rows": .array(["1", "2"])]
        )
        let lines = captured.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "one line, newline-terminated: \(captured.text)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        )
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "outbox-relay")
        #expect(object["message"] as? String == "transport failed\nsecond line")
        #expect(object["table"] as? String == "outbox_messages")
        #expect(object["_message"] as? String == "collides")
        #expect(object["destination"] as? String == "kafka")
        #expect(object["rows"] as? [String] == ["1", "2"])
        let ts = try #require(object["ts"] as? String)
        #expect(ts.hasSuffix("Z") && ts.count == "2026-12-03T12:00:00.000000Z".count, "\(ts)")
    }

    @Test("run --log-format json and OUTBOX_RELAY_LOG_FORMAT=json: every line of standard error parses")
    func theBinaryWritesJSONLines() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        try RunCommandTests.createOutbox(
            database,
            payloads: [RunCommandTests.goodRow(1), "{bad", RunCommandTests.goodRow(2)]
        )
        let configURL = folder.appendingPathComponent("relay.yaml")
        try RunCommandTests.config(database: database, output: output).write(
            to: configURL,
            atomically: true,
            encoding: .utf8
        )
        for (arguments, environment) in [
            (["--log-format", "json"], [String: String]()), ([], ["OUTBOX_RELAY_LOG_FORMAT": "json"]),
        ] {
            let result = try await CLI.run(
                ["run", "--config", configURL.path, "--drain"] + arguments,
                environment: environment
            )
            #expect(result.status == 0, "\(result.output)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count >= 2, "\(result.stderr)")
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["ts"] is String && object?["level"] is String, "\(line)")
                #expect(object?["label"] as? String == "outbox-relay", "\(line)")
                #expect(object?["message"] is String, "\(line)")
            }
            // Constant messages; the values are fields.
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let drained = try #require(objects.first { $0["message"] as? String == "drained" }, "\(result.stderr)")
            // The first run drains the three rows; the second finds none left.
            let first = !arguments.isEmpty
            #expect(drained["rows_completed"] as? String == (first ? "3" : "0"))
            #expect(drained["deliveries"] as? String == (first ? "2" : "0"))
            #expect(drained["dead_letters"] as? String == (first ? "1" : "0"))
            let relaying = try #require(objects.first { $0["message"] as? String == "relaying" }, "\(result.stderr)")
            #expect(relaying["table"] as? String == "outbox_messages")
            #expect(relaying["destinations"] as? [String] == ["out"])
        }
    }
}

/// Bytes written by a handler, as text.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    func append(_ line: [UInt8]) { lock.withLock { bytes += line } }
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}
